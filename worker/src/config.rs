//! Command-line and environment configuration of `ttp-worker`.

use std::path::PathBuf;

/// A participant's worker: dials the data plane and trains on local data.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "ttp-worker", version, about)]
pub struct Config {
    /// The data plane's worker endpoint.
    #[arg(long, env = "TTP_SERVER", default_value = "ws://127.0.0.1:8020")]
    pub server: String,
    /// This participant's id, as registered in the control plane.
    #[arg(long, env = "TTP_PARTICIPANT")]
    pub participant: String,
    /// Root of the participant's datasets; tags are paths below it.
    #[arg(long, env = "TTP_DATA_DIR")]
    pub data_dir: PathBuf,
    /// Longest wait between reconnection attempts, in seconds.
    #[arg(long, env = "TTP_MAX_BACKOFF_S", default_value_t = 10)]
    pub max_backoff_s: u64,
}

impl Config {
    /// Checks what can be checked before dialing.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.server.starts_with("ws://") || self.server.starts_with("wss://")) {
            return Err(format!(
                "--server `{}` must be a ws:// or wss:// URL",
                self.server
            ));
        }
        if self.participant.is_empty() {
            return Err("--participant must not be empty".into());
        }
        if !self.data_dir.is_dir() {
            return Err(format!(
                "--data-dir {} is not a directory",
                self.data_dir.display()
            ));
        }
        Ok(())
    }
}
