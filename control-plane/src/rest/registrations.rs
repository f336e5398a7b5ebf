//! A participant's registration to a project (role and node addresses),
//! reachable from the collaboration and from the participant, plus the
//! registration lists of a collaboration, a project and a participant.
//! Workers dial in to the data plane, so node addresses are only stored.

use axum::extract::State;
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{JsonObject, Resource, RouteVars};
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::openapi::also_at;
use crate::openapi::schemas;
use crate::record::Kind;
use crate::state::AppState;

const REGISTRATION: Resource = Resource {
    kind: Kind::Registration,
    singular: "registration",
    plural: "registration",
    id_field: None,
};

const COLLAB_ROOTED: &str = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/participants/{participant_id}/registration";
const PARTICIPANT_ROOTED: &str = "/ttp/connect/participants/{participant_id}/collaborations/{collab_id}/projects/{project_id}/registration";

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read, create, update, remove))
        .routes(also_at(
            PARTICIPANT_ROOTED,
            "via_participant",
            routes!(read, create, update, remove),
        ))
        .routes(routes!(list))
        .routes(also_at(
            "/ttp/connect/collaborations/{collab_id}/participants/{participant_id}/registrations",
            "of_participant_in_collaboration",
            routes!(list),
        ))
        .routes(also_at(
            "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/registrations",
            "of_project",
            routes!(list),
        ))
        .routes(also_at(
            "/ttp/connect/participants/{participant_id}/registrations",
            "of_participant",
            routes!(list),
        ))
        // Synergos binds this path to the wrong resource (it always fails);
        // here it lists the participant's registrations in the collaboration.
        .routes(also_at(
            "/ttp/connect/participants/{participant_id}/collaborations/{collab_id}/registrations",
            "of_participant_in_collaboration_via_participant",
            routes!(list),
        ))
}

/// List registrations.
///
/// The registrations whose key matches the route variables: of a
/// collaboration, a project, or a participant (in one collaboration or in
/// all).
#[utoipa::path(
    get,
    path = "/ttp/connect/collaborations/{collab_id}/registrations",
    tag = "registrations",
    operation_id = "list_registrations",
    responses((status = 200, description = "The registrations (possibly none).", body = schemas::RecordListEnvelope))
)]
async fn list(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    let records = state
        .db()
        .list_records(Kind::Registration, vars.key())
        .await?;
    let data = records.iter().map(|r| r.to_json()).collect();
    Ok(Envelope::ok(
        "registrations.get",
        vars.params(),
        Value::Array(data),
    ))
}

/// Register a participant to a project.
///
/// `role`, `n_count` and `node_0` … `node_<n-1>`. Workers dial in to the data
/// plane, so node addresses are stored for compatibility only.
#[utoipa::path(
    post,
    path = COLLAB_ROOTED,
    tag = "registrations",
    operation_id = "create_registration",
    request_body = schemas::Registration,
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
    REGISTRATION.create(&state, &vars, body).await
}

/// Read a registration.
///
/// With the linked `collaboration`, `project` and `participant`, and its
/// tags in `relations`.
#[utoipa::path(
    get,
    path = COLLAB_ROOTED,
    tag = "registrations",
    operation_id = "read_registration",
    responses(
        (status = 200, description = "The registration.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    REGISTRATION.read(&state, &vars).await
}

/// Update a registration.
///
/// A shallow merge of the body into the stored fields, validated as a whole.
#[utoipa::path(
    put,
    path = COLLAB_ROOTED,
    tag = "registrations",
    operation_id = "update_registration",
    request_body(
        content = Option<schemas::RegistrationUpdate>,
        description = "The fields to change; an empty body changes nothing."
    ),
    responses(
        (status = 200, description = "The updated registration.", body = schemas::RecordEnvelope),
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
    REGISTRATION.update(&state, &vars, body).await
}

/// Delete a registration.
///
/// Cascades to its tags and alignment.
#[utoipa::path(
    delete,
    path = COLLAB_ROOTED,
    tag = "registrations",
    operation_id = "delete_registration",
    responses(
        (status = 200, description = "The registration as it was before deletion.", body = schemas::RecordEnvelope),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    REGISTRATION.delete(&state, &vars).await
}
