//! The worker's two jobs, run on a blocking thread: train the received global
//! model on local data, or evaluate it; plus sending the outcome back as a
//! reply followed by a chunked weights transfer.

use std::sync::atomic::{AtomicBool, Ordering};

use tch::Tensor;
use tokio::sync::mpsc;
use ttp_learning::hyper::{Action, Criterion, TrainingPlan};
use ttp_learning::spec::ModelSpec;
use ttp_learning::train::LocalData;
use ttp_learning::{evaluate, train, weights};
use ttp_proto::transfer::{ReceivedTensor, chunk_tensor};
use ttp_proto::v1::{
    EvaluateReply, EvaluateRequest, FeatureLayout, TagList, TaskRef, TrainReply, TrainRequest,
    WeightsBegin, WorkerMessage, worker_message,
};

use crate::data::{DataCache, layout_of};
use crate::dataset::{self, Labels};

/// A finished task's results.
#[derive(Debug)]
pub enum Outcome {
    Trained {
        reply: TrainReply,
        weights: Vec<(String, Tensor)>,
    },
    Evaluated(EvaluateReply),
}

/// One round of local training.
pub fn train(
    data: &DataCache,
    request: TrainRequest,
    received: Vec<ReceivedTensor>,
    cancel: &AtomicBool,
) -> Result<Outcome, String> {
    let task = request.task.clone().unwrap_or_default();
    let spec = parse_spec(&request.model_json)?;
    let plan = TrainingPlan::try_from(request.plan.clone().unwrap_or_default())
        .map_err(|e| e.to_string())?;
    let action = Action::parse(&request.action).map_err(|e| e.to_string())?;
    let local = local_data(
        data,
        action,
        request.tags.get("train"),
        request.layout.as_ref(),
        "train",
    )?;
    let global = to_tensors(&received)?;
    let outcome = train::train_local(&spec, &plan, &global, &local, task.round, &|| {
        cancel.load(Ordering::Relaxed)
    })
    .map_err(|e| e.to_string())?;
    tracing::info!(run_id = %task.run_id, round = task.round, loss = outcome.loss, samples = outcome.sample_count, "local training done");
    Ok(Outcome::Trained {
        reply: TrainReply {
            task: Some(task),
            sample_count: outcome.sample_count as u64,
            loss: outcome.loss,
            epochs_run: outcome.epochs_run,
        },
        weights: outcome.weights,
    })
}

/// Inference of the received model on one meta; only metrics leave.
pub fn evaluate(
    data: &DataCache,
    request: EvaluateRequest,
    received: Vec<ReceivedTensor>,
) -> Result<Outcome, String> {
    let task = request.task.clone().unwrap_or_default();
    let spec = parse_spec(&request.model_json)?;
    let action = Action::parse(&request.action).map_err(|e| e.to_string())?;
    let criterion = Criterion::parse(&request.criterion).map_err(|e| e.to_string())?;
    let local = local_data(
        data,
        action,
        request.tags.get(&request.meta),
        request.layout.as_ref(),
        &request.meta,
    )?;
    let global = to_tensors(&received)?;
    let result =
        evaluate::evaluate(&spec, &global, &local, criterion, action).map_err(|e| e.to_string())?;
    tracing::info!(run_id = %task.run_id, meta = %request.meta, samples = result.sample_count, "evaluation done");
    Ok(Outcome::Evaluated(EvaluateReply {
        task: Some(task),
        sample_count: result.sample_count as u64,
        loss: result.loss,
        statistics: result
            .statistics
            .into_iter()
            .map(|(name, metric)| (name, metric.into()))
            .collect(),
    }))
}

/// Sends the outcome: an evaluation reply, or a train reply followed by the
/// local weights one tensor at a time.
pub async fn send_outcome(
    out: &mpsc::Sender<WorkerMessage>,
    task: &TaskRef,
    outcome: Outcome,
) -> Result<(), mpsc::error::SendError<WorkerMessage>> {
    let send = |body| out.send(WorkerMessage { body: Some(body) });
    match outcome {
        Outcome::Evaluated(reply) => send(worker_message::Body::EvaluateReply(reply)).await,
        Outcome::Trained { reply, weights } => {
            send(worker_message::Body::TrainReply(reply)).await?;
            let mut headers = Vec::with_capacity(weights.len());
            for (name, tensor) in &weights {
                match weights::header_of(name, tensor) {
                    Ok(header) => headers.push(header),
                    Err(error) => {
                        tracing::error!(%error, "cannot describe a local tensor");
                        return Ok(());
                    }
                }
            }
            send(worker_message::Body::WeightsBegin(WeightsBegin {
                task: Some(task.clone()),
                tensors: headers,
            }))
            .await?;
            for (index, (_, tensor)) in weights.into_iter().enumerate() {
                let bytes = match weights::tensor_bytes(&tensor) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        tracing::error!(%error, "cannot read a local tensor");
                        return Ok(());
                    }
                };
                drop(tensor);
                for chunk in
                    chunk_tensor(task, index as u32, &bytes, ttp_proto::DEFAULT_CHUNK_BYTES)
                {
                    send(worker_message::Body::WeightsChunk(chunk)).await?;
                }
            }
            Ok(())
        }
    }
}

fn parse_spec(model_json: &str) -> Result<ModelSpec, String> {
    let value: serde_json::Value =
        serde_json::from_str(model_json).map_err(|e| format!("model is not valid JSON: {e}"))?;
    ModelSpec::from_json(&value).map_err(|e| e.to_string())
}

fn to_tensors(received: &[ReceivedTensor]) -> Result<Vec<(String, Tensor)>, String> {
    received
        .iter()
        .map(|r| {
            weights::tensor_from_received(r)
                .map(|t| (r.header.name.clone(), t))
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Loads (or reuses) the tagged data and lays it out as the model expects.
fn local_data(
    data: &DataCache,
    action: Action,
    tags: Option<&TagList>,
    layout: Option<&FeatureLayout>,
    meta: &str,
) -> Result<LocalData, String> {
    let tags = tags.ok_or_else(|| format!("no `{meta}` tags were sent"))?;
    let layout = layout.ok_or("no feature layout was sent")?;
    let table = data
        .get(action, tags)
        .map_err(|e| format!("`{meta}` data: {e}"))?;
    let aligned = dataset::apply_layout(&table, &layout_of(layout), action)
        .map_err(|e| format!("`{meta}` data: {e}"))?;
    let rows = aligned.rows as i64;
    let x = Tensor::from_slice(&aligned.x).view([rows, aligned.cols as i64]);
    let y = match &aligned.labels {
        Labels::Classes(classes) => Tensor::from_slice(classes),
        Labels::Binary(values) | Labels::Values(values) => {
            Tensor::from_slice(values).view([rows, 1])
        }
    };
    Ok(LocalData { x, y })
}
