//! Turning a `StartRunRequest` into a validated run: safe ids, a parsed model,
//! typed hyper-parameters, and the folder its outputs go to.

use std::path::{Path, PathBuf};

use ttp_learning::hyper::{Action, TrainingPlan};
use ttp_learning::spec::ModelSpec;
use ttp_proto::v1::{FeatureLayout, ParticipantData, RunKind, Scope, StartRunRequest};

use crate::error::RunError;
use crate::layout::output_width;
use crate::websocket::validate_participant_id;

/// Upper bound on rounds in one run.
const MAX_ROUNDS: u32 = 10_000;

/// Longest id accepted in a scope.
const MAX_ID: usize = 128;

/// A run request that passed every check.
#[derive(Debug, Clone)]
pub struct RunPlan {
    pub job_id: String,
    pub scope: Scope,
    pub kind: RunKind,
    pub action: Action,
    pub action_name: String,
    pub model_json: String,
    pub spec: ModelSpec,
    pub plan: Option<TrainingPlan>,
    pub wire_plan: ttp_proto::v1::TrainingPlan,
    pub rounds: u32,
    pub participants: Vec<ParticipantData>,
    pub evaluate_participants: Vec<String>,
    pub meta: String,
    pub connect_timeout_s: u32,
}

impl TryFrom<StartRunRequest> for RunPlan {
    type Error = RunError;

    fn try_from(request: StartRunRequest) -> Result<Self, RunError> {
        let invalid = |m: String| RunError::InvalidArgument(m);
        let job_id = request.job_id;
        check_id("job_id", &job_id)?;
        let scope = request
            .scope
            .ok_or_else(|| invalid("scope is required".into()))?;
        for (field, value) in [
            ("collab_id", &scope.collab_id),
            ("project_id", &scope.project_id),
            ("expt_id", &scope.expt_id),
            ("run_id", &scope.run_id),
        ] {
            check_id(field, value)?;
        }
        let kind = RunKind::try_from(request.kind).unwrap_or(RunKind::Unspecified);
        if kind == RunKind::Unspecified {
            return Err(invalid("kind must be TRAIN or EVALUATE".into()));
        }
        let action = Action::parse(&request.action).map_err(|e| invalid(e.to_string()))?;
        let model: serde_json::Value = serde_json::from_str(&request.model_json)
            .map_err(|e| invalid(format!("model is not valid JSON: {e}")))?;
        let spec = ModelSpec::from_json(&model).map_err(|e| invalid(e.to_string()))?;
        let wire_plan = request.plan.unwrap_or_default();
        let plan = match kind {
            RunKind::Train => Some(
                TrainingPlan::try_from(wire_plan.clone()).map_err(|e| invalid(e.to_string()))?,
            ),
            _ => None,
        };
        if kind == RunKind::Train && !(1..=MAX_ROUNDS).contains(&request.rounds) {
            return Err(invalid(format!(
                "rounds must be between 1 and {MAX_ROUNDS}"
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for participant in &request.participants {
            validate_participant_id(&participant.participant_id).map_err(invalid)?;
            if !seen.insert(participant.participant_id.as_str()) {
                return Err(invalid(format!(
                    "participant `{}` is listed twice",
                    participant.participant_id
                )));
            }
        }
        for id in &request.evaluate_participants {
            if !seen.contains(id.as_str()) {
                return Err(invalid(format!(
                    "participant `{id}` is not registered in this project"
                )));
            }
        }
        let meta = if kind == RunKind::Evaluate {
            match request.meta.as_str() {
                "" | "evaluate" => "evaluate".to_owned(),
                "predict" => "predict".to_owned(),
                other => {
                    return Err(invalid(format!(
                        "meta `{other}` must be evaluate or predict"
                    )));
                }
            }
        } else {
            "train".to_owned()
        };
        Ok(Self {
            job_id,
            scope,
            kind,
            action,
            action_name: request.action,
            model_json: request.model_json,
            spec,
            plan,
            wire_plan,
            rounds: request.rounds,
            participants: request.participants,
            evaluate_participants: request.evaluate_participants,
            meta,
            connect_timeout_s: request.connect_timeout_s,
        })
    }
}

impl RunPlan {
    /// `<outputs>/<collab>/<project>/<expt>/<run>`, relative to the outputs dir.
    pub fn relative_dir(&self) -> PathBuf {
        Path::new(&self.scope.collab_id)
            .join(&self.scope.project_id)
            .join(&self.scope.expt_id)
            .join(&self.scope.run_id)
    }

    /// The datasets `participant` declared (empty if it is not in the run).
    pub fn tags_of(
        &self,
        participant: &str,
    ) -> std::collections::HashMap<String, ttp_proto::v1::TagList> {
        self.participants
            .iter()
            .find(|p| p.participant_id == participant)
            .map(|p| p.tags.clone())
            .unwrap_or_default()
    }

    /// Checks that the model's ends fit the aligned data, so a stale experiment
    /// fails with advice instead of a libtorch shape error on every worker.
    pub fn check_model_fits(&self, layout: &FeatureLayout) -> Result<(), RunError> {
        let features = layout.x_headers.len();
        let outputs = output_width(layout);
        let size = |layer: &ttp_learning::spec::LayerSpec, key: &str| {
            (layer.l_type == "Linear")
                .then(|| layer.structure.get(key).and_then(serde_json::Value::as_u64))
                .flatten()
        };
        let advice =
            "align again with auto_fix (POST .../alignments) or fix the experiment's model";
        if let Some(first) = self
            .spec
            .layers
            .first()
            .and_then(|l| size(l, "in_features"))
            && first as usize != features
        {
            return Err(RunError::InvalidArgument(format!(
                "the model's first layer takes {first} inputs but the aligned data has {features} features; {advice}"
            )));
        }
        if let Some(last) = self
            .spec
            .layers
            .last()
            .and_then(|l| size(l, "out_features"))
            && self.action == Action::Classify
            && last as usize != outputs
        {
            return Err(RunError::InvalidArgument(format!(
                "the model's last layer has {last} outputs but the data needs {outputs}; {advice}"
            )));
        }
        Ok(())
    }
}

/// Ids become folder names: plain characters only, no traversal.
fn check_id(field: &str, value: &str) -> Result<(), RunError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_ID
        && !value.starts_with('.')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(RunError::InvalidArgument(format!(
            "{field} `{value}` must be 1 to {MAX_ID} letters, digits, `_`, `-` or `.` and not start with `.`"
        )))
    }
}
