//! `.../experiments/<e>/runs[/<run_id>]`: runs, i.e. sets of hyper-parameters.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value};

use super::{JsonObject, Resource, RouteVars};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::record::{Field, Key, Kind};
use crate::state::AppState;
use crate::validate;

fn check(_: &Key, fields: &Map<String, Value>) -> Result<(), ApiError> {
    validate::run(fields)
}

const RUN: Resource = Resource {
    kind: Kind::Run,
    singular: "run",
    plural: "runs",
    id_field: Some(Field::Run),
    check,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}/runs", get(list).post(create))
        .route(
            "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}/runs/{run_id}",
            get(read).put(update).delete(remove),
        )
}

async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    RUN.list(&state, &vars).await
}

async fn create(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    RUN.create(&state, &vars, body).await
}

async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    RUN.read(&state, &vars).await
}

async fn update(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    RUN.update(&state, &vars, body).await
}

async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    RUN.delete(&state, &vars).await
}
