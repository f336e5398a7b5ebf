//! The control plane of the TTP: the Synergos REST surface over a SQLite or
//! PostgreSQL store, jobs that drive the data plane over gRPC (alignment,
//! training, validation), and the public gRPC API with health and reflection.
//!
//! `main.rs` parses [`Config`], installs logging, binds the listeners and
//! calls [`run`]; tests bind port 0 and pass their own shutdown future, or
//! drive [`rest::router`] directly with a fake [`data_plane::DataPlane`].

pub mod config;
pub mod data_plane;
pub mod db;
pub mod envelope;
pub mod error;
pub mod grpc;
pub mod jobs;
mod learning;
pub mod openapi;
pub mod record;
pub mod records;
pub mod rest;
pub mod state;
pub mod validate;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use config::Config;
pub use error::{ApiError, Code};
pub use state::AppState;

/// How long a shutdown waits for running jobs to be recorded as failed.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(10);

/// Opens the database (failing jobs a previous process left unfinished),
/// connects the data-plane client lazily and serves until `shutdown`.
pub async fn run(
    config: Config,
    rest_listener: TcpListener,
    grpc_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    config.validate()?;
    config.prepare_dirs()?;
    let db = db::Db::open(&config.database_url()).await?;
    let interrupted = db
        .fail_unfinished_jobs(jobs::RESTARTED)
        .await
        .map_err(|e| anyhow::anyhow!("cannot recover unfinished jobs: {e:?}"))?;
    if interrupted > 0 {
        tracing::warn!(
            jobs = interrupted,
            "marked jobs of a previous process as failed"
        );
    }
    let data_plane = data_plane::GrpcDataPlane::new(&config.data_plane)?;
    tracing::info!(data_plane = %config.data_plane, database = %db::redacted(&config.database_url()), "control plane configured");
    let state = AppState::new(db, Arc::new(data_plane));
    serve(state, rest_listener, grpc_listener, shutdown).await
}

/// Serves REST and gRPC for `state` until `shutdown`, then stops accepting,
/// lets open requests finish, and fails the jobs still running.
pub async fn serve(
    state: AppState,
    rest_listener: TcpListener,
    grpc_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let rest_addr = rest_listener.local_addr()?;
    let grpc_addr = grpc_listener.local_addr()?;
    {
        let state = state.clone();
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutting down");
            state.begin_shutdown();
        });
    }
    let rest = {
        let state = state.clone();
        async move {
            let served = axum::serve(rest_listener, rest::router(state.clone()))
                .with_graceful_shutdown(state.shutdown_signal())
                .await;
            // One server failing takes the other down with it.
            state.begin_shutdown();
            served.map_err(anyhow::Error::from)
        }
    };
    let grpc = {
        let state = state.clone();
        async move {
            let served = grpc::serve(state.clone(), grpc_listener, state.shutdown_signal()).await;
            state.begin_shutdown();
            served.map_err(anyhow::Error::from)
        }
    };
    println!("ttp-control listening rest={rest_addr} grpc={grpc_addr}");
    tracing::info!(%rest_addr, %grpc_addr, "listening");
    let (rest, grpc) = tokio::join!(rest, grpc);
    let aborted = state.jobs().abort_all();
    if aborted > 0 {
        let failed = tokio::time::timeout(
            SHUTDOWN_DEADLINE,
            state.db().fail_unfinished_jobs(jobs::SHUT_DOWN),
        )
        .await;
        match failed {
            Ok(Ok(count)) => tracing::info!(jobs = count, "cancelled running jobs"),
            Ok(Err(error)) => error.log_if_internal(),
            Err(_) => tracing::warn!("timed out recording cancelled jobs"),
        }
    }
    rest?;
    grpc?;
    Ok(())
}
