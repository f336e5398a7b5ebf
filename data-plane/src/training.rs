//! A training run: the rounds loop. Each round sends the global weights and
//! the plan to every participant, folds their local weights into a running
//! sample-weighted average as they stream in, and saves the new global model.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use futures_util::future::try_join_all;
use ttp_learning::aggregate::WeightedAverage;
use ttp_proto::v1::{
    LossHistory, ParticipantTrained, RoundCompleted, RunCompleted, RunStarted, TaskRef,
    TrainRequest, run_event, server_message,
};

use crate::error::RunError;
use crate::exchange::{WireModel, receive_update, run_task};
use crate::outputs;
use crate::plan::RunPlan;
use crate::poll::Polling;
use crate::runner::{Emitter, RunContext};

/// Runs every round of `run` and returns what the control plane records.
pub async fn train(
    ctx: &RunContext,
    run: &RunPlan,
    polling: Polling,
    events: &Emitter,
) -> Result<RunCompleted, RunError> {
    run.check_model_fits(&polling.layout)?;
    let plan = run
        .plan
        .as_ref()
        .ok_or_else(|| RunError::internal("training run without a plan"))?;
    let outputs_n = crate::layout::output_width(&polling.layout);
    ttp_learning::hyper::check_compatible(&run.spec, plan, run.action, outputs_n)
        .map_err(|e| RunError::InvalidArgument(e.to_string()))?;

    let mut samples = BTreeMap::new();
    for (participant, metas) in &polling.polled {
        let rows = metas.get("train").map_or(0, |m| m.rows);
        if rows > 0 {
            samples.insert(participant.clone(), rows);
        }
    }
    if samples.is_empty() {
        return Err(RunError::InvalidArgument(
            "no participant declared training data (`train` tags)".into(),
        ));
    }

    let spec = run.spec.clone();
    let seed = plan.seed;
    let mut global = blocking(move || ttp_learning::model::init_weights(&spec, seed))
        .await?
        .map_err(|e| RunError::InvalidArgument(e.to_string()))?;

    events
        .send(run_event::Event::Started(RunStarted {
            job_id: run.job_id.clone(),
            rounds: run.rounds,
            participants: samples.keys().cloned().collect(),
            features: polling.layout.x_headers.len() as u32,
        }))
        .await;

    let relative = run.relative_dir();
    let mut train_history = BTreeMap::new();
    let mut local_history: BTreeMap<String, BTreeMap<u32, f64>> = BTreeMap::new();
    for round in 1..=run.rounds {
        let started = Instant::now();
        let wire = WireModel::encode(&global)?;
        let task = TaskRef {
            run_id: run.job_id.clone(),
            round,
        };
        let average = Mutex::new(WeightedAverage::new(&global));
        let request = TrainRequest {
            task: Some(task.clone()),
            action: run.action_name.clone(),
            model_json: run.model_json.clone(),
            plan: Some(run.wire_plan.clone()),
            tags: Default::default(),
            layout: Some(polling.layout.clone()),
        };
        let replies = try_join_all(samples.iter().map(|(participant, &rows)| {
            let session = &polling.sessions[participant];
            let tags = run.tags_of(participant);
            let request = TrainRequest {
                tags,
                ..request.clone()
            };
            let (task, wire, average) = (&task, &wire, &average);
            async move {
                let reply = run_task(
                    session,
                    task,
                    server_message::Body::Train(request),
                    wire,
                    async |rx| receive_update(rx, participant, &wire.headers, rows, average).await,
                )
                .await?;
                events
                    .send(run_event::Event::ParticipantTrained(ParticipantTrained {
                        round,
                        participant_id: participant.clone(),
                        sample_count: reply.sample_count,
                        loss: reply.loss,
                    }))
                    .await;
                Ok::<_, RunError>((participant.clone(), reply.loss))
            }
        }))
        .await?;
        drop(wire);

        let average = average.into_inner().unwrap_or_else(|e| e.into_inner());
        global = blocking(move || average.finish())
            .await?
            .map_err(RunError::internal)?;
        let train_loss = replies.iter().map(|(_, loss)| loss).sum::<f64>() / replies.len() as f64;
        train_history.insert(round, train_loss);
        for (participant, loss) in replies {
            local_history
                .entry(participant)
                .or_default()
                .insert(round, loss);
        }
        let snapshot = global
            .iter()
            .map(|(name, tensor)| (name.clone(), tensor.shallow_clone()))
            .collect();
        outputs::save_global(
            &ctx.outputs_dir,
            &relative,
            snapshot,
            &train_history,
            &local_history,
        )
        .await?;
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(job_id = %run.job_id, round, rounds = run.rounds, train_loss, seconds, "round completed");
        events
            .send(run_event::Event::RoundCompleted(RoundCompleted {
                round,
                rounds: run.rounds,
                train_loss,
                seconds,
            }))
            .await;
    }

    Ok(RunCompleted {
        global_model_path: outputs::global_model_path(&relative).display().to_string(),
        local_model_paths: Default::default(),
        train_loss_history: train_history.into_iter().collect(),
        local_loss_history: local_history
            .into_iter()
            .map(|(p, losses)| {
                (
                    p,
                    LossHistory {
                        losses: losses.into_iter().collect(),
                    },
                )
            })
            .collect(),
    })
}

/// Runs libtorch work off the async runtime.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, RunError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(RunError::internal)
}
