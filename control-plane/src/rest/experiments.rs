//! `.../projects/<p>/experiments[/<expt_id>]`: experiments and their model spec.

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
    validate::experiment(fields)
}

const EXPERIMENT: Resource = Resource {
    kind: Kind::Experiment,
    singular: "experiment",
    plural: "experiments",
    id_field: Some(Field::Expt),
    check,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments",
            get(list).post(create),
        )
        .route(
            "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}",
            get(read).put(update).delete(remove),
        )
}

async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    EXPERIMENT.list(&state, &vars).await
}

async fn create(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    EXPERIMENT.create(&state, &vars, body).await
}

async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    EXPERIMENT.read(&state, &vars).await
}

async fn update(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    EXPERIMENT.update(&state, &vars, body).await
}

async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    EXPERIMENT.delete(&state, &vars).await
}
