//! Long-running operations started through REST (alignment, training,
//! validation, prediction): their persisted shape, the live event broadcast, and the
//! workflows themselves.
//!
//! A job row is durable (see `crate::db`); its events are broadcast in memory
//! to SSE subscribers only while the job runs. Every event carries the job's
//! progress, which is also written to the database before it is sent, so a
//! subscriber that joins late or lags loses nothing it cannot re-read.

pub mod align;
pub mod evaluate;
mod follow;
mod plan;
pub mod predict;
mod runner;
pub mod train;
pub mod watch;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::record::{Field, Key};

pub use runner::{JobContext, JobHandle, JobRegistry, launch};

/// Reason recorded for jobs a previous process left unfinished.
pub const RESTARTED: &str = "control plane restarted while the job was running";
/// Reason recorded for jobs cancelled by a graceful shutdown.
pub const SHUT_DOWN: &str = "control plane shut down while the job was running";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Align,
    Train,
    Validate,
    Predict,
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Align => "align",
            JobKind::Train => "train",
            JobKind::Validate => "validate",
            JobKind::Predict => "predict",
        }
    }

    pub fn parse(text: &str) -> Option<JobKind> {
        [
            JobKind::Align,
            JobKind::Train,
            JobKind::Validate,
            JobKind::Predict,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<JobState> {
        [
            JobState::Queued,
            JobState::Running,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Cancelled,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

/// Where a job stands. `combination` counts (experiment, run) pairs from 1;
/// `participants_done` counts participants finished in the current round
/// (training) or run (evaluation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    pub round: u32,
    pub rounds: u32,
    pub combination: u32,
    pub combinations: u32,
    pub participants_done: u32,
    pub message: String,
}

/// A job as stored and as answered by `GET /ttp/jobs/<id>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    pub kind: JobKind,
    /// The route keys the job was started with (unused identifiers empty).
    pub scope: Key,
    pub state: JobState,
    pub progress: Progress,
    pub error: Option<String>,
    pub result: Option<Value>,
    pub created_at: String,
    pub updated_at: String,
}

impl Job {
    pub fn new(kind: JobKind, scope: Key) -> Job {
        let now = crate::db::now();
        Job {
            id: uuid::Uuid::new_v4().to_string(),
            kind,
            scope,
            state: JobState::Queued,
            progress: Progress::default(),
            error: None,
            result: None,
            created_at: now.clone(),
            updated_at: now,
        }
    }

    pub fn location(&self) -> String {
        format!("/ttp/jobs/{}", self.id)
    }

    pub fn to_json(&self) -> Value {
        let scope: Map<String, Value> = [
            Field::Collab,
            Field::Project,
            Field::Expt,
            Field::Run,
            Field::Participant,
        ]
        .into_iter()
        .filter(|f| !self.scope.get(*f).is_empty())
        .map(|f| (f.name().to_owned(), json!(self.scope.get(f))))
        .collect();
        json!({
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "scope": scope,
            "progress": self.progress,
            "error": self.error,
            "result": self.result,
            "created_at": crate::record::synergos_datetime(&self.created_at),
            "updated_at": crate::record::synergos_datetime(&self.updated_at),
        })
    }
}

/// The `type` of a job event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// Snapshot or any progress change.
    Progress,
    /// A training round finished.
    Round,
    /// A participant's evaluation finished.
    Evaluated,
    /// Terminal: the job succeeded; carries `result`.
    Completed,
    /// Terminal: the job failed; carries `error`.
    Failed,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Progress => "progress",
            EventType::Round => "round",
            EventType::Evaluated => "evaluated",
            EventType::Completed => "completed",
            EventType::Failed => "failed",
        }
    }
}

/// One SSE event: `{type, job_id, state, progress, ...detail}`.
#[derive(Debug, Clone, Serialize)]
pub struct JobEvent {
    #[serde(rename = "type")]
    pub kind: EventType,
    pub job_id: String,
    pub state: JobState,
    pub progress: Progress,
    #[serde(flatten)]
    pub detail: Map<String, Value>,
}

impl JobEvent {
    /// The job's current state as an event: `progress` while it runs,
    /// `completed` (with `result`) or `failed` (with `error`) once it ended.
    pub fn snapshot(job: &Job) -> JobEvent {
        let mut detail = Map::new();
        let kind = match job.state {
            JobState::Succeeded => {
                detail.insert("result".into(), job.result.clone().unwrap_or(Value::Null));
                EventType::Completed
            }
            JobState::Failed | JobState::Cancelled => {
                detail.insert("error".into(), json!(job.error));
                EventType::Failed
            }
            JobState::Queued | JobState::Running => EventType::Progress,
        };
        JobEvent {
            kind,
            job_id: job.id.clone(),
            state: job.state,
            progress: job.progress.clone(),
            detail,
        }
    }

    pub fn is_terminal(&self) -> bool {
        matches!(self.kind, EventType::Completed | EventType::Failed)
    }
}
