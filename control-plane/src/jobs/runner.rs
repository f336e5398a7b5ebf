//! Starting jobs on their own tasks, tracking the live ones, and publishing
//! their progress (database first, then the in-memory broadcast).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{Map, Value};
use tokio::sync::{broadcast, oneshot};
use tokio::task::AbortHandle;

use super::{EventType, Job, JobEvent, JobKind, Progress};
use crate::error::ApiError;
use crate::record::Key;
use crate::state::AppState;

/// Events buffered per subscriber before it counts as lagging.
const EVENT_BUFFER: usize = 256;

struct LiveJob {
    events: broadcast::Sender<JobEvent>,
    task: Option<AbortHandle>,
}

/// The jobs running in this process. The std mutex is only held for map
/// operations, never across an `.await`.
#[derive(Default)]
pub struct JobRegistry {
    live: Mutex<HashMap<String, LiveJob>>,
}

impl JobRegistry {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, LiveJob>> {
        self.live
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Live events of a running job; `None` once it ended (or never ran here).
    pub fn subscribe(&self, id: &str) -> Option<broadcast::Receiver<JobEvent>> {
        self.lock().get(id).map(|job| job.events.subscribe())
    }

    pub fn running(&self) -> usize {
        self.lock().len()
    }

    /// Aborts every running job (at shutdown); returns how many.
    pub fn abort_all(&self) -> usize {
        let live = std::mem::take(&mut *self.lock());
        for job in live.values() {
            if let Some(task) = &job.task {
                task.abort();
            }
        }
        live.len()
    }
}

/// A started job; `done` yields its outcome (also persisted).
pub struct JobHandle {
    pub job: Job,
    pub done: oneshot::Receiver<Result<Value, ApiError>>,
}

/// What a job's work sees: the app state and a way to publish progress.
pub struct JobContext {
    id: String,
    state: AppState,
    events: broadcast::Sender<JobEvent>,
    progress: Progress,
}

impl JobContext {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Changes the progress, persists it and broadcasts a `progress` event.
    pub async fn update(&mut self, change: impl FnOnce(&mut Progress)) -> Result<(), ApiError> {
        self.publish(EventType::Progress, change, Map::new()).await
    }

    /// Changes the progress, persists it and broadcasts a `kind` event with
    /// the extra `detail` fields.
    pub async fn publish(
        &mut self,
        kind: EventType,
        change: impl FnOnce(&mut Progress),
        detail: Map<String, Value>,
    ) -> Result<(), ApiError> {
        change(&mut self.progress);
        let job = self
            .state
            .db()
            .record_job_progress(&self.id, &self.progress)
            .await?;
        // No subscriber is fine: the progress is in the database.
        let _ = self.events.send(JobEvent {
            kind,
            job_id: job.id,
            state: job.state,
            progress: job.progress,
            detail,
        });
        Ok(())
    }
}

/// Records a job and runs `work` on its own task. The job survives the HTTP
/// request that started it; its outcome is persisted, broadcast as the
/// terminal event, and handed to `JobHandle::done`.
pub async fn launch<F, Fut>(
    state: &AppState,
    kind: JobKind,
    scope: Key,
    work: F,
) -> Result<JobHandle, ApiError>
where
    F: FnOnce(JobContext) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Value, ApiError>> + Send + 'static,
{
    let job = Job::new(kind, scope);
    state.db().create_job(&job).await?;
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    state.jobs().lock().insert(
        job.id.clone(),
        LiveJob {
            events: events.clone(),
            task: None,
        },
    );
    let (done_tx, done) = oneshot::channel();
    let context = JobContext {
        id: job.id.clone(),
        state: state.clone(),
        events: events.clone(),
        progress: Progress::default(),
    };
    let id = job.id.clone();
    let task_state = state.clone();
    let task = tokio::spawn(async move {
        let state = task_state;
        tracing::info!(job_id = %id, kind = kind.as_str(), "job started");
        let outcome = work(context).await;
        let stored = match &outcome {
            Ok(result) => {
                tracing::info!(job_id = %id, "job succeeded");
                Ok(result.clone())
            }
            Err(error) => {
                error.log_if_internal();
                tracing::info!(job_id = %id, error = error.public_message(), "job failed");
                Err(error.public_message().to_owned())
            }
        };
        match state.db().finish_job(&id, stored).await {
            Ok(job) => {
                let _ = events.send(JobEvent::snapshot(&job));
            }
            Err(error) => {
                error.log_if_internal();
            }
        }
        state.jobs().lock().remove(&id);
        let _ = done_tx.send(outcome);
    });
    if let Some(live) = state.jobs().lock().get_mut(&job.id) {
        live.task = Some(task.abort_handle());
    }
    Ok(JobHandle { job, done })
}
