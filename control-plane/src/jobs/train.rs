//! Phase 2B, training: every (experiment × run) combination in scope is
//! trained by the data plane, one after another, and archived as a Model
//! record holding the paths and loss histories of the global and local models.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use ttp_proto::v1 as pb;

use super::JobContext;
use super::follow::follow_run;
use super::plan::{self, Combination, ParticipantTags};
use crate::error::ApiError;
use crate::record::{Key, Kind, not_found_message};
use crate::state::AppState;

/// A checked training request.
#[derive(Debug)]
pub struct TrainPlan {
    action: String,
    participants: Vec<ParticipantTags>,
    combinations: Vec<Combination>,
}

/// Checks that the project exists, was aligned and has tagged participants,
/// and lists the combinations under `scope`.
pub async fn plan(state: &AppState, scope: &Key) -> Result<TrainPlan, ApiError> {
    let db = state.db();
    let (project, action) = plan::project(db, scope).await?;
    let alignments = db
        .list_plain_records(Kind::Alignment, project.key.clone())
        .await?;
    if alignments.is_empty() {
        return Err(ApiError::conflict(format!(
            "{} Run POST /ttp/train/collaborations/{}/projects/{}/alignments before training.",
            not_found_message(Kind::Alignment, &project.key),
            project.key.collab_id,
            project.key.project_id
        )));
    }
    let participants = plan::participants(db, &project.key).await?;
    let combinations = plan::combinations(db, scope).await?;
    Ok(TrainPlan {
        action,
        participants,
        combinations,
    })
}

fn losses(history: impl IntoIterator<Item = (u32, f64)>) -> Value {
    let sorted: BTreeMap<u32, f64> = history.into_iter().collect();
    let map: Map<String, Value> = sorted
        .into_iter()
        .map(|(round, loss)| (round.to_string(), json!(loss)))
        .collect();
    json!({ "train": map })
}

/// The Model record fields: `global` plus `local_1..local_n` (participants by id).
pub fn model_fields(completed: &pb::RunCompleted) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert(
        "global".into(),
        json!({
            "origin": "ttp",
            "path": completed.global_model_path,
            "loss_history": losses(completed.train_loss_history.iter().map(|(r, l)| (*r, *l))),
        }),
    );
    let participants: BTreeSet<&String> = completed
        .local_model_paths
        .keys()
        .chain(completed.local_loss_history.keys())
        .collect();
    for (i, participant) in participants.into_iter().enumerate() {
        let history = completed
            .local_loss_history
            .get(participant)
            .map(|h| losses(h.losses.iter().map(|(r, l)| (*r, *l))))
            .unwrap_or_else(|| losses([]));
        fields.insert(
            format!("local_{}", i + 1),
            json!({
                "origin": participant,
                "path": completed.local_model_paths.get(participant),
                "loss_history": history,
            }),
        );
    }
    fields
}

/// Trains the combinations one after another; the result is the list of
/// Model records.
pub async fn execute(mut ctx: JobContext, plan: TrainPlan) -> Result<Value, ApiError> {
    let total = plan.combinations.len() as u32;
    ctx.update(|p| {
        p.combinations = total;
        p.message = format!("training {total} combination(s)");
    })
    .await?;
    let participants: Vec<pb::ParticipantData> = plan.participants.iter().map(Into::into).collect();
    let mut models = Vec::new();
    for (index, combination) in plan.combinations.iter().enumerate() {
        let key = combination.key();
        let rounds = combination.settings.rounds;
        ctx.update(|p| {
            p.combination = index as u32 + 1;
            p.round = 0;
            p.rounds = rounds;
            p.participants_done = 0;
            p.message = format!("training experiment '{}' run '{}'", key.expt_id, key.run_id);
        })
        .await?;
        let request = pb::StartRunRequest {
            job_id: uuid::Uuid::new_v4().to_string(),
            scope: Some(combination.scope()),
            kind: pb::RunKind::Train as i32,
            action: plan.action.clone(),
            model_json: combination.model_json()?,
            plan: Some(combination.settings.plan.clone()),
            rounds,
            participants: participants.clone(),
            evaluate_participants: Vec::new(),
            meta: String::new(),
            connect_timeout_s: 0,
        };
        tracing::info!(job_id = ctx.id(), run = %request.job_id, expt_id = %key.expt_id, run_id = %key.run_id, "starting training run");
        let stream = ctx.state().data_plane().start_run(request).await?;
        let outcome = follow_run(&mut ctx, combination, stream, None).await?;
        let model = ctx
            .state()
            .db()
            .upsert_record(Kind::Model, key, model_fields(&outcome.completed))
            .await?;
        models.push(model.to_json());
    }
    Ok(Value::Array(models))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_fields_number_participants_by_id() {
        let mut completed = pb::RunCompleted {
            global_model_path: "c/p/e/r/global_model.safetensors".into(),
            ..Default::default()
        };
        completed.train_loss_history.insert(1, 0.5);
        completed.train_loss_history.insert(2, 0.25);
        completed
            .local_model_paths
            .insert("zed".into(), "z.bin".into());
        completed
            .local_model_paths
            .insert("amy".into(), "a.bin".into());
        let mut history = pb::LossHistory::default();
        history.losses.insert(1, 0.7);
        completed.local_loss_history.insert("amy".into(), history);
        let fields = model_fields(&completed);
        assert_eq!(fields["global"]["origin"], "ttp");
        assert_eq!(fields["global"]["loss_history"]["train"]["2"], 0.25);
        assert_eq!(fields["local_1"]["origin"], "amy");
        assert_eq!(fields["local_1"]["loss_history"]["train"]["1"], 0.7);
        assert_eq!(fields["local_2"]["origin"], "zed");
        assert_eq!(fields["local_2"]["path"], "z.bin");
    }
}
