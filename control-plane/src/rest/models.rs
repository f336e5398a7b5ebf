//! `/ttp/train/collaborations/<c>/projects/<p>/models[/<e>[/<r>]]`: Phase 2B,
//! training every (experiment × run) combination in scope, as a job.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::jobs::respond;
use super::{JsonObject, RouteVars, bool_options, list_or_404};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::jobs::{JobKind, launch, train};
use crate::record::Kind;
use crate::state::AppState;

/// Synergos options accepted for compatibility; workers dial in to the data
/// plane, so none of them changes anything here.
pub(super) const IGNORED_OPTIONS: [&str; 4] = ["auto_align", "dockerised", "verbose", "log_msgs"];

const BASE: &str = "/ttp/train/collaborations/{collab_id}/projects/{project_id}/models";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}/{{expt_id}}"), get(list).post(create))
        .route(
            &format!("{BASE}/{{expt_id}}/{{run_id}}"),
            get(list).post(create),
        )
}

async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    list_or_404(&state, Kind::Model, "models.get", &vars).await
}

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
