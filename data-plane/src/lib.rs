//! The data plane: accepts worker websocket sessions (port 8020), runs the
//! rounds of training and evaluation runs the control plane starts over gRPC
//! (port 50051), and aggregates local weights with libtorch.

pub mod config;
pub mod error;
pub mod evaluation;
pub mod exchange;
pub mod grpc;
pub mod layout;
pub mod outputs;
pub mod plan;
pub mod poll;
pub mod registry;
pub mod runner;
pub mod training;
pub mod websocket;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use ttp_proto::v1::data_plane_server::DataPlaneServer;

pub use config::Config;

/// Largest gRPC message accepted or sent (run events and requests are small;
/// weights never travel over gRPC).
const MAX_GRPC_MESSAGE: usize = 16 * 1024 * 1024;

/// Serves both listeners until `shutdown` resolves, then closes worker
/// sessions and returns.
pub async fn run(
    config: Config,
    ws_listener: TcpListener,
    grpc_listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.outputs_dir)?;
    let registry = Arc::new(registry::Registry::default());
    let ctx = runner::RunContext::new(
        registry.clone(),
        config.outputs_dir.clone(),
        config.connect_timeout(),
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };

    let ws = tokio::spawn(websocket::serve(ws_listener, registry.clone(), stopped()));
    let service = DataPlaneServer::new(grpc::DataPlaneService::new(ctx))
        .max_decoding_message_size(MAX_GRPC_MESSAGE)
        .max_encoding_message_size(MAX_GRPC_MESSAGE);
    let grpc = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(grpc_listener),
                stopped(),
            ),
    );

    shutdown.await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for session in registry.all() {
        registry.remove(&session);
    }
    let _ = ws.await;
    // Open run streams keep the gRPC server draining; give them a moment.
    match tokio::time::timeout(std::time::Duration::from_secs(5), grpc).await {
        Ok(joined) => joined??,
        Err(_) => tracing::warn!("grpc server did not drain within 5 s"),
    }
    Ok(())
}
