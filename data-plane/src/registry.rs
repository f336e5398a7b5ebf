//! The connected workers, by participant id, and the per-session task inboxes
//! that route a worker's replies to whichever run is waiting for them (several
//! runs may use one worker at the same time, each under its own task).
//!
//! Lives only in memory: a data-plane restart forgets every session and the
//! workers reconnect by themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::sync::{mpsc, watch};
use ttp_proto::v1::{ServerMessage, WorkerMessage};

/// (run id or poll request id, round): the task a reply must name.
type TaskKey = (String, u32);

/// One live websocket session.
#[derive(Debug)]
pub struct Session {
    pub participant_id: String,
    pub worker_version: String,
    pub connection_id: u64,
    pub connected_at: Instant,
    outbox: mpsc::Sender<ServerMessage>,
    inboxes: Mutex<HashMap<TaskKey, mpsc::Sender<WorkerMessage>>>,
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
            inboxes: Mutex::default(),
            closed: watch::channel(false).0,
        }
    }

    /// Queues a frame for the worker; fails once the connection is gone.
    pub async fn send(&self, message: ServerMessage) -> Result<(), SessionClosed> {
        self.outbox.send(message).await.map_err(|_| SessionClosed)
    }

    /// Routes this session's replies for `(run_id, round)` to the returned
    /// receiver. The receiver ends when the worker disconnects. Within a run,
    /// a new round's task replaces the older ones, whose late replies then
    /// count as stale.
    pub fn begin_task(&self, run_id: &str, round: u32) -> mpsc::Receiver<WorkerMessage> {
        let (tx, rx) = mpsc::channel(16);
        let mut inboxes = self.lock_inboxes();
        inboxes.retain(|(run, _), _| run != run_id);
        if !self.is_closed() {
            inboxes.insert((run_id.to_owned(), round), tx);
        }
        rx
    }

    /// Stops routing replies for the given task.
    pub fn end_task(&self, run_id: &str, round: u32) {
        self.lock_inboxes().remove(&(run_id.to_owned(), round));
    }

    /// The sender for replies tagged `(run_id, round)`, or `None` when they are
    /// stale (no run waits for that task).
    pub fn route(&self, run_id: &str, round: u32) -> Option<mpsc::Sender<WorkerMessage>> {
        self.lock_inboxes()
            .get(&(run_id.to_owned(), round))
            .cloned()
    }

    /// Marks the session closed and drops the inboxes so waiting runs learn at once.
    pub fn close(&self) {
        self.closed.send_replace(true);
        self.lock_inboxes().clear();
    }

    fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Resolves when the session has been closed.
    pub async fn closed(&self) {
        let mut rx = self.closed.subscribe();
        // An error means the sender is gone, which also means closed.
        let _ = rx.wait_for(|closed| *closed).await;
    }

    fn lock_inboxes(&self) -> MutexGuard<'_, HashMap<TaskKey, mpsc::Sender<WorkerMessage>>> {
        // A poisoned lock only means another thread panicked mid-update of the
        // map; the map itself is still consistent.
        self.inboxes.lock().unwrap_or_else(|e| e.into_inner())
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

#[cfg(test)]
mod tests {
    use super::*;
    use ttp_proto::v1::{Heartbeat, worker_message};

    fn session() -> Session {
        let (tx, _rx) = mpsc::channel(1);
        Session::new("p1".into(), "test".into(), 1, tx)
    }

    fn message() -> WorkerMessage {
        WorkerMessage {
            body: Some(worker_message::Body::Heartbeat(Heartbeat { sequence: 1 })),
        }
    }

    #[tokio::test]
    async fn concurrent_runs_each_get_their_own_replies() {
        let session = session();
        let mut a = session.begin_task("run-a", 3);
        let mut b = session.begin_task("run-b", 1);
        session
            .route("run-a", 3)
            .expect("a routed")
            .send(message())
            .await
            .expect("sent");
        session
            .route("run-b", 1)
            .expect("b routed")
            .send(message())
            .await
            .expect("sent");
        assert!(a.recv().await.is_some());
        assert!(b.recv().await.is_some());
    }

    #[tokio::test]
    async fn an_older_round_of_the_same_run_is_stale() {
        let session = session();
        let _old = session.begin_task("run", 1);
        let _new = session.begin_task("run", 2);
        assert!(
            session.route("run", 1).is_none(),
            "round 1 replies are stale"
        );
        assert!(session.route("run", 2).is_some());
        session.end_task("run", 2);
        assert!(session.route("run", 2).is_none());
    }

    #[tokio::test]
    async fn closing_ends_every_waiting_task() {
        let session = session();
        let mut rx = session.begin_task("run", 1);
        session.close();
        assert!(rx.recv().await.is_none(), "the waiting run learns at once");
        let mut late = session.begin_task("run", 2);
        assert!(
            late.recv().await.is_none(),
            "no task starts on a closed session"
        );
    }
}
