//! A sandbox for end-to-end tests: boots the data plane, workers and (when
//! asked) the control plane in-process on ephemeral ports, each with its own
//! shutdown, and tears everything down on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The shared datasets folder (`../shared/datasets` beside the checkout).
pub fn datasets_dir() -> PathBuf {
    match std::env::var_os("TTP_DATASETS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets"),
    }
}

/// A stop signal that many servers can wait on.
#[derive(Debug, Clone)]
pub struct Stop(watch::Sender<bool>);

impl Default for Stop {
    fn default() -> Self {
        Self(watch::channel(false).0)
    }
}

impl Stop {
    pub fn signal(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.0.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// A running data plane.
#[derive(Debug)]
pub struct DataPlane {
    pub ws: SocketAddr,
    pub grpc: SocketAddr,
    pub outputs: PathBuf,
    stop: Stop,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl DataPlane {
    /// Starts a data plane; `ws` picks the worker port (0 for any).
    pub async fn start(outputs: &Path, ws: SocketAddr) -> anyhow::Result<Self> {
        let ws_listener = TcpListener::bind(ws).await?;
        let grpc_listener = TcpListener::bind("127.0.0.1:0").await?;
        let (ws, grpc) = (ws_listener.local_addr()?, grpc_listener.local_addr()?);
        let config = ttp_data::Config::parse_from([
            "ttp-data",
            "--outputs-dir",
            &outputs.display().to_string(),
            "--connect-timeout-s",
            "60",
        ]);
        let stop = Stop::default();
        let handle = tokio::spawn(ttp_data::run(
            config,
            ws_listener,
            grpc_listener,
            stop.signal(),
        ));
        Ok(Self {
            ws,
            grpc,
            outputs: outputs.to_owned(),
            stop,
            handle,
        })
    }

    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.stop();
        self.handle.await?
    }
}

/// A running worker.
#[derive(Debug)]
pub struct Worker {
    stop: Stop,
    handle: JoinHandle<Result<(), ttp_worker::connection::WorkerError>>,
}

impl Worker {
    pub fn start(server: SocketAddr, participant: &str, data_dir: &Path) -> Self {
        let config = ttp_worker::Config::parse_from([
            "ttp-worker",
            "--server",
            &format!("ws://{server}"),
            "--participant",
            participant,
            "--data-dir",
            &data_dir.display().to_string(),
            "--max-backoff-s",
            "1",
        ]);
        let stop = Stop::default();
        let handle = tokio::spawn(ttp_worker::run(config, stop.signal()));
        Self { stop, handle }
    }

    pub async fn shutdown(self) {
        self.stop.stop();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.handle).await;
    }
}

/// A free local port (bound then released), for servers started later.
pub async fn free_addr() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    Ok(listener.local_addr()?)
}

/// A running control plane.
#[derive(Debug)]
pub struct ControlPlane {
    pub rest: SocketAddr,
    pub grpc: SocketAddr,
    stop: Stop,
    handle: JoinHandle<anyhow::Result<()>>,
}

impl ControlPlane {
    /// Starts a control plane with all its state under `root`.
    pub async fn start(root: &Path, data_plane_url: &str) -> anyhow::Result<Self> {
        let rest_listener = TcpListener::bind("127.0.0.1:0").await?;
        let grpc_listener = TcpListener::bind("127.0.0.1:0").await?;
        let (rest, grpc) = (rest_listener.local_addr()?, grpc_listener.local_addr()?);
        let mut config = ttp_control::Config::rooted_at(root);
        config.data_plane = data_plane_url.to_owned();
        let stop = Stop::default();
        let handle = tokio::spawn(ttp_control::run(
            config,
            rest_listener,
            grpc_listener,
            stop.signal(),
        ));
        Ok(Self {
            rest,
            grpc,
            stop,
            handle,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.rest)
    }

    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.stop();
        self.handle.await?
    }
}

/// Runs one `ttp` command line in-process against `url`.
pub async fn ttp(url: &str, args: &[&str]) -> Result<(), ttp_cli::client::ClientError> {
    let mut argv = vec!["ttp", "--url", url];
    argv.extend_from_slice(args);
    ttp_cli::commands::run(ttp_cli::Cli::parse_from(argv)).await
}
