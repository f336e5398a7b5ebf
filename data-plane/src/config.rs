//! Command-line and environment configuration of `ttp-data`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The data plane: worker sessions, rounds and aggregation.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "ttp-data", version, about)]
pub struct Config {
    /// Where workers connect (websocket).
    #[arg(long, env = "TTP_WS_ADDR", default_value = "0.0.0.0:8020")]
    pub ws_addr: SocketAddr,
    /// Where the control plane connects (gRPC).
    #[arg(long, env = "TTP_GRPC_ADDR", default_value = "0.0.0.0:50051")]
    pub grpc_addr: SocketAddr,
    /// Global models and loss histories are written here.
    #[arg(long, env = "TTP_OUTPUTS_DIR", default_value = "./outputs")]
    pub outputs_dir: PathBuf,
    /// How long a run waits for registered workers that are not connected.
    #[arg(long, env = "TTP_CONNECT_TIMEOUT_S", default_value_t = 120)]
    pub connect_timeout_s: u64,
}

impl Config {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_s)
    }
}
