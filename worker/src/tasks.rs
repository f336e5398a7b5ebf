//! What the worker does with the data plane's requests: polls, local training
//! and evaluation. A request that carries weights waits for its transfer to
//! complete, then runs on a blocking thread; its results go back through the
//! connection's outgoing queue.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use ttp_proto::transfer::Assembler;
use ttp_proto::v1::{
    EvaluateRequest, PollReply, PollRequest, ServerMessage, TaskFailed, TaskRef, TrainRequest,
    WeightsBegin, WeightsChunk, WorkerMessage, server_message, worker_message,
};

use crate::data::DataCache;
use crate::work;

/// A request waiting for its weights.
#[derive(Debug)]
enum Pending {
    Train(TrainRequest),
    Evaluate(EvaluateRequest),
}

#[derive(Debug)]
struct Transfer {
    request: Pending,
    assembler: Option<Assembler>,
    received: Vec<ttp_proto::transfer::ReceivedTensor>,
}

/// (run id, round) of a task.
type TaskKey = (String, u32);

/// Handles the server's messages for one worker (across reconnections).
#[derive(Debug)]
pub struct TaskRunner {
    data: Arc<DataCache>,
    transfers: Mutex<HashMap<(String, u32), Transfer>>,
    cancelled: Arc<Mutex<HashMap<TaskKey, Arc<AtomicBool>>>>,
}

type Outbox = mpsc::Sender<WorkerMessage>;

