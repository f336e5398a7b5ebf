//! Phase 3B, prediction: a participant asks for inference of the trained
//! models on its `predict` data. Its new predict tags replace the stored
//! ones, the features are aligned again, and if any *other* participant's
//! spacers change the request is refused as feature drift (403), as in
//! Synergos. Each participant's statistics become a Prediction record.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use ttp_proto::v1 as pb;

use super::JobContext;
use super::align::alignment_fields;
use super::follow::follow_run;
use super::plan::{self, Combination, ParticipantTags};
use crate::error::ApiError;
use crate::record::{Field, Key, Kind};
use crate::records;
use crate::state::AppState;
use crate::validate;

/// The meta prediction runs on.
pub const META: &str = "predict";

/// The message Synergos answers when other participants' alignment moves.
pub const FEATURE_DRIFT: &str = "Feature drift detected!";

/// One registered project the prediction covers.
#[derive(Debug)]
struct ProjectPrediction {
    project: Key,
    action: String,
    /// Every participant's tags, the requester's `predict` already replaced.
    participants: Vec<ParticipantTags>,
    /// The requester's new predict tags, when the request brought some.
    new_tags: Option<Vec<Vec<String>>>,
    /// Trained combinations in scope.
    combinations: Vec<Combination>,
}

/// A checked prediction request.
#[derive(Debug)]
pub struct PredictPlan {
    participant_id: String,
    projects: Vec<ProjectPrediction>,
}

/// Reads the requester's registrations in the collaboration (one project when
/// `scope` names it), applies the submitted `tags` (`{project_id: [[token,
/// ...], ...]}`) and keeps the combinations that were trained.
pub async fn plan(
    state: &AppState,
    scope: &Key,
    tags: Option<&Value>,
) -> Result<PredictPlan, ApiError> {
    let db = state.db();
    let participant_id = scope.participant_id.clone();
    db.existing_record(
        Kind::Participant,
        Key::default().with(Field::Participant, participant_id.clone()),
    )
    .await?;
    let submitted = parse_tags(tags)?;
    let registrations = if scope.project_id.is_empty() {
        let filter = Key::default()
            .with(Field::Collab, scope.collab_id.clone())
            .with(Field::Participant, participant_id.clone());
        db.list_plain_records(Kind::Registration, filter).await?
    } else {
        vec![
            db.existing_record(Kind::Registration, scope.project_onto(Kind::Registration))
                .await?,
        ]
    };
    if let Some(unknown) = submitted
        .keys()
        .find(|p| !registrations.iter().any(|r| &&r.key.project_id == p))
    {
        return Err(ApiError::invalid(format!(
            "field `tags`: participant '{participant_id}' is not registered to Project '{unknown}' in Collaboration '{}'",
            scope.collab_id
        )));
    }
    let mut projects = Vec::new();
    for registration in registrations {
        let project_id = registration.key.project_id.clone();
        let project_scope = scope.clone().with(Field::Project, project_id.clone());
        let (project, action) = plan::project(db, &project_scope).await?;
        let mut participants = plan::participants(db, &project.key).await?;
        let new_tags = submitted.get(&project_id).cloned();
        let requester = participants
            .iter_mut()
            .find(|p| p.participant_id == participant_id)
            .ok_or_else(|| {
                ApiError::conflict(format!(
                    "participant '{participant_id}' has not declared tags for Project '{project_id}'!"
                ))
            })?;
        match &new_tags {
            Some(tags) => {
                requester.metas.insert(META.to_owned(), tags.clone());
            }
            None if !requester.metas.contains_key(META) => {
                return Err(ApiError::invalid(format!(
                    "field `tags`: participant '{participant_id}' has no `predict` tags for Project '{project_id}'; send {{\"tags\": {{\"{project_id}\": [[\"token\", ...]]}}}}"
                )));
            }
            None => {}
        }
        let mut combinations = Vec::new();
        for combination in plan::combinations(db, &project_scope).await? {
            if db.record(Kind::Model, combination.key()).await?.is_some() {
                combinations.push(combination);
            }
        }
        projects.push(ProjectPrediction {
            project: project.key,
            action,
            participants,
            new_tags,
            combinations,
        });
    }
    Ok(PredictPlan {
        participant_id,
        projects,
    })
}

