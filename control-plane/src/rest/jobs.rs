//! `/ttp/jobs/<id>` and its Server-Sent-Events progress stream (our
//! addition), plus how the Synergos POSTs that start jobs answer: blocking
//! until the job ends (Synergos behaviour) or, with `Prefer: respond-async`,
//! 202 with `Location: /ttp/jobs/<id>`.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::header::{HeaderName, LOCATION};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::RouteVars;
use crate::envelope::Envelope;
use crate::error::ApiError;
use crate::jobs::watch::{job_not_found, watch};
use crate::jobs::{Job, JobEvent, JobHandle};
use crate::openapi::schemas;
use crate::state::AppState;

/// RFC 7240 `Prefer` (not among the `http` crate's constants).
const PREFER: HeaderName = HeaderName::from_static("prefer");

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(read))
        .routes(routes!(events))
}

/// Read a job.
///
/// Its state, progress and, once it ended, its `result` (the records) or
/// `error`. Not wrapped in the Synergos envelope.
#[utoipa::path(
    get,
    path = "/ttp/jobs/{job_id}",
    tag = "jobs",
    operation_id = "read_job",
    responses(
        (status = 200, description = "The job.", body = schemas::Job),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn read(
    State(state): State<AppState>,
    vars: RouteVars,
) -> Result<axum::Json<Value>, ApiError> {
    let job_id = vars.get("job_id");
    let job = find_job(&state, job_id).await?;
    Ok(axum::Json(job.to_json()))
}

/// The job `job_id`; an id that is not a UUID names no job, so it is not
/// looked up.
async fn find_job(state: &AppState, job_id: &str) -> Result<Job, ApiError> {
    if uuid::Uuid::parse_str(job_id).is_err() {
        return Err(job_not_found(job_id));
    }
    state
        .db()
        .job(job_id)
        .await?
        .ok_or_else(|| job_not_found(job_id))
}

/// Whether the client asked for `Prefer: respond-async` (RFC 7240).
pub(crate) fn prefers_async(headers: &HeaderMap) -> bool {
    headers.get_all(PREFER).iter().any(|value| {
        value
            .to_str()
            .unwrap_or("")
            .split([',', ';'])
            .any(|token| token.trim().eq_ignore_ascii_case("respond-async"))
    })
}

/// Answers a request that started `handle`: 202 at once when the client
/// prefers it, else the job's result in the Synergos envelope once it ends.
pub(crate) async fn respond(
    state: &AppState,
    handle: JobHandle,
    headers: &HeaderMap,
    method: &str,
    params: Map<String, Value>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let location = handle.job.location();
    if prefers_async(headers) {
        let envelope = Envelope::new(StatusCode::ACCEPTED, method, params, handle.job.to_json());
        return Ok(([(LOCATION, location)], envelope).into_response());
    }
    tokio::select! {
        outcome = handle.done => match outcome {
            Ok(Ok(data)) => Ok(Envelope::new(status, method, params, data).into_response()),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(ApiError::unavailable(format!(
                "the job was interrupted; its state is at {location}"
            ))),
        },
        () = state.shutdown_signal() => Err(ApiError::unavailable(format!(
            "the control plane is shutting down; the job's state is at {location}"
        ))),
    }
}

fn sse_event(event: JobEvent) -> Result<Event, Infallible> {
    let sse = Event::default().event(event.kind.as_str());
    Ok(match sse.clone().json_data(&event) {
        Ok(sse) => sse,
        Err(error) => {
            tracing::error!(%error, "cannot encode a job event");
            sse.data("{}")
        }
    })
}

/// Follow a job's progress (Server-Sent Events).
///
/// A snapshot of the job first, then live events until the terminal
/// `completed` or `failed`, after which the stream ends. Each event's
/// `event:` is its type and its `data:` a JSON `JobEvent`. A lagging client
/// gets a fresh snapshot instead of the events it missed.
#[utoipa::path(
    get,
    path = "/ttp/jobs/{job_id}/events",
    tag = "jobs",
    operation_id = "job_events",
    responses(
        (status = 200, description = "An event stream; each `data:` is a JSON JobEvent.",
            content_type = "text/event-stream", body = schemas::JobEvent),
        (status = 404, response = schemas::NotFound),
    )
)]
async fn events(
    State(state): State<AppState>,
    vars: RouteVars,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let job_id = vars.get("job_id");
    if uuid::Uuid::parse_str(job_id).is_err() {
        return Err(job_not_found(job_id));
    }
    let stream = watch(&state, job_id).await?.map(sse_event);
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_header_tokens() {
        let mut headers = HeaderMap::new();
        assert!(!prefers_async(&headers));
        headers.insert(PREFER, "wait=5, respond-async".parse().unwrap());
        assert!(prefers_async(&headers));
    }
}
