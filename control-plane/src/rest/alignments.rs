//! `/ttp/train/collaborations/<c>/projects/<p>/alignments`: Phase 2A,
//! multiple feature alignment, as a job.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::jobs::respond;
use super::{JsonObject, RouteVars, bool_options, list_or_404};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::jobs::align::{self, AlignOptions};
use crate::jobs::{JobKind, launch};
use crate::openapi::schemas;
use crate::record::Kind;
use crate::state::AppState;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create))
}

/// List a project's Alignment records.
#[utoipa::path(
    get,
    path = "/ttp/train/collaborations/{collab_id}/projects/{project_id}/alignments",
    tag = "alignments",
    operation_id = "list_alignments",
    responses(
        (status = 200, description = "One Alignment record per participant.", body = schemas::RecordListEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    list_or_404(&state, Kind::Alignment, "alignments.get", &vars).await
}

/// Align the participants' features (Phase 2A).
///
/// Polls every registered participant's data through the data plane,
/// stores each participant's spacer indexes and, with `auto_fix`, fixes
/// every experiment's input and output layer widths. A job: the answer
/// comes when it ends, or at once with `Prefer: respond-async`.
#[utoipa::path(
    post,
    path = "/ttp/train/collaborations/{collab_id}/projects/{project_id}/alignments",
    tag = "alignments",
    operation_id = "align",
    params((
        "Prefer" = Option<String>,
        Header,
        nullable = false,
        description = "`respond-async`: answer 202 at once with `Location: /ttp/jobs/<id>` instead of waiting for the job to end.",
        example = "respond-async"
    )),
    request_body(content = Option<schemas::AlignOptions>, description = "Options; an empty body takes the defaults."),
    responses(
        (status = 201, description = "The job succeeded: one Alignment record per participant.", body = schemas::RecordListEnvelope),
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
    let flags = bool_options(&body, &["auto_align", "auto_fix"])?;
    let defaults = AlignOptions::default();
    let options = AlignOptions {
        auto_align: flags
            .get("auto_align")
            .copied()
            .unwrap_or(defaults.auto_align),
        auto_fix: flags.get("auto_fix").copied().unwrap_or(defaults.auto_fix),
    };
    let scope = vars.key();
    let plan = align::plan(&state, &scope, options).await?;
    let handle = launch(&state, JobKind::Align, scope, move |ctx| {
        align::execute(ctx, plan)
    })
    .await?;
    respond(
        &state,
        handle,
        &headers,
        "alignments.post",
        vars.params(),
        StatusCode::CREATED,
    )
    .await
}
