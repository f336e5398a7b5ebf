//! The control plane's use of `ttp-learning` (built without libtorch): model
//! spec validation and auto-fix, and the run hyper-parameters. Kept in one
//! place so the rest of the crate speaks plain JSON and wire types.

use serde_json::{Map, Value};
use ttp_learning::hyper::Hyperparameters;
use ttp_learning::spec::ModelSpec;
use ttp_proto::v1 as pb;

/// Validates an Experiment's `model` layer list; the error names the problem.
pub fn check_model(model: &Value) -> Result<(), String> {
    ModelSpec::from_json(model)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The Synergos auto-fix: the first layer's input and the last layer's
/// output width. Returns the new model JSON when anything changed.
pub fn auto_fix_model(
    model: &Value,
    in_features: usize,
    out_features: usize,
) -> Result<Option<Value>, String> {
    let mut spec = ModelSpec::from_json(model).map_err(|e| e.to_string())?;
    Ok(spec
        .auto_fix(in_features, out_features)
        .then(|| spec.to_json()))
}

/// What a Run's hyper-parameters mean for the data plane.
#[derive(Debug, Clone)]
pub struct RunSettings {
    pub plan: pb::TrainingPlan,
    pub rounds: u32,
}

/// Reads and checks a Run's free-form hyper-parameters.
pub fn run_settings(fields: &Map<String, Value>) -> Result<RunSettings, String> {
    let hyper = Hyperparameters::from_run(fields).map_err(|e| e.to_string())?;
    Ok(RunSettings {
        plan: pb::TrainingPlan::from(&hyper.plan),
        rounds: hyper.rounds,
    })
}
