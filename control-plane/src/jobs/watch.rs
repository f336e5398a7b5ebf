//! Following one job for a client, whatever the transport: its current
//! snapshot first, then its live events until the terminal one.

use futures_util::{Stream, StreamExt};
use tokio::sync::broadcast;

use super::JobEvent;
use crate::error::ApiError;
use crate::state::AppState;

/// The answer for a job id that is not recorded.
pub fn job_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Job '{id}' does not exist!"))
}

enum Phase {
    Snapshot(Box<JobEvent>),
    Live,
    Done,
}

struct Cursor {
    phase: Phase,
    live: Option<broadcast::Receiver<JobEvent>>,
    state: AppState,
    job_id: String,
}

/// The events of job `job_id`: the snapshot, then live events until the
/// terminal one (or shutdown). A lagging or orphaned subscriber gets a fresh
/// snapshot from the database instead of the events it missed.
pub async fn watch(
    state: &AppState,
    job_id: &str,
) -> Result<impl Stream<Item = JobEvent> + Send + 'static + use<>, ApiError> {
    // Subscribe before reading the snapshot, so no event falls in between.
    let live = state.jobs().subscribe(job_id);
    let job = state
        .db()
        .job(job_id)
        .await?
        .ok_or_else(|| job_not_found(job_id))?;
    let cursor = Cursor {
        phase: Phase::Snapshot(Box::new(JobEvent::snapshot(&job))),
        live,
        state: state.clone(),
        job_id: job_id.to_owned(),
    };
    Ok(events(cursor).take_until(state.shutdown_signal()))
}

fn events(cursor: Cursor) -> impl Stream<Item = JobEvent> + Send {
    futures_util::stream::unfold(cursor, |mut cursor| async move {
        match std::mem::replace(&mut cursor.phase, Phase::Done) {
            Phase::Done => None,
            Phase::Snapshot(event) => {
                if !event.is_terminal() && cursor.live.is_some() {
                    cursor.phase = Phase::Live;
                }
                Some((*event, cursor))
            }
            Phase::Live => {
                let received = cursor.live.as_mut()?.recv().await;
                match received {
                    Ok(event) => {
                        if !event.is_terminal() {
                            cursor.phase = Phase::Live;
                        }
                        Some((event, cursor))
                    }
                    Err(error) => {
                        let lagged = matches!(error, broadcast::error::RecvError::Lagged(_));
                        let job = cursor.state.db().job(&cursor.job_id).await.ok().flatten()?;
                        let event = JobEvent::snapshot(&job);
                        if lagged && !event.is_terminal() {
                            cursor.phase = Phase::Live;
                        }
                        Some((event, cursor))
                    }
                }
            }
        }
    })
}
