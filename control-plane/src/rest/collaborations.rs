//! `/ttp/connect/collaborations[/<collab_id>]`: the root of every project.

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
    validate::collaboration(fields)
}

const COLLABORATION: Resource = Resource {
    kind: Kind::Collaboration,
    singular: "collaboration",
    plural: "collaborations",
    id_field: Some(Field::Collab),
    check,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ttp/connect/collaborations", get(list).post(create))
        .route(
            "/ttp/connect/collaborations/{collab_id}",
            get(read).put(update).delete(remove),
        )
}

async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    COLLABORATION.list(&state, &vars).await
}

async fn create(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    COLLABORATION.create(&state, &vars, body).await
}

async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    COLLABORATION.read(&state, &vars).await
}

async fn update(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    COLLABORATION.update(&state, &vars, body).await
}

async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    COLLABORATION.delete(&state, &vars).await
}
