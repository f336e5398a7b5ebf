//! `/ttp/connect/collaborations/<c>/projects[/<project_id>]`: projects and their `action`.

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
    validate::project(fields)
}

const PROJECT: Resource = Resource {
    kind: Kind::Project,
    singular: "project",
    plural: "projects",
    id_field: Some(Field::Project),
    check,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/ttp/connect/collaborations/{collab_id}/projects",
            get(list).post(create),
        )
        .route(
            "/ttp/connect/collaborations/{collab_id}/projects/{project_id}",
            get(read).put(update).delete(remove),
        )
}

async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PROJECT.list(&state, &vars).await
}

async fn create(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    PROJECT.create(&state, &vars, body).await
}

async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PROJECT.read(&state, &vars).await
}

async fn update(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    PROJECT.update(&state, &vars, body).await
}

async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PROJECT.delete(&state, &vars).await
}
