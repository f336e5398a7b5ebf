//! `.../experiments/<e>/runs[/<run_id>]`: runs, i.e. sets of hyper-parameters.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{JsonObject, Resource, RouteVars};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::openapi::schemas;
use crate::record::{Field, Kind};
use crate::state::AppState;

const RUN: Resource = Resource {
    kind: Kind::Run,
    singular: "run",
    plural: "runs",
    id_field: Some(Field::Run),
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update, remove))
}

/// List an experiment's runs.
#[utoipa::path(
    get,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}/runs",
    tag = "runs",
    operation_id = "list_runs",
    responses((status = 200, description = "The runs (possibly none).", body = schemas::RecordListEnvelope))
)]
async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    RUN.list(&state, &vars).await
}

/// Create a run.
///
/// `run_id` becomes the key; every other field is a hyper-parameter.
/// Unknown keys are stored and ignored.
#[utoipa::path(
    post,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}/runs",
    tag = "runs",
    operation_id = "create_run",
    request_body = schemas::RunCreate,
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
    RUN.create(&state, &vars, body).await
}

/// Read a run.
#[utoipa::path(
    get,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}/runs/{run_id}",
    tag = "runs",
    operation_id = "read_run",
    responses(
        (status = 200, description = "The run with its relations.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    RUN.read(&state, &vars).await
}

/// Update a run.
///
/// A shallow merge of the body into the stored hyper-parameters, validated
/// as a whole.
#[utoipa::path(
    put,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}/runs/{run_id}",
    tag = "runs",
    operation_id = "update_run",
    request_body(
        content = Option<schemas::Hyperparameters>,
        description = "The fields to change; an empty body changes nothing."
    ),
    responses(
        (status = 200, description = "The updated run.", body = schemas::RecordEnvelope),
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
    RUN.update(&state, &vars, body).await
}

/// Delete a run.
///
/// Cascades to its results.
#[utoipa::path(
    delete,
    path = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}/runs/{run_id}",
    tag = "runs",
    operation_id = "delete_run",
    responses(
        (status = 200, description = "The run as it was before deletion.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    RUN.delete(&state, &vars).await
}
