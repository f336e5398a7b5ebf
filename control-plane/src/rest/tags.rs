//! `.../registration/tags`: the datasets a participant declares per meta
//! (`train`, `evaluate`, `predict`), each a list of path tokens relative to
//! its worker's data directory.

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
    validate::tags(fields)
}

const TAG: Resource = Resource {
    kind: Kind::Tag,
    singular: "tag",
    plural: "tag",
    id_field: None,
    check,
};

const COLLAB_ROOTED: &str = "/ttp/connect/collaborations/{collab_id}/projects/{project_id}/participants/{participant_id}/registration/tags";
const PARTICIPANT_ROOTED: &str = "/ttp/connect/participants/{participant_id}/collaborations/{collab_id}/projects/{project_id}/registration/tags";

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
}

async fn create(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    TAG.create(&state, &vars, body).await
}

async fn read(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    // A missing registration is the more useful 404.
    state
        .db()
        .existing_record(Kind::Registration, vars.key())
        .await?;
    TAG.read(&state, &vars).await
}

async fn update(
    State(state): State<AppState>,
    vars: RouteVars,
    JsonObject(body): JsonObject,
) -> Result<Envelope, ApiError> {
    TAG.update(&state, &vars, body).await
}

async fn remove(State(state): State<AppState>, vars: RouteVars) -> Result<Envelope, ApiError> {
    TAG.delete(&state, &vars).await
}
