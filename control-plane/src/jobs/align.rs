//! Phase 2A, alignment: the data plane polls every participant and computes
//! the multiple feature alignment; each participant's spacer indexes become
//! an Alignment record, and every experiment's input and output sizes are
//! fixed to the aligned layout.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use ttp_proto::v1 as pb;

use super::JobContext;
use super::plan::{self, ParticipantTags};
use crate::error::ApiError;
use crate::learning;
use crate::record::{Field, Key, Kind};
use crate::records;
use crate::state::AppState;

/// Options of `POST .../alignments`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlignOptions {
    /// `false` stores empty spacer lists (participants are used unaligned).
    pub auto_align: bool,
    /// Resize every experiment's first and last layer to the aligned layout.
    pub auto_fix: bool,
}

impl Default for AlignOptions {
    fn default() -> Self {
        Self {
            auto_align: true,
            auto_fix: true,
        }
    }
}

/// A checked alignment request.
#[derive(Debug)]
pub struct AlignPlan {
    project: Key,
    action: String,
    participants: Vec<ParticipantTags>,
    options: AlignOptions,
}

pub async fn plan(
    state: &AppState,
    scope: &Key,
    options: AlignOptions,
) -> Result<AlignPlan, ApiError> {
    let db = state.db();
    let (project, action) = plan::project(db, scope).await?;
    let participants = plan::participants(db, &project.key).await?;
    Ok(AlignPlan {
        project: project.key,
        action,
        participants,
        options,
    })
}

/// The Alignment fields of one participant: `{meta: {X: [...], y: [...]}}`
/// for every meta it has data for.
pub fn alignment_fields(
    alignment: &pb::ParticipantAlignment,
    auto_align: bool,
) -> Map<String, Value> {
    let sorted: BTreeMap<&String, &pb::Spacers> = alignment.metas.iter().collect();
    sorted
        .into_iter()
        .map(|(meta, spacers)| {
            let (x, y) = if auto_align {
                (spacers.x.clone(), spacers.y.clone())
            } else {
                (Vec::new(), Vec::new())
            };
            (meta.clone(), json!({ "X": x, "y": y }))
        })
        .collect()
}

/// The output size Synergos derives from the aligned labels: 1 for
/// regression and binary classification, else one per class.
pub fn output_size(action: &str, y_headers: usize) -> usize {
    if action == "regress" || y_headers <= 2 {
        1
    } else {
        y_headers
    }
}

pub async fn execute(mut ctx: JobContext, plan: AlignPlan) -> Result<Value, ApiError> {
    let names: Vec<&str> = plan
        .participants
        .iter()
        .map(|p| p.participant_id.as_str())
        .collect();
    let message = format!("aligning the features of {}", names.join(", "));
    ctx.update(|p| {
        p.combinations = 0;
        p.message = message;
    })
    .await?;
    let request = pb::AlignRequest {
        action: plan.action.clone(),
        participants: plan.participants.iter().map(Into::into).collect(),
        connect_timeout_s: 0,
    };
    let response = ctx.state().data_plane().align(request).await?;
    let layout = response.layout.unwrap_or_default();
    if layout.x_headers.is_empty() {
        return Err(ApiError::conflict(
            "the alignment produced no feature columns; check the participants' train tags",
        ));
    }
    let mut entries = Vec::new();
    for alignment in &response.participants {
        if !names.contains(&alignment.participant_id.as_str()) {
            tracing::warn!(participant = %alignment.participant_id, "data plane aligned an unknown participant; ignored");
            continue;
        }
        let key = plan
            .project
            .clone()
            .with(Field::Participant, alignment.participant_id.clone());
        entries.push((key, alignment_fields(alignment, plan.options.auto_align)));
    }
    let done = entries.len() as u32;
    let stored = ctx
        .state()
        .db()
        .upsert_records(Kind::Alignment, entries)
        .await?;
    ctx.update(|p| {
        p.participants_done = done;
        p.message = format!(
            "aligned {} feature column(s) and {} label column(s)",
            layout.x_headers.len(),
            layout.y_headers.len()
        );
    })
    .await?;
    if plan.options.auto_fix {
        auto_fix_experiments(&mut ctx, &plan, &layout).await?;
    }
    Ok(Value::Array(stored.iter().map(|r| r.to_json()).collect()))
}

async fn auto_fix_experiments(
    ctx: &mut JobContext,
    plan: &AlignPlan,
    layout: &pb::FeatureLayout,
) -> Result<(), ApiError> {
    let in_features = layout.x_headers.len();
    let out_features = output_size(&plan.action, layout.y_headers.len());
    let db = ctx.state().db().clone();
    for experiment in db
        .list_plain_records(Kind::Experiment, plan.project.clone())
        .await?
    {
        let expt_id = experiment.key.expt_id.clone();
        let Some(model) = experiment.fields.get("model") else {
            continue;
        };
        let fixed = learning::auto_fix_model(model, in_features, out_features).map_err(|e| {
            ApiError::invalid(format!(
                "cannot auto-fix the model of Experiment '{expt_id}': {e}"
            ))
        })?;
        let Some(fixed) = fixed else {
            continue;
        };
        let mut changes = Map::new();
        changes.insert("model".into(), fixed);
        records::update(&db, Kind::Experiment, experiment.key.clone(), changes).await?;
        ctx.update(|p| {
            p.message = format!(
                "resized Experiment '{expt_id}' to {in_features} input(s) and {out_features} output(s)"
            )
        })
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_size_follows_synergos() {
        assert_eq!(output_size("classify", 2), 1);
        assert_eq!(output_size("classify", 1), 1);
        assert_eq!(output_size("classify", 5), 5);
        assert_eq!(output_size("regress", 5), 1);
    }

    #[test]
    fn alignment_fields_hold_spacers_per_meta() {
        let mut alignment = pb::ParticipantAlignment {
            participant_id: "p1".into(),
            ..Default::default()
        };
        alignment.metas.insert(
            "train".into(),
            pb::Spacers {
                x: vec![10, 11],
                y: vec![],
                rows: 5,
            },
        );
        let fields = alignment_fields(&alignment, true);
        assert_eq!(
            Value::Object(fields),
            json!({"train": {"X": [10, 11], "y": []}})
        );
        let unaligned = alignment_fields(&alignment, false);
        assert_eq!(
            Value::Object(unaligned),
            json!({"train": {"X": [], "y": []}})
        );
    }
}
