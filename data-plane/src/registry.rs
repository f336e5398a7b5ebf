//! The connected workers, by participant id, and the per-session task inbox
//! that routes a worker's replies to whichever run is waiting for them.
//!
//! Lives only in memory: a data-plane restart forgets every session and the
//! workers reconnect by themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use ttp_proto::v1::{ServerMessage, WorkerMessage};

/// Replies that belong to the task a run is waiting on.
#[derive(Debug)]
pub struct TaskInbox {
    /// The run id (or poll request id) and round the replies must carry.
    pub run_id: String,
    pub round: u32,
    pub tx: mpsc::Sender<WorkerMessage>,
}

/// One live websocket session.
#[derive(Debug)]
pub struct Session {
    pub participant_id: String,
    pub worker_version: String,
    pub connection_id: u64,
    pub connected_at: Instant,
    outbox: mpsc::Sender<ServerMessage>,
    inbox: Mutex<Option<TaskInbox>>,
    closed: watch::Sender<bool>,
}

impl Session {
    pub fn new(
        participant_id: String,
        worker_version: String,
        connection_id: u64,
        outbox: mpsc::Sender<ServerMessage>,
    ) -> Self {
        Self {
            participant_id,
            worker_version,
            connection_id,
            connected_at: Instant::now(),
            outbox,
            inbox: Mutex::new(None),
            closed: watch::channel(false).0,
        }
    }

    /// Queues a frame for the worker; fails once the connection is gone.
    pub async fn send(&self, message: ServerMessage) -> Result<(), SessionClosed> {
        self.outbox.send(message).await.map_err(|_| SessionClosed)
    }

    /// Routes this session's replies for `(run_id, round)` to the returned
    /// receiver, replacing any earlier task. The receiver ends when the worker
    /// disconnects.
    pub fn begin_task(&self, run_id: &str, round: u32) -> mpsc::Receiver<WorkerMessage> {
        let (tx, rx) = mpsc::channel(16);
        *self.lock_inbox() = Some(TaskInbox {
            run_id: run_id.to_owned(),
            round,
            tx,
        });
        rx
    }

    /// Stops routing replies for the given task (a no-op if another task took over).
    pub fn end_task(&self, run_id: &str, round: u32) {
        let mut inbox = self.lock_inbox();
        if inbox
            .as_ref()
            .is_some_and(|t| t.run_id == run_id && t.round == round)
        {
            *inbox = None;
        }
    }

    /// The sender for replies tagged `(run_id, round)`, or `None` when they are
    /// stale (no task, or another task is current).
    pub fn route(&self, run_id: &str, round: u32) -> Option<mpsc::Sender<WorkerMessage>> {
        self.lock_inbox()
            .as_ref()
            .filter(|t| t.run_id == run_id && t.round == round)
            .map(|t| t.tx.clone())
    }

    /// Marks the session closed and drops the inbox so waiting runs learn at once.
    pub fn close(&self) {
        *self.lock_inbox() = None;
        self.closed.send_replace(true);
    }

    /// Resolves when the session has been closed.
    pub async fn closed(&self) {
        let mut rx = self.closed.subscribe();
        // An error means the sender is gone, which also means closed.
        let _ = rx.wait_for(|closed| *closed).await;
    }

    fn lock_inbox(&self) -> MutexGuard<'_, Option<TaskInbox>> {
        // A poisoned lock only means another thread panicked mid-assignment of an
        // Option; the value is still usable.
        self.inbox.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The worker connection went away.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("worker disconnected")]
pub struct SessionClosed;

/// All connected workers.
#[derive(Debug, Default)]
pub struct Registry {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    changed: tokio::sync::Notify,
}

impl Registry {
    /// Adds a session, closing and returning any earlier one of the same participant.
    pub fn insert(&self, session: Arc<Session>) -> Option<Arc<Session>> {
        let previous = self.lock().insert(session.participant_id.clone(), session);
        if let Some(previous) = &previous {
            previous.close();
        }
        self.changed.notify_waiters();
        previous
    }

    /// Removes the session if it is still the registered one for its participant.
    pub fn remove(&self, session: &Session) {
        let mut sessions = self.lock();
        if sessions
            .get(&session.participant_id)
            .is_some_and(|s| s.connection_id == session.connection_id)
        {
            sessions.remove(&session.participant_id);
        }
        drop(sessions);
        session.close();
        self.changed.notify_waiters();
    }

    pub fn get(&self, participant_id: &str) -> Option<Arc<Session>> {
        self.lock().get(participant_id).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Session>> {
        let mut all: Vec<_> = self.lock().values().cloned().collect();
        all.sort_by(|a, b| a.participant_id.cmp(&b.participant_id));
        all
    }

    /// Waits until every listed participant is connected or `deadline` passes;
    /// returns the sessions, or the ids still missing. `on_wait` is called with
    /// the missing ids each time the set changes while waiting.
    pub async fn wait_for(
        &self,
        participants: &[String],
        deadline: tokio::time::Instant,
        mut on_wait: impl FnMut(&[String]),
    ) -> Result<Vec<Arc<Session>>, Vec<String>> {
        let mut last_missing: Vec<String> = Vec::new();
        loop {
            let notified = self.changed.notified();
            let missing: Vec<String> = participants
                .iter()
                .filter(|p| self.get(p).is_none())
                .cloned()
                .collect();
            if missing.is_empty() {
                return Ok(participants.iter().filter_map(|p| self.get(p)).collect());
            }
            if missing != last_missing {
                on_wait(&missing);
                last_missing = missing.clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(missing);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}
