//! `/ttp/connect/collaborations[/<collab_id>]`: the root of every project.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{JsonObject, Resource, RouteVars};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::openapi::schemas;
use crate::record::{Field, Kind};
use crate::state::AppState;

const COLLABORATION: Resource = Resource {
    kind: Kind::Collaboration,
    singular: "collaboration",
    plural: "collaborations",
    id_field: Some(Field::Collab),
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
}

/// List collaborations.
///
/// Each with its `relations`: projects, experiments, runs, registrations,
/// tags, models, validations and predictions.
#[utoipa::path(
    get,
    path = "/ttp/connect/collaborations",
    tag = "collaborations",
    operation_id = "list_collaborations",
    responses((status = 200, description = "The collaborations (possibly none).", body = schemas::RecordListEnvelope))
)]
async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    COLLABORATION.list(&state, &vars).await
}

/// Create a collaboration.
///
/// `collab_id` becomes the key; the other fields are stored.
#[utoipa::path(
    post,
    path = "/ttp/connect/collaborations",
    tag = "collaborations",
    operation_id = "create_collaboration",
    request_body = schemas::CollaborationCreate,
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
    COLLABORATION.create(&state, &vars, body).await
}

/// Read a collaboration.
#[utoipa::path(
    get,
    path = "/ttp/connect/collaborations/{collab_id}",
    tag = "collaborations",
    operation_id = "read_collaboration",
    responses(
        (status = 200, description = "The collaboration with its relations.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    COLLABORATION.read(&state, &vars).await
}

/// Update a collaboration.
///
/// A shallow merge of the body into the stored fields, validated as a whole.
#[utoipa::path(
    put,
    path = "/ttp/connect/collaborations/{collab_id}",
    tag = "collaborations",
    operation_id = "update_collaboration",
    request_body(
        content = Option<schemas::CollaborationUpdate>,
        description = "The fields to change; an empty body changes nothing."
    ),
    responses(
        (status = 200, description = "The updated collaboration.", body = schemas::RecordEnvelope),
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
    COLLABORATION.update(&state, &vars, body).await
}

/// Delete a collaboration.
///
/// Cascades to everything under it, in one transaction.
#[utoipa::path(
    delete,
    path = "/ttp/connect/collaborations/{collab_id}",
    tag = "collaborations",
    operation_id = "delete_collaboration",
    responses(
        (status = 200, description = "The collaboration as it was before deletion.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    COLLABORATION.delete(&state, &vars).await
}
