//! `/ttp/evaluate/participants/<pid>/collaborations/<c>/predictions[/<p>[/<e>[/<r>]]]`:
//! Phase 3B, participant-initiated inference on `predict` data, as a job.

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
use crate::jobs::{JobKind, launch, predict};
use crate::openapi::{also_at, schemas};
use crate::record::Kind;
use crate::state::AppState;

const BASE: &str =
    "/ttp/evaluate/participants/{participant_id}/collaborations/{collab_id}/predictions";

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(also_at(
            &format!("{BASE}/{{project_id}}"),
            "of_project",
            routes!(list, create),
        ))
        .routes(also_at(
            &format!("{BASE}/{{project_id}}/{{expt_id}}"),
            "of_experiment",
            routes!(list, create),
        ))
        .routes(also_at(
            &format!("{BASE}/{{project_id}}/{{expt_id}}/{{run_id}}"),
            "of_run",
            routes!(list, create),
        ))
}

/// List a participant's Prediction records in scope.
#[utoipa::path(
    get,
    path = BASE,
    tag = "predictions",
    operation_id = "list_predictions",
    responses(
        (status = 200, description = "The Prediction records in scope.", body = schemas::RecordListEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    list_or_404(&state, Kind::Prediction, "predictions.get", &vars).await
}

/// Predict on the participant's `predict` data (Phase 3B).
///
/// New `tags` replace the participant's stored predict tags for those
/// projects. The features are aligned again; if another participant's
/// alignment would change, the request is refused with 403 `Feature drift
/// detected!`. A job: the answer comes when it ends, or at once with
/// `Prefer: respond-async`.
#[utoipa::path(
    post,
    path = BASE,
    tag = "predictions",
    operation_id = "predict",
    params((
        "Prefer" = Option<String>,
        Header,
        nullable = false,
        description = "`respond-async`: answer 202 at once with `Location: /ttp/jobs/<id>` instead of waiting for the job to end.",
        example = "respond-async"
    )),
    request_body(content = Option<schemas::PredictOptions>, description = "New predict tags per project, and ignored Synergos options."),
    responses(
        (status = 200, description = "The job succeeded: one Prediction record per trained (experiment, run).", body = schemas::RecordListEnvelope),
        (status = 202, description = "The job started (`Prefer: respond-async`); follow `Location`.", body = schemas::JobEnvelope,
            headers(("Location" = String, description = "`/ttp/jobs/<id>`"))),
        (status = 403, response = schemas::Forbidden),
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
    JsonObject(mut body): JsonObject,
) -> Result<Response, ApiError> {
    let tags = body.remove("tags");
    bool_options(&body, &IGNORED_OPTIONS)?;
    let scope = vars.key();
    let plan = predict::plan(&state, &scope, tags.as_ref()).await?;
    let handle = launch(&state, JobKind::Predict, scope, move |ctx| {
        predict::execute(ctx, plan)
    })
    .await?;
    respond(
        &state,
        handle,
        &headers,
        "predictions.post",
        vars.params(),
        StatusCode::OK,
    )
    .await
}
