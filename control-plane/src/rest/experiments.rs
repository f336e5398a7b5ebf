//! `.../projects/<p>/experiments[/<expt_id>]`: experiments and their model spec.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{JsonObject, Resource, RouteVars};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::openapi::schemas;
use crate::record::{Field, Kind};
use crate::state::AppState;

const EXPERIMENT: Resource = Resource {
    kind: Kind::Experiment,
    singular: "experiment",
    plural: "experiments",
    id_field: Some(Field::Expt),
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
}

/// List a project's experiments.
#[utoipa::path(
    get,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments",
    tag = "experiments",
    operation_id = "list_experiments",
    responses((status = 200, description = "The experiments (possibly none).", body = schemas::RecordListEnvelope))
)]
async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    EXPERIMENT.list(&state, &vars).await
}

/// Create an experiment.
///
/// `expt_id` becomes the key; `model` is the ordered layer list.
#[utoipa::path(
    post,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments",
    tag = "experiments",
    operation_id = "create_experiment",
    request_body = schemas::ExperimentCreate,
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
    EXPERIMENT.create(&state, &vars, body).await
}

/// Read an experiment.
#[utoipa::path(
    get,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}",
    tag = "experiments",
    operation_id = "read_experiment",
    responses(
        (status = 200, description = "The experiment with its relations.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    EXPERIMENT.read(&state, &vars).await
}

/// Update an experiment.
///
/// A shallow merge of the body into the stored fields, validated as a whole.
#[utoipa::path(
    put,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}",
    tag = "experiments",
    operation_id = "update_experiment",
    request_body(
        content = Option<schemas::ExperimentUpdate>,
        description = "The fields to change; an empty body changes nothing."
    ),
    responses(
        (status = 200, description = "The updated experiment.", body = schemas::RecordEnvelope),
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
    EXPERIMENT.update(&state, &vars, body).await
}

/// Delete an experiment.
///
/// Cascades to its runs and results.
#[utoipa::path(
    delete,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}",
    tag = "experiments",
    operation_id = "delete_experiment",
    responses(
        (status = 200, description = "The experiment as it was before deletion.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    EXPERIMENT.delete(&state, &vars).await
}
