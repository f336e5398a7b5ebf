//! An evaluation run: the saved global model goes to each participant, which
//! runs inference on its own data and returns only metrics.

use futures_util::future::try_join_all;
use ttp_proto::v1::{
    EvaluateRequest, ParticipantEvaluated, RunCompleted, RunStarted, TaskRef, run_event,
    server_message,
};

use crate::error::RunError;
use crate::exchange::{WireModel, receive_evaluation, run_task};
use crate::outputs;
use crate::plan::RunPlan;
use crate::poll::Polling;
use crate::runner::{Emitter, RunContext};

/// Evaluation uses the round after the last possible training round, so its
/// messages can never be mistaken for training traffic.
const EVALUATION_ROUND: u32 = u32::MAX;

pub async fn evaluate(
    ctx: &RunContext,
    run: &RunPlan,
    polling: Polling,
    events: &Emitter,
) -> Result<RunCompleted, RunError> {
    run.check_model_fits(&polling.layout)?;
    let relative = run.relative_dir();
    let global = outputs::load_global(&ctx.outputs_dir, &relative).await?;
    let wire = WireModel::encode(&global)?;
    drop(global);

    let targets: Vec<(&String, u64)> = polling
        .polled
        .iter()
        .filter(|(p, _)| {
            run.evaluate_participants.is_empty() || run.evaluate_participants.contains(p)
        })
        .filter_map(|(p, metas)| metas.get(&run.meta).map(|m| (p, m.rows)))
        .collect();
    if targets.is_empty() {
        return Err(RunError::InvalidArgument(format!(
            "no participant in scope declared `{}` data",
            run.meta
        )));
    }
    events
        .send(run_event::Event::Started(RunStarted {
            job_id: run.job_id.clone(),
            rounds: 0,
            participants: targets.iter().map(|(p, _)| (*p).clone()).collect(),
            features: polling.layout.x_headers.len() as u32,
        }))
        .await;

    let task = TaskRef {
        run_id: run.job_id.clone(),
        round: EVALUATION_ROUND,
    };
    let criterion = run.wire_plan.criterion.clone();
    try_join_all(targets.iter().map(|(participant, rows)| {
        let session = &polling.sessions[*participant];
        let tags = run.tags_of(participant);
        let request = EvaluateRequest {
            task: Some(task.clone()),
            action: run.action_name.clone(),
            model_json: run.model_json.clone(),
            meta: run.meta.clone(),
            tags,
            layout: Some(polling.layout.clone()),
            criterion: criterion.clone(),
        };
        let (task, wire) = (&task, &wire);
        async move {
            let reply = run_task(
                session,
                task,
                server_message::Body::Evaluate(request),
                wire,
                async |rx| receive_evaluation(rx, participant, *rows).await,
            )
            .await?;
            events
                .send(run_event::Event::ParticipantEvaluated(
                    ParticipantEvaluated {
                        participant_id: (*participant).clone(),
                        meta: run.meta.clone(),
                        sample_count: reply.sample_count,
                        loss: reply.loss,
                        statistics: reply.statistics,
                    },
                ))
                .await;
            Ok::<_, RunError>(())
        }
    }))
    .await?;

    Ok(RunCompleted {
        global_model_path: outputs::global_model_path(&relative).display().to_string(),
        ..Default::default()
    })
}
