//! `ttp-data`: parses the configuration, binds the listeners and runs the data plane.

use anyhow::Context;
use clap::Parser;
use ttp_data::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let config = Config::parse();
    let ws = tokio::net::TcpListener::bind(config.ws_addr)
        .await
        .with_context(|| format!("binding the worker websocket on {}", config.ws_addr))?;
    let grpc = tokio::net::TcpListener::bind(config.grpc_addr)
        .await
        .with_context(|| format!("binding gRPC on {}", config.grpc_addr))?;
    println!(
        "ttp-data listening ws={} grpc={}",
        ws.local_addr()?,
        grpc.local_addr()?
    );
    ttp_data::run(config, ws, grpc, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
