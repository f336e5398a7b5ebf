//! `/ttp/train/collaborations/<c>/projects/<p>/alignments`: Phase 2A,
//! multiple feature alignment, as a job.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::jobs::respond;
use super::{JsonObject, RouteVars, bool_options, list_or_404};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::jobs::align::{self, AlignOptions};
use crate::jobs::{JobKind, launch};
use crate::record::Kind;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route(
        "/ttp/train/collaborations/{collab_id}/projects/{project_id}/alignments",
        get(list).post(create),
    )
}

async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    list_or_404(&state, Kind::Alignment, "alignments.get", &vars).await
}

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
