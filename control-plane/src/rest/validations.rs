//! `/ttp/evaluate/collaborations/<c>/projects/<p>/validations[/<e>[/<r>[/<pid>]]]`:
//! Phase 3A, evaluating trained models on the participants' `evaluate` data,
//! as a job.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::jobs::respond;
use super::models::IGNORED_OPTIONS;
use super::{JsonObject, RouteVars, bool_options, list_or_404};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::jobs::{JobKind, evaluate, launch};
use crate::openapi::also_at;
use crate::openapi::schemas;
use crate::record::Kind;
use crate::state::AppState;

const BASE: &str = "/ttp/evaluate/collaborations/{collab_id}/projects/{project_id}/validations";

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(also_at(
            &format!("{BASE}/{{expt_id}}"),
            "of_experiment",
            routes!(list, create),
        ))
        .routes(also_at(
            &format!("{BASE}/{{expt_id}}/{{run_id}}"),
            "of_run",
            routes!(list, create),
        ))
        .routes(also_at(
            &format!("{BASE}/{{expt_id}}/{{run_id}}/{{participant_id}}"),
            "of_participant",
            routes!(list, create),
        ))
}

/// List Validation records in scope.
///
/// The scope is the path: the project, one experiment, one run, or one
/// participant's results for a run.
#[utoipa::path(
    get,
    path = BASE,
    tag = "validations",
    operation_id = "list_validations",
    responses(
        (status = 200, description = "The Validation records in scope.", body = schemas::RecordListEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    list_or_404(&state, Kind::Validation, "validations.get", &vars).await
}

/// Evaluate the trained models in scope (Phase 3A).
///
/// Runs inference of every stored global model in scope on the `evaluate`
/// data of every registered participant (or only the one in the path) and
/// stores the metrics per participant. Combinations without a Model record
/// are skipped. A job: the answer comes when it ends, or at once with
/// `Prefer: respond-async`.
#[utoipa::path(
    post,
    path = BASE,
    tag = "validations",
    operation_id = "validate",
    params((
        "Prefer" = Option<String>,
        Header,
        nullable = false,
        description = "`respond-async`: answer 202 at once with `Location: /ttp/jobs/<id>` instead of waiting for the job to end.",
        example = "respond-async"
    )),
    request_body(content = Option<schemas::RunOptions>, description = "Synergos options, accepted and ignored."),
    responses(
        (status = 200, description = "The job succeeded: one Validation record per (experiment, run, participant).", body = schemas::RecordListEnvelope),
        (status = 202, description = "The job started (`Prefer: respond-async`); follow `Location`.", body = schemas::JobEnvelope,
            headers(("Location" = String, description = "`/ttp/jobs/<id>`"))),
        (status = 404, response = schemas::NotFound),
        (status = 409, response = schemas::Conflict),
        (status = 413, response = schemas::TooLarge),
        (status = 417, response = schemas::InvalidBody),
        (status = 503, response = schemas::Unavailable),
        (status = 504, response = schemas::Timeout),
    )
)]
async fn create(
    State(state): State<AppState>,
    vars: RouteVars,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    bool_options(&body, &IGNORED_OPTIONS)?;
    let scope = vars.key();
    let plan = evaluate::plan(&state, &scope).await?;
    let handle = launch(&state, JobKind::Validate, scope, move |ctx| {
        evaluate::execute(ctx, plan)
    })
    .await?;
    respond(
        &state,
        handle,
        &headers,
        "validations.post",
        vars.params(),
        StatusCode::OK,
    )
    .await
}