/// `{project_id: [[token, ...], ...]}`, each tag list checked like a Tag's.
fn parse_tags(tags: Option<&Value>) -> Result<BTreeMap<String, Vec<Vec<String>>>, ApiError> {
    let Some(tags) = tags else {
        return Ok(BTreeMap::new());
    };
    let object = tags.as_object().ok_or_else(|| {
        ApiError::invalid("field `tags` must be an object mapping project ids to tag lists")
    })?;
    let mut parsed = BTreeMap::new();
    for (project_id, list) in object {
        validate::tag_list(&format!("tags.{project_id}"), list)?;
        let list: Vec<Vec<String>> = serde_json::from_value(list.clone())
            .map_err(|e| ApiError::invalid(format!("field `tags.{project_id}`: {e}")))?;
        parsed.insert(project_id.clone(), list);
    }
    Ok(parsed)
}

/// Runs the prediction project by project; the result is the list of
/// Prediction records written.
pub async fn execute(mut ctx: JobContext, plan: PredictPlan) -> Result<Value, ApiError> {
    let total: usize = plan.projects.iter().map(|p| p.combinations.len()).sum();
    ctx.update(|p| {
        p.combinations = total as u32;
        p.message = format!("predicting with {total} trained combination(s)");
    })
    .await?;
    let mut predictions = Vec::new();
    let mut done = 0u32;
    for project in &plan.projects {
        check_drift_and_store(&mut ctx, &plan.participant_id, project).await?;
        let participants: Vec<pb::ParticipantData> =
            project.participants.iter().map(Into::into).collect();
        for combination in &project.combinations {
            done += 1;
            let key = combination.key();
            ctx.update(|p| {
                p.combination = done;
                p.participants_done = 0;
                p.message = format!(
                    "predicting with experiment '{}' run '{}'",
                    key.expt_id, key.run_id
                );
            })
            .await?;
            let request = pb::StartRunRequest {
                job_id: uuid::Uuid::new_v4().to_string(),
                scope: Some(combination.scope()),
                kind: pb::RunKind::Evaluate as i32,
                action: project.action.clone(),
                model_json: combination.model_json()?,
                plan: Some(combination.settings.plan.clone()),
                rounds: combination.settings.rounds,
                participants: participants.clone(),
                evaluate_participants: vec![plan.participant_id.clone()],
                meta: META.to_owned(),
                connect_timeout_s: 0,
            };
            let stream = ctx.state().data_plane().start_run(request).await?;
            let outcome = follow_run(&mut ctx, combination, stream, Some(Kind::Prediction)).await?;
            predictions.extend(outcome.validations);
        }
    }
    Ok(Value::Array(predictions))
}

/// Re-aligns the project with the new predict tags; refuses when another
/// participant's spacers move, else stores the requester's new tags and
/// alignment.
async fn check_drift_and_store(
    ctx: &mut JobContext,
    requester: &str,
    project: &ProjectPrediction,
) -> Result<(), ApiError> {
    let request = pb::AlignRequest {
        action: project.action.clone(),
        participants: project.participants.iter().map(Into::into).collect(),
        connect_timeout_s: 0,
    };
    let response = ctx.state().data_plane().align(request).await?;
    let db = ctx.state().db().clone();
    let mut requester_alignment = None;
    for alignment in &response.participants {
        let key = project
            .project
            .clone()
            .with(Field::Participant, alignment.participant_id.clone());
        let fresh = alignment_fields(alignment, true);
        if alignment.participant_id == requester {
            requester_alignment = Some((key, fresh));
            continue;
        }
        let stored = db.record(Kind::Alignment, key).await?.ok_or_else(|| {
            ApiError::conflict(format!(
                "MFA has not been performed for Project '{}'!",
                project.project.project_id
            ))
        })?;
        let moved = fresh.iter().any(|(meta, spacers)| {
            stored
                .record
                .fields
                .get(meta)
                .is_some_and(|old| old != spacers)
        });
        if moved {
            tracing::info!(participant = %alignment.participant_id, project_id = %project.project.project_id, "feature drift refused a prediction");
            return Err(ApiError::forbidden(FEATURE_DRIFT));
        }
    }
    // Nothing is stored until the drift check has passed.
    if let Some((key, fresh)) = requester_alignment {
        db.upsert_record(Kind::Alignment, key, fresh).await?;
    }
    if let Some(tags) = &project.new_tags {
        let mut changes = Map::new();
        changes.insert(META.into(), json!(tags));
        let key = project
            .project
            .clone()
            .with(Field::Participant, requester.to_owned());
        records::update(&db, Kind::Tag, key, changes).await?;
    }
    Ok(())
}
