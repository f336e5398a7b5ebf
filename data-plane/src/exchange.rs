//! One task's conversation with one worker: sending a request followed by the
//! global weights, and receiving the worker's replies with every claim checked
//! against what the data plane already knows.

use std::sync::Mutex;

use tch::Tensor;
use tokio::sync::mpsc;
use ttp_learning::aggregate::WeightedAverage;
use ttp_learning::weights;
use ttp_proto::transfer::{Assembler, chunk_tensor};
use ttp_proto::v1::{
    EvaluateReply, ServerMessage, TaskRef, TensorHeader, TrainReply, WeightsBegin, WorkerMessage,
    server_message, worker_message,
};

use crate::error::RunError;
use crate::registry::Session;

/// A model ready to send: headers and raw bytes, encoded once per round and
/// shared by every participant's transfer.
#[derive(Debug)]
pub struct WireModel {
    pub headers: Vec<TensorHeader>,
    pub bytes: Vec<Vec<u8>>,
}

impl WireModel {
    pub fn encode(tensors: &[(String, Tensor)]) -> Result<Self, RunError> {
        let mut headers = Vec::with_capacity(tensors.len());
        let mut bytes = Vec::with_capacity(tensors.len());
        for (name, tensor) in tensors {
            headers.push(weights::header_of(name, tensor).map_err(RunError::internal)?);
            bytes.push(weights::tensor_bytes(tensor).map_err(RunError::internal)?);
        }
        Ok(Self { headers, bytes })
    }
}

/// Sends `request`, then the weights, to the worker.
async fn send_with_weights(
    session: &Session,
    task: &TaskRef,
    request: server_message::Body,
    model: &WireModel,
) -> Result<(), RunError> {
    let closed = |_| RunError::disconnected(&session.participant_id);
    session
        .send(ServerMessage {
            body: Some(request),
        })
        .await
        .map_err(closed)?;
    let begin = WeightsBegin {
        task: Some(task.clone()),
        tensors: model.headers.clone(),
    };
    session
        .send(ServerMessage {
            body: Some(server_message::Body::WeightsBegin(begin)),
        })
        .await
        .map_err(closed)?;
    for (index, bytes) in model.bytes.iter().enumerate() {
        for chunk in chunk_tensor(task, index as u32, bytes, ttp_proto::DEFAULT_CHUNK_BYTES) {
            session
                .send(ServerMessage {
                    body: Some(server_message::Body::WeightsChunk(chunk)),
                })
                .await
                .map_err(closed)?;
        }
    }
    Ok(())
}

/// One task with one worker: its replies are routed to `receive` while the
/// request and the weights go out, and routing stops however the task ends.
pub async fn run_task<T>(
    session: &Session,
    task: &TaskRef,
    request: server_message::Body,
    model: &WireModel,
    receive: impl AsyncFnOnce(&mut mpsc::Receiver<WorkerMessage>) -> Result<T, RunError>,
) -> Result<T, RunError> {
    let mut rx = session.begin_task(&task.run_id, task.round);
    let result = async {
        send_with_weights(session, task, request, model).await?;
        receive(&mut rx).await
    }
    .await;
    session.end_task(&task.run_id, task.round);
    result
}

async fn next_reply(
    rx: &mut mpsc::Receiver<WorkerMessage>,
    participant: &str,
) -> Result<worker_message::Body, RunError> {
    loop {
        let message = rx
            .recv()
            .await
            .ok_or_else(|| RunError::disconnected(participant))?;
        match message.body {
            Some(worker_message::Body::TaskFailed(failed)) => {
                return Err(RunError::Participant {
                    participant: participant.to_owned(),
                    reason: failed.reason,
                });
            }
            Some(body) => return Ok(body),
            None => continue,
        }
    }
}

fn protocol_error(participant: &str, what: &str) -> RunError {
    RunError::Participant {
        participant: participant.to_owned(),
        reason: format!("protocol violation: {what}"),
    }
}

/// Receives a training reply and the local weights, adding them to `average`
/// tensor by tensor as they complete. The sample count must equal the polled
/// training rows: a worker cannot inflate its weight in the average.
pub async fn receive_update(
    rx: &mut mpsc::Receiver<WorkerMessage>,
    participant: &str,
    expected: &[TensorHeader],
    expected_samples: u64,
    average: &Mutex<WeightedAverage>,
) -> Result<TrainReply, RunError> {
    let reply = match next_reply(rx, participant).await? {
        worker_message::Body::TrainReply(reply) => reply,
        _ => return Err(protocol_error(participant, "expected a train reply")),
    };
    if reply.sample_count != expected_samples {
        return Err(protocol_error(
            participant,
            &format!(
                "claims {} training samples but polled {}",
                reply.sample_count, expected_samples
            ),
        ));
    }
    if !reply.loss.is_finite() {
        return Err(RunError::Participant {
            participant: participant.to_owned(),
            reason: "local training diverged (loss is not finite)".into(),
        });
    }
    let begin = match next_reply(rx, participant).await? {
        worker_message::Body::WeightsBegin(begin) => begin,
        _ => return Err(protocol_error(participant, "expected local weights")),
    };
    let mut assembler = Assembler::new(begin, ttp_proto::DEFAULT_CHUNK_BYTES, Some(expected))
        .map_err(|e| protocol_error(participant, &e.to_string()))?;
    let weight = expected_samples as f64;
    let mut received = Vec::new();
    received.extend(assembler.drain_complete());
    loop {
        for tensor in received.drain(..) {
            let value = weights::tensor_from_received(&tensor)
                .map_err(|e| protocol_error(participant, &e.to_string()))?;
            lock(average)
                .add(participant, &tensor.header.name, &value, weight)
                .map_err(|e| protocol_error(participant, &e.to_string()))?;
        }
        if assembler.is_complete() {
            break;
        }
        match next_reply(rx, participant).await? {
            worker_message::Body::WeightsChunk(chunk) => {
                received = assembler
                    .push(chunk)
                    .map_err(|e| protocol_error(participant, &e.to_string()))?;
            }
            _ => return Err(protocol_error(participant, "expected a weights chunk")),
        }
    }
    lock(average)
        .finish_contribution(participant, weight)
        .map_err(|e| protocol_error(participant, &e.to_string()))?;
    Ok(reply)
}

/// Receives an evaluation reply; its sample count must match the polled rows.
pub async fn receive_evaluation(
    rx: &mut mpsc::Receiver<WorkerMessage>,
    participant: &str,
    expected_samples: u64,
) -> Result<EvaluateReply, RunError> {
    let reply = match next_reply(rx, participant).await? {
        worker_message::Body::EvaluateReply(reply) => reply,
        _ => return Err(protocol_error(participant, "expected an evaluation reply")),
    };
    if reply.sample_count != expected_samples {
        return Err(protocol_error(
            participant,
            &format!(
                "claims {} evaluation samples but polled {}",
                reply.sample_count, expected_samples
            ),
        ));
    }
    Ok(reply)
}

fn lock(average: &Mutex<WeightedAverage>) -> std::sync::MutexGuard<'_, WeightedAverage> {
    average.lock().unwrap_or_else(|e| e.into_inner())
}
