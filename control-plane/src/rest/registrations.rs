//! A participant's registration to a project (role and node addresses),
//! reachable from the collaboration and from the participant, plus the
//! registration lists of a collaboration, a project and a participant.
//! Workers dial in to the data plane, so node addresses are only stored.

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

fn check(_: &Key, fields: &Map<String, Value>) -> Result<(), ApiError> {
    validate::registration(fields)
}

const REGISTRATION: Resource = Resource {
    kind: Kind::Registration,
    singular: "registration",
    plural: "registration",
    id_field: None,
    check,
};

const COLLAB_ROOTED: &str = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/participants/{participant_id}/registration";
const PARTICIPANT_ROOTED: &str = "/ttp/connect/participants/{participant_id}/collaborations/{collab_id}/projects/{project_id}/registration";

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            COLLAB_ROOTED,
            get(read).post(create).put(update).delete(remove),
        )
        .route(
            PARTICIPANT_ROOTED,
            get(read).post(create).put(update).delete(remove),
        )
        .route(
            "/ttp/connect/collaborations/{collab_id}/registrations",
            get(list),
        )
        .route(
            "/ttp/connect/collaborations/{collab_id}/participants/{participant_id}/registrations",
            get(list),
        )
        .route(
            "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/registrations",
            get(list),
        )
        .route(
            "/ttp/connect/participants/{participant_id}/registrations",
            get(list),
        )
        // Synergos binds this path to the wrong resource (it always fails);
        // here it lists the participant's registrations in the collaboration.
        .route(
            "/ttp/connect/participants/{participant_id}/collaborations/{collab_id}/registrations",
            get(list),
        )
}

/// Registrations whose key matches the route variables.
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

async fn create(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    REGISTRATION.create(&state, &vars, body).await
}

async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    REGISTRATION.read(&state, &vars).await
}

async fn update(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    REGISTRATION.update(&state, &vars, body).await
}

async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    REGISTRATION.delete(&state, &vars).await
}
