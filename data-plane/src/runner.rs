//! Runs a validated request to its end and reports progress: exactly one
//! `RunCompleted` or `RunFailed` closes every event stream. Keeps the set of
//! active runs so they can be cancelled.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use ttp_proto::v1::{RunEvent, RunFailed, RunKind, WaitingForWorkers, run_event};

use crate::error::RunError;
use crate::plan::RunPlan;
use crate::poll::poll_participants;
use crate::registry::Registry;
use crate::{evaluation, training};

/// What every run needs from the data plane.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub registry: Arc<Registry>,
    pub outputs_dir: PathBuf,
    /// How long to wait for absent workers when the request does not say.
    pub connect_timeout: Duration,
    active: Arc<Mutex<HashMap<String, oneshot::Sender<()>>>>,
}

impl RunContext {
    pub fn new(registry: Arc<Registry>, outputs_dir: PathBuf, connect_timeout: Duration) -> Self {
        Self {
            registry,
            outputs_dir,
            connect_timeout,
            active: Default::default(),
        }
    }

    pub fn connect_timeout_for(&self, requested_s: u32) -> Duration {
        if requested_s == 0 {
            self.connect_timeout
        } else {
            Duration::from_secs(u64::from(requested_s))
        }
    }

    /// Cancels an active run; false if there is none with that id.
    pub fn cancel(&self, job_id: &str) -> bool {
        let sender = self.lock().remove(job_id);
        sender.is_some_and(|s| s.send(()).is_ok())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<()>>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Sends progress events to the stream's consumer.
#[derive(Debug, Clone)]
pub struct Emitter(mpsc::Sender<Result<RunEvent, tonic::Status>>);

impl Emitter {
    pub fn new(tx: mpsc::Sender<Result<RunEvent, tonic::Status>>) -> Self {
        Self(tx)
    }

    /// A consumer that went away is noticed by `execute`, which cancels the run.
    pub async fn send(&self, event: run_event::Event) {
        let _ = self.0.send(Ok(RunEvent { event: Some(event) })).await;
    }
}

/// Runs `run`, streaming its events; cancelled by `CancelRun` or when the
/// consumer drops the stream.
pub async fn execute(ctx: RunContext, run: RunPlan, events: Emitter) {
    let (cancel_tx, cancel_rx) = oneshot::channel();
    if ctx.lock().insert(run.job_id.clone(), cancel_tx).is_some() {
        tracing::warn!(job_id = %run.job_id, "a run with this job id was already active; it can no longer be cancelled by id");
    }
    let outcome = tokio::select! {
        outcome = drive(&ctx, &run, &events) => outcome,
        _ = cancel_rx => Err(RunError::Cancelled),
        _ = events.0.closed() => Err(RunError::Cancelled),
    };
    ctx.lock().remove(&run.job_id);
    match outcome {
        Ok(completed) => {
            tracing::info!(job_id = %run.job_id, "run completed");
            events.send(run_event::Event::Completed(completed)).await;
        }
        Err(error) => {
            tracing::info!(job_id = %run.job_id, %error, "run failed");
            events
                .send(run_event::Event::Failed(RunFailed {
                    reason: error.to_string(),
                }))
                .await;
        }
    }
}

async fn drive(
    ctx: &RunContext,
    run: &RunPlan,
    events: &Emitter,
) -> Result<ttp_proto::v1::RunCompleted, RunError> {
    let (wait_tx, mut wait_rx) = mpsc::unbounded_channel();
    let polling = {
        let poll = poll_participants(
            &ctx.registry,
            &run.participants,
            &run.action_name,
            ctx.connect_timeout_for(run.connect_timeout_s),
            |missing| {
                let _ = wait_tx.send(missing.to_vec());
            },
        );
        tokio::pin!(poll);
        loop {
            tokio::select! {
                polled = &mut poll => break polled?,
                Some(missing) = wait_rx.recv() => {
                    events.send(run_event::Event::Waiting(WaitingForWorkers { missing })).await;
                }
            }
        }
    };
    match run.kind {
        RunKind::Train => training::train(ctx, run, polling, events).await,
        RunKind::Evaluate => evaluation::evaluate(ctx, run, polling, events).await,
        RunKind::Unspecified => Err(RunError::InvalidArgument("kind is required".into())),
    }
}
