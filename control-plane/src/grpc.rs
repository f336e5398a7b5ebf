//! The control plane's gRPC endpoint. For now it serves the standard gRPC
//! health service, reporting SERVING while the process runs.

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

/// Serves gRPC on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    tonic::transport::Server::builder()
        .add_service(health)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
