//! `/ttp/connect/participants[/<participant_id>]`: participant profiles. The
//! body's `id` becomes the participant id and stays in the record.

use axum::extract::State;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{JsonObject, Resource, RouteVars};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::openapi::schemas;
use crate::record::{Key, Kind};
use crate::state::AppState;
use crate::validate;

const PARTICIPANT: Resource = Resource {
    kind: Kind::Participant,
    singular: "participant",
    plural: "participants",
    id_field: None,
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
}

/// List participants.
#[utoipa::path(
    get,
    path = "/ttp/connect/participants",
    tag = "participants",
    operation_id = "list_participants",
    responses((status = 200, description = "The participants (possibly none).", body = schemas::RecordListEnvelope))
)]
async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PARTICIPANT.list(&state, &vars).await
}

/// Create a participant.
///
/// `id` becomes the participant id and stays in the record.
#[utoipa::path(
    post,
    path = "/ttp/connect/participants",
    tag = "participants",
    operation_id = "create_participant",
    request_body = schemas::ParticipantCreate,
    responses(
        (status = 201, description = "Created, or updated if it existed (POST is an upsert).", body = schemas::RecordEnvelope),
        (status = 413, response = schemas::TooLarge),
        (status = 417, response = schemas::InvalidBody),
    )
)]
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

/// Read a participant.
#[utoipa::path(
    get,
    path = "/ttp/connect/participants/{participant_id}",
    tag = "participants",
    operation_id = "read_participant",
    responses(
        (status = 200, description = "The participant with its relations.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PARTICIPANT.read(&state, &vars).await
}

/// Update a participant.
///
/// A shallow merge of the body into the stored profile, validated as a whole.
#[utoipa::path(
    put,
    path = "/ttp/connect/participants/{participant_id}",
    tag = "participants",
    operation_id = "update_participant",
    request_body(
        content = Option<schemas::ParticipantUpdate>,
        description = "The fields to change; an empty body changes nothing."
    ),
    responses(
        (status = 200, description = "The updated participant.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
        (status = 413, response = schemas::TooLarge),
        (status = 417, response = schemas::InvalidBody),
    )
)]
async fn update(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    PARTICIPANT.update(&state, &vars, body).await
}

/// Delete a participant.
///
/// Cascades to its registrations, tags and results.
#[utoipa::path(
    delete,
    path = "/ttp/connect/participants/{participant_id}",
    tag = "participants",
    operation_id = "delete_participant",
    responses(
        (status = 200, description = "The participant as it was before deletion.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PARTICIPANT.delete(&state, &vars).await
}