impl TaskRunner {
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data: Arc::new(DataCache::new(data_dir)),
            transfers: Mutex::default(),
            cancelled: Arc::default(),
        }
    }

    /// Dispatches one server message; never blocks on long work.
    pub async fn handle(&self, message: ServerMessage, out: &Outbox) {
        use server_message::Body;
        match message.body {
            Some(Body::Poll(request)) => self.poll(request, out.clone()),
            Some(Body::Train(request)) => {
                let key = key_of(request.task.as_ref());
                self.start_transfer(key, Pending::Train(request));
            }
            Some(Body::Evaluate(request)) => {
                let key = key_of(request.task.as_ref());
                self.start_transfer(key, Pending::Evaluate(request));
            }
            Some(Body::WeightsBegin(begin)) => self.begin_weights(begin, out).await,
            Some(Body::WeightsChunk(chunk)) => self.weights_chunk(chunk, out).await,
            Some(Body::Cancel(cancel)) => {
                let key = key_of(cancel.task.as_ref());
                lock(&self.transfers).remove(&key);
                if let Some(flag) = lock(&self.cancelled).get(&key) {
                    flag.store(true, Ordering::Relaxed);
                }
            }
            Some(Body::Welcome(_) | Body::HeartbeatAck(_) | Body::Rejected(_)) | None => {}
        }
    }

    /// Stops every running task: the connection they answer on is gone.
    pub fn cancel_all(&self) {
        lock(&self.transfers).clear();
        for flag in lock(&self.cancelled).values() {
            flag.store(true, Ordering::Relaxed);
        }
    }

    fn poll(&self, request: PollRequest, out: Outbox) {
        let data = self.data.clone();
        tokio::spawn(async move {
            let id = request.request_id.clone();
            let result = tokio::task::spawn_blocking(move || data.poll(&request)).await;
            let body = match result {
                Ok(Ok(metas)) => worker_message::Body::PollReply(PollReply {
                    request_id: id,
                    metas,
                }),
                Ok(Err(error)) => failed(
                    TaskRef {
                        run_id: id,
                        round: 0,
                    },
                    error.to_string(),
                ),
                Err(error) => failed(
                    TaskRef {
                        run_id: id,
                        round: 0,
                    },
                    format!("poll crashed: {error}"),
                ),
            };
            let _ = out.send(WorkerMessage { body: Some(body) }).await;
        });
    }

    fn start_transfer(&self, key: (String, u32), request: Pending) {
        // A new task from the same run supersedes older rounds still waiting.
        let mut transfers = lock(&self.transfers);
        transfers.retain(|(run, _), _| run != &key.0);
        transfers.insert(
            key,
            Transfer {
                request,
                assembler: None,
                received: Vec::new(),
            },
        );
    }

    async fn begin_weights(&self, begin: WeightsBegin, out: &Outbox) {
        let task = begin.task.clone().unwrap_or_default();
        let key = (task.run_id.clone(), task.round);
        let outcome = {
            let mut transfers = lock(&self.transfers);
            match transfers.get_mut(&key) {
                None => Err("weights for an unknown or stale task".to_owned()),
                Some(transfer) => {
                    match Assembler::new(begin, ttp_proto::DEFAULT_CHUNK_BYTES, None) {
                        Ok(mut assembler) => {
                            transfer.received.extend(assembler.drain_complete());
                            transfer.assembler = Some(assembler);
                            Ok(())
                        }
                        Err(error) => {
                            transfers.remove(&key);
                            Err(error.to_string())
                        }
                    }
                }
            }
        };
        match outcome {
            Ok(()) => self.maybe_start(key, out),
            Err(reason) => send_failure(out, task, reason).await,
        }
    }

    async fn weights_chunk(&self, chunk: WeightsChunk, out: &Outbox) {
        let task = chunk.task.clone().unwrap_or_default();
        let key = (task.run_id.clone(), task.round);
        let outcome = {
            let mut transfers = lock(&self.transfers);
            match transfers
                .get_mut(&key)
                .and_then(|t| t.assembler.as_mut().map(|a| (a, &mut t.received)))
            {
                None => Err("weights chunk for an unknown or stale task".to_owned()),
                Some((assembler, received)) => match assembler.push(chunk) {
                    Ok(done) => {
                        received.extend(done);
                        Ok(())
                    }
                    Err(error) => {
                        transfers.remove(&key);
                        Err(error.to_string())
                    }
                },
            }
        };
        match outcome {
            Ok(()) => self.maybe_start(key, out),
            Err(reason) => {
                tracing::warn!(run_id = %task.run_id, round = task.round, %reason, "weights rejected");
                send_failure(out, task, reason).await;
            }
        }
    }

    /// Starts the task once all its weights are in.
    fn maybe_start(&self, key: (String, u32), out: &Outbox) {
        let transfer = {
            let mut transfers = lock(&self.transfers);
            let complete = transfers
                .get(&key)
                .and_then(|t| t.assembler.as_ref())
                .is_some_and(Assembler::is_complete);
            if !complete {
                return;
            }
            match transfers.remove(&key) {
                Some(transfer) => transfer,
                None => return,
            }
        };
        let cancel = Arc::new(AtomicBool::new(false));
        lock(&self.cancelled).insert(key.clone(), cancel.clone());
        let data = self.data.clone();
        let out = out.clone();
        let task = TaskRef {
            run_id: key.0.clone(),
            round: key.1,
        };
        let registry = self.cancelled.clone();
        tokio::spawn(async move {
            let received = transfer.received;
            let flag = cancel.clone();
            let result = match transfer.request {
                Pending::Train(request) => {
                    tokio::task::spawn_blocking(move || {
                        work::train(&data, request, received, &flag)
                    })
                    .await
                }
                Pending::Evaluate(request) => {
                    tokio::task::spawn_blocking(move || work::evaluate(&data, request, received))
                        .await
                }
            };
            lock(&registry).remove(&key);
            if cancel.load(Ordering::Relaxed) {
                return;
            }
            let sent = match result {
                Ok(Ok(outcome)) => work::send_outcome(&out, &task, outcome).await,
                Ok(Err(reason)) => {
                    tracing::warn!(run_id = %task.run_id, round = task.round, %reason, "task failed");
                    send_failure(&out, task, reason).await;
                    Ok(())
                }
                Err(error) => {
                    send_failure(&out, task, format!("task crashed: {error}")).await;
                    Ok(())
                }
            };
            if sent.is_err() {
                tracing::info!("connection closed before the results were sent");
            }
        });
    }
}

fn key_of(task: Option<&TaskRef>) -> (String, u32) {
    task.map(|t| (t.run_id.clone(), t.round))
        .unwrap_or_default()
}

fn failed(task: TaskRef, reason: String) -> worker_message::Body {
    worker_message::Body::TaskFailed(TaskFailed {
        task: Some(task),
        reason,
    })
}

async fn send_failure(out: &Outbox, task: TaskRef, reason: String) {
    let _ = out
        .send(WorkerMessage {
            body: Some(failed(task, reason)),
        })
        .await;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
