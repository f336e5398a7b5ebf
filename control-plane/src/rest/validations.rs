//! `/ttp/evaluate/collaborations/<c>/projects/<p>/validations[/<e>[/<r>[/<pid>]]]`:
//! Phase 3A, evaluating trained models on the participants' `evaluate` data,
//! as a job.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::jobs::respond;
use super::models::IGNORED_OPTIONS;
use super::{JsonObject, RouteVars, bool_options, list_or_404};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::jobs::{JobKind, evaluate, launch};
use crate::record::Kind;
use crate::state::AppState;

const BASE: &str = "/ttp/evaluate/collaborations/{collab_id}/projects/{project_id}/validations";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, get(list).post(create))
        .route(&format!("{BASE}/{{expt_id}}"), get(list).post(create))
        .route(
            &format!("{BASE}/{{expt_id}}/{{run_id}}"),
            get(list).post(create),
        )
        .route(
            &format!("{BASE}/{{expt_id}}/{{run_id}}/{{participant_id}}"),
            get(list).post(create),
        )
}

async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    list_or_404(&state, Kind::Validation, "validations.get", &vars).await
}

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
