//! `.../registration/tags`: the datasets a participant declares per meta
//! (`train`, `evaluate`, `predict`), each a list of path tokens relative to
//! its worker's data directory.

use axum::extract::State;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{JsonObject, Resource, RouteVars};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::openapi::also_at;
use crate::openapi::schemas;
use crate::record::Kind;
use crate::state::AppState;

const TAG: Resource = Resource {
    kind: Kind::Tag,
    singular: "tag",
    plural: "tag",
    id_field: None,
};

const COLLAB_ROOTED: &str = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/participants/{participant_id}/registration/tags";
const PARTICIPANT_ROOTED: &str = "/ttp/connect/participants/{participant_id}/collaborations/{collab_id}/projects/{project_id}/registration/tags";

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read, create, update, remove))
        .routes(also_at(
            PARTICIPANT_ROOTED,
            "via_participant",
            routes!(read, create, update, remove),
        ))
}

/// Declare a participant's data tags for a project.
///
/// `train` is required; `evaluate` and `predict` are optional. Each is a
/// list of tags, each tag a list of path tokens.
#[utoipa::path(
    post,
    path = COLLAB_ROOTED,
    tag = "tags",
    operation_id = "create_tags",
    request_body = schemas::Tags,
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
    TAG.create(&state, &vars, body).await
}

/// Read a participant's data tags for a project.
#[utoipa::path(
    get,
    path = COLLAB_ROOTED,
    tag = "tags",
    operation_id = "read_tags",
    responses(
        (status = 200, description = "The tags.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    TAG.read(&state, &vars).await
}

/// Update a participant's data tags.
///
/// A shallow merge of the body into the stored tags, validated as a whole.
#[utoipa::path(
    put,
    path = COLLAB_ROOTED,
    tag = "tags",
    operation_id = "update_tags",
    request_body(
        content = Option<schemas::TagsUpdate>,
        description = "The fields to change; an empty body changes nothing."
    ),
    responses(
        (status = 200, description = "The updated tags.", body = schemas::RecordEnvelope),
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
    TAG.update(&state, &vars, body).await
}

/// Delete a participant's data tags.
#[utoipa::path(
    delete,
    path = COLLAB_ROOTED,
    tag = "tags",
    operation_id = "delete_tags",
    responses(
        (status = 200, description = "The tags as they were before deletion.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    TAG.delete(&state, &vars).await
}
