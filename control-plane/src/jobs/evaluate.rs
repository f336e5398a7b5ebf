//! Phase 3A, validation: the stored global model of every trained
//! combination in scope is evaluated on the participants' `evaluate` data;
//! each participant's statistics become a Validation record.

use serde_json::Value;
use ttp_proto::v1 as pb;

use super::JobContext;
use super::follow::follow_run;
use super::plan::{self, Combination, ParticipantTags};
use crate::error::ApiError;
use crate::record::{Key, Kind};
use crate::state::AppState;

/// The meta validation runs on.
pub const META: &str = "evaluate";

/// A checked validation request.
#[derive(Debug)]
pub struct EvaluatePlan {
    action: String,
    participants: Vec<ParticipantTags>,
    /// Empty: every participant with `evaluate` data.
    evaluate_participants: Vec<String>,
    /// Only combinations that have a Model record.
    combinations: Vec<Combination>,
}

/// Checks the project (and the participant's registration when `scope` names
/// one) and keeps the combinations that were trained.
pub async fn plan(state: &AppState, scope: &Key) -> Result<EvaluatePlan, ApiError> {
    let db = state.db();
    let (project, action) = plan::project(db, scope).await?;
    let mut evaluate_participants = Vec::new();
    if !scope.participant_id.is_empty() {
        db.existing_record(Kind::Registration, scope.clone())
            .await?;
        evaluate_participants.push(scope.participant_id.clone());
    }
    let participants = plan::participants(db, &project.key).await?;
    let mut combinations = Vec::new();
    for combination in plan::combinations(db, scope).await? {
        if db.record(Kind::Model, combination.key()).await?.is_some() {
            combinations.push(combination);
        } else {
            tracing::info!(expt_id = %combination.key().expt_id, run_id = %combination.key().run_id, "no model yet; skipping validation");
        }
    }
    Ok(EvaluatePlan {
        action,
        participants,
        evaluate_participants,
        combinations,
    })
}

/// Evaluates the combinations one after another; the result is the list of
/// Validation records written.
pub async fn execute(mut ctx: JobContext, plan: EvaluatePlan) -> Result<Value, ApiError> {
    let total = plan.combinations.len() as u32;
    ctx.update(|p| {
        p.combinations = total;
        p.message = format!("validating {total} combination(s)");
    })
    .await?;
    let participants: Vec<pb::ParticipantData> = plan.participants.iter().map(Into::into).collect();
    let mut validations = Vec::new();
    for (index, combination) in plan.combinations.iter().enumerate() {
        let key = combination.key();
        ctx.update(|p| {
            p.combination = index as u32 + 1;
            p.round = 0;
            p.rounds = 0;
            p.participants_done = 0;
            p.message = format!(
                "validating experiment '{}' run '{}'",
                key.expt_id, key.run_id
            );
        })
        .await?;
        let request = pb::StartRunRequest {
            job_id: uuid::Uuid::new_v4().to_string(),
            scope: Some(combination.scope()),
            kind: pb::RunKind::Evaluate as i32,
            action: plan.action.clone(),
            model_json: combination.model_json()?,
            plan: Some(combination.settings.plan.clone()),
            rounds: combination.settings.rounds,
            participants: participants.clone(),
            evaluate_participants: plan.evaluate_participants.clone(),
            meta: META.to_owned(),
            connect_timeout_s: 0,
        };
        tracing::info!(job_id = ctx.id(), run = %request.job_id, expt_id = %key.expt_id, run_id = %key.run_id, "starting evaluation run");
        let stream = ctx.state().data_plane().start_run(request).await?;
        let outcome = follow_run(&mut ctx, combination, stream, Some(Kind::Validation)).await?;
        validations.extend(outcome.validations);
    }
    Ok(Value::Array(validations))
}
