//! `/ttp/connect/collaborations/<c>/projects[/<project_id>]`: projects and their `action`.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{JsonObject, Resource, RouteVars};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::openapi::schemas;
use crate::record::{Field, Kind};
use crate::state::AppState;

const PROJECT: Resource = Resource {
    kind: Kind::Project,
    singular: "project",
    plural: "projects",
    id_field: Some(Field::Project),
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
}

/// List a collaboration's projects.
#[utoipa::path(
    get,
    path = "/ttp/connect/collaborations/{collab_id}/projects",
    tag = "projects",
    operation_id = "list_projects",
    responses((status = 200, description = "The projects (possibly none).", body = schemas::RecordListEnvelope))
)]
async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PROJECT.list(&state, &vars).await
}

/// Create a project.
///
/// `project_id` becomes the key. `action` drives all label handling.
#[utoipa::path(
    post,
    path = "/ttp/connect/collaborations/{collab_id}/projects",
    tag = "projects",
    operation_id = "create_project",
    request_body = schemas::ProjectCreate,
    responses(
        (status = 201, description = "Created, or updated if it existed (POST is an upsert).", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
        (status = 413, response = schemas::TooLarge),
        (status = 417, response = schemas::InvalidBody),
    )
)]
async fn create(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    PROJECT.create(&state, &vars, body).await
}

/// Read a project.
#[utoipa::path(
    get,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}",
    tag = "projects",
    operation_id = "read_project",
    responses(
        (status = 200, description = "The project with its relations.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PROJECT.read(&state, &vars).await
}

/// Update a project.
///
/// A shallow merge of the body into the stored fields, validated as a whole.
#[utoipa::path(
    put,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}",
    tag = "projects",
    operation_id = "update_project",
    request_body(
        content = Option<schemas::ProjectUpdate>,
        description = "The fields to change; an empty body changes nothing."
    ),
    responses(
        (status = 200, description = "The updated project.", body = schemas::RecordEnvelope),
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
    PROJECT.update(&state, &vars, body).await
}

/// Delete a project.
///
/// Cascades to its experiments, runs, registrations and results.
#[utoipa::path(
    delete,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}",
    tag = "projects",
    operation_id = "delete_project",
    responses(
        (status = 200, description = "The project as it was before deletion.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    PROJECT.delete(&state, &vars).await
}
