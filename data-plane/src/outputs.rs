//! The data plane's files under `--outputs-dir`: the global model and loss
//! histories of each (collaboration, project, experiment, run). Written
//! atomically (temp file + rename) after every round, so a crash leaves the
//! last complete round on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::Tensor;

use crate::error::RunError;
use crate::training::blocking;

/// File name of the global model inside a run folder (Synergos name).
const GLOBAL_MODEL: &str = "global_model.pt";

pub fn global_model_path(relative_dir: &Path) -> PathBuf {
    relative_dir.join(GLOBAL_MODEL)
}

/// Saves the global weights and the loss histories of a run.
pub async fn save_global(
    outputs_dir: &Path,
    relative_dir: &Path,
    tensors: Vec<(String, Tensor)>,
    train_history: &BTreeMap<u32, f64>,
    local_history: &BTreeMap<String, BTreeMap<u32, f64>>,
) -> Result<(), RunError> {
    let dir = outputs_dir.join(relative_dir);
    let history = serde_json::json!({ "train": train_history });
    let locals = local_history.clone();
    blocking(move || -> Result<(), String> {
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let tmp = dir.join(format!("{GLOBAL_MODEL}.tmp"));
        ttp_learning::weights::save(&tmp, &tensors).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, dir.join(GLOBAL_MODEL)).map_err(|e| e.to_string())?;
        write_json(&dir.join("global_loss_history.json"), &history)?;
        for (participant, losses) in &locals {
            let path = dir.join(format!("local_loss_history_{participant}.json"));
            write_json(&path, &serde_json::json!(losses))?;
        }
        Ok(())
    })
    .await?
    .map_err(RunError::internal)
}

/// Loads the global model a training run saved.
pub async fn load_global(
    outputs_dir: &Path,
    relative_dir: &Path,
) -> Result<Vec<(String, Tensor)>, RunError> {
    let path = outputs_dir.join(global_model_path(relative_dir));
    if !path.is_file() {
        return Err(RunError::NotFound(format!(
            "no trained model at {}; train before evaluating",
            global_model_path(relative_dir).display()
        )));
    }
    blocking(move || ttp_learning::weights::load(&path))
        .await?
        .map_err(RunError::internal)
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), String> {
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(&tmp, text).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("renaming {}: {e}", tmp.display()))
}
