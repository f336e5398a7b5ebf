//! Command-line and environment configuration of `ttp-control`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The control plane of the TTP: the Synergos REST API (collaborations,
/// projects, experiments, runs, participants, registrations, tags,
/// alignments, models, validations) and job tracking, driving the data plane
/// over gRPC.
#[derive(Debug, Clone, clap::Parser)]
#[command(name = "ttp-control", version, about, long_about = None)]
pub struct Config {
    /// Address of the Synergos-compatible REST API.
    #[arg(long, env = "TTP_REST_ADDR", default_value = "0.0.0.0:5000")]
    pub rest_addr: SocketAddr,

    /// Address of the public gRPC API (`ttp.control.v1.Control`, health and
    /// reflection).
    #[arg(long, env = "TTP_GRPC_ADDR", default_value = "0.0.0.0:50052")]
    pub grpc_addr: SocketAddr,

    /// URL of the data plane's gRPC service. Connected lazily: the control
    /// plane starts and serves CRUD while the data plane is down.
    #[arg(long, env = "TTP_DATA_PLANE", default_value = "http://127.0.0.1:50051")]
    pub data_plane: String,

    /// Directory for the database (created if missing).
    #[arg(long, env = "TTP_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Directory for run outputs (created if missing).
    #[arg(long, env = "TTP_OUTPUTS_DIR", default_value = "./outputs")]
    pub outputs_dir: PathBuf,

    /// Directory for the MLflow file store (created if missing). MLflow
    /// logging itself is not implemented yet; nothing is written there.
    #[arg(long, env = "TTP_MLFLOW_DIR", default_value = "./mlflow")]
    pub mlflow_dir: PathBuf,

    /// Database URL: `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (or
    /// `postgresql://`) for PostgreSQL, the database already created; a file
    /// path or `sqlite://PATH` for SQLite. Migrations run at start-up.
    /// Default: `<data-dir>/ttp.sqlite3`.
    #[arg(long, env = "TTP_DATABASE_URL")]
    pub database_url: Option<String>,
}

/// A configuration that cannot work.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    DataPlane(#[from] crate::data_plane::InvalidUrl),
    #[error("cannot create {what} directory {path}: {source}")]
    Directory {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
}

impl Config {
    /// Every directory under `root`, addresses on loopback port 0: for tests.
    pub fn rooted_at(root: &Path) -> Config {
        Config {
            rest_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_plane: "http://127.0.0.1:50051".into(),
            data_dir: root.join("data"),
            outputs_dir: root.join("outputs"),
            mlflow_dir: root.join("mlflow"),
            database_url: None,
        }
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| self.data_dir.join("ttp.sqlite3").display().to_string())
    }

    /// Checks what can be checked before binding anything.
    pub fn validate(&self) -> Result<(), ConfigError> {
        crate::data_plane::check_url(&self.data_plane)?;
        Ok(())
    }

    /// Creates the data, outputs and MLflow directories.
    pub fn prepare_dirs(&self) -> Result<(), ConfigError> {
        for (what, path) in [
            ("data", &self.data_dir),
            ("outputs", &self.outputs_dir),
            ("mlflow", &self.mlflow_dir),
        ] {
            std::fs::create_dir_all(path).map_err(|source| ConfigError::Directory {
                what,
                path: path.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_work_out_of_the_box() {
        let config = Config::try_parse_from(["ttp-control"]).unwrap();
        assert_eq!(config.rest_addr.port(), 5000);
        assert_eq!(config.grpc_addr.port(), 50052);
        assert_eq!(config.data_plane, "http://127.0.0.1:50051");
        assert!(config.database_url().ends_with("ttp.sqlite3"));
        config.validate().unwrap();
    }

    #[test]
    fn a_bad_data_plane_url_is_refused() {
        let config =
            Config::try_parse_from(["ttp-control", "--data-plane", "localhost:50051"]).unwrap();
        assert!(config.validate().is_err());
    }
}
