//! `/ttp/connect/participants[/<participant_id>]`: participant profiles. The
//! body's `id` becomes the participant id and stays in the record.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value};

use super::{JsonObject, Resource, RouteVars};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::record::{Key, Kind};
use crate::state::AppState;
use crate::validate;

fn check(key: &Key, fields: &Map<String, Value>) -> Result<(), ApiError> {
    validate::participant(&key.participant_id, fields)
}

const PARTICIPANT: Resource = Resource {
    kind: Kind::Participant,
    singular: "participant",
    plural: "participants",
    id_field: None,
    check,
};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/ttp/connect/participants", get(list).post(create))
        .route(
            "/ttp/connect/participants/{participant_id}",
            get(read).put(update).delete(remove),
        )
}

async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PARTICIPANT.list(&state, &vars).await
}

async fn create(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    let fields = validate::strip_derived(body)?;
    let id = match fields.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(_) => return Err(ApiError::invalid("field `id` must be a string")),
        None => return Err(ApiError::invalid("missing required field `id`")),
    };
    validate::identifier("id", &id)?;
    PARTICIPANT
        .create_at(&state, &vars, Key::participant(&id), fields)
        .await
}

async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PARTICIPANT.read(&state, &vars).await
}

async fn update(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    PARTICIPANT.update(&state, &vars, body).await
}

async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PARTICIPANT.delete(&state, &vars).await
}
