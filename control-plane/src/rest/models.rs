//! `/ttp/train/collaborations/<c>/projects/<p>/models[/<e>[/<r>]]`: Phase 2B,
//! training every (experiment × run) combination in scope, as a job.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::jobs::respond;
use super::{JsonObject, RouteVars, bool_options, list_or_404};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::jobs::{JobKind, launch, train};
use crate::openapi::also_at;
use crate::openapi::schemas;
use crate::record::Kind;
use crate::state::AppState;

/// Synergos options accepted for compatibility; workers dial in to the data
/// plane, so none of them changes anything here.
pub(super) const IGNORED_OPTIONS: [&str; 4] = ["auto_align", "dockerised", "verbose", "log_msgs"];

const BASE: &str = "/ttp/train/collaborations/{collab_id}/projects/{project_id}/models";

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
}

/// List Model records in scope.
///
/// The scope is the path: the project, one experiment, or one run.
#[utoipa::path(
    get,
    path = BASE,
    tag = "models",
    operation_id = "list_models",
    responses(
        (status = 200, description = "The Model records in scope.", body = schemas::RecordListEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    list_or_404(&state, Kind::Model, "models.get", &vars).await
}

/// Train every (experiment, run) in scope (Phase 2B).
///
/// The scope is the path: the project, one experiment, or one run. Needs
/// an alignment (409 otherwise). A job: the answer comes when it ends, or
/// at once with `Prefer: respond-async`.
#[utoipa::path(
    post,
    path = BASE,
    tag = "models",
    operation_id = "train",
    params((
        "Prefer" = Option<String>,
        Header,
        nullable = false,
        description = "`respond-async`: answer 202 at once with `Location: /ttp/jobs/<id>` instead of waiting for the job to end.",
        example = "respond-async"
    )),
    request_body(content = Option<schemas::RunOptions>, description = "Synergos options, accepted and ignored."),
    responses(
        (status = 200, description = "The job succeeded: one Model record per (experiment, run).", body = schemas::RecordListEnvelope),
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
    let plan = train::plan(&state, &scope).await?;
    let handle = launch(&state, JobKind::Train, scope, move |ctx| {
        train::execute(ctx, plan)
    })
    .await?;
    respond(
        &state,
        handle,
        &headers,
        "models.post",
        vars.params(),
        StatusCode::OK,
    )
    .await
}
