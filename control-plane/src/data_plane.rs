//! The control plane's view of the data plane: a small trait (the one place
//! tests substitute a fake) and its tonic implementation.

use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use futures_util::{FutureExt, StreamExt, TryFutureExt};
use tonic::transport::{Channel, Endpoint};
use ttp_proto::v1 as pb;
use ttp_proto::v1::data_plane_client::DataPlaneClient;

use crate::error::{ApiError, Code};

/// The events of one run, ending with `RunCompleted` or `RunFailed`. Dropping
/// the stream cancels the run.
pub type RunStream = BoxStream<'static, Result<pb::RunEvent, ApiError>>;

/// What the control plane asks of the data plane.
pub trait DataPlane: Send + Sync + 'static {
    /// Polls every participant's data and computes the feature alignment.
    fn align(
        &self,
        request: pb::AlignRequest,
    ) -> BoxFuture<'static, Result<pb::AlignResponse, ApiError>>;

    /// Starts a training or evaluation run and streams its events.
    fn start_run(
        &self,
        request: pb::StartRunRequest,
    ) -> BoxFuture<'static, Result<RunStream, ApiError>>;
}

/// Largest gRPC message accepted from the data plane.
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// The data plane reached over gRPC; the channel connects lazily, so the
/// control plane starts (and serves CRUD) while the data plane is down.
#[derive(Clone)]
pub struct GrpcDataPlane {
    url: String,
    client: DataPlaneClient<Channel>,
}

impl std::fmt::Debug for GrpcDataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcDataPlane")
            .field("url", &self.url)
            .finish()
    }
}

/// The data-plane URL is not a usable endpoint.
#[derive(Debug, thiserror::Error)]
#[error("invalid data-plane url `{url}`: {reason}")]
pub struct InvalidUrl {
    pub url: String,
    pub reason: String,
}

/// Checks a data-plane URL without connecting: `http(s)://HOST:PORT`.
pub fn check_url(url: &str) -> Result<Endpoint, InvalidUrl> {
    let invalid = |reason: String| InvalidUrl {
        url: url.to_owned(),
        reason,
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(invalid("expected http://HOST:PORT".into()));
    }
    Endpoint::from_shared(url.to_owned()).map_err(|e| invalid(e.to_string()))
}

impl GrpcDataPlane {
    /// A client for `url`; must be called within a tokio runtime.
    pub fn new(url: &str) -> Result<Self, InvalidUrl> {
        let endpoint = check_url(url)?
            .connect_timeout(Duration::from_secs(5))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true);
        let client = DataPlaneClient::new(endpoint.connect_lazy())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Self {
            url: url.to_owned(),
            client,
        })
    }
}

/// Maps a status from the data plane to our error: a transport failure is
/// "unreachable", anything else keeps the data plane's message.
fn from_status(url: &str, status: tonic::Status) -> ApiError {
    let code = Code::from_grpc(status.code());
    let transport_failure =
        status.code() == tonic::Code::Unavailable && std::error::Error::source(&status).is_some();
    if transport_failure {
        tracing::info!(data_plane = url, error = %status, "data plane unreachable");
        return ApiError::unavailable(format!("data plane at {url} is unreachable"));
    }
    if code == Code::Internal {
        return ApiError::internal(format!("data plane at {url}: {status}"));
    }
    ApiError::new(code, status.message().to_owned())
}

impl DataPlane for GrpcDataPlane {
    fn align(
        &self,
        request: pb::AlignRequest,
    ) -> BoxFuture<'static, Result<pb::AlignResponse, ApiError>> {
        let mut client = self.client.clone();
        let url = self.url.clone();
        async move { client.align(request).await }
            .map_ok(tonic::Response::into_inner)
            .map_err(move |status| from_status(&url, status))
            .boxed()
    }

    fn start_run(
        &self,
        request: pb::StartRunRequest,
    ) -> BoxFuture<'static, Result<RunStream, ApiError>> {
        let mut client = self.client.clone();
        let url = self.url.clone();
        async move {
            let stream = client
                .start_run(request)
                .await
                .map_err(|status| from_status(&url, status))?
                .into_inner();
            Ok(stream
                .map(move |event| event.map_err(|status| from_status(&url, status)))
                .boxed())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http() {
        assert!(check_url("127.0.0.1:50051").is_err());
        assert!(check_url("http://127.0.0.1:50051").is_ok());
    }

    #[tokio::test]
    async fn a_missing_data_plane_is_unavailable() {
        // Bind then drop a listener so the port is (very likely) closed.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}");
        let data_plane = GrpcDataPlane::new(&url).unwrap();
        let error = data_plane
            .align(pb::AlignRequest::default())
            .await
            .unwrap_err();
        assert_eq!(error.code(), Code::Unavailable);
        assert_eq!(
            error.public_message(),
            format!("data plane at {url} is unreachable")
        );
    }
}
