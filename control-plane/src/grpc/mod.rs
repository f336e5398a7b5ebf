//! The control plane's public gRPC endpoint: the `ttp.control.v1.Control`
//! service (records, operations and their progress stream, see
//! `proto/ttp/v1/control.proto`), standard health checking and server
//! reflection (v1 and v1alpha), all on one listener.
//!
//! Handlers convert the wire request into a checked domain request
//! ([`convert`]), call the same operations as REST and answer errors through
//! the crate's one error type, so codes and messages match REST.

mod convert;
mod jobs;
mod records;

use std::pin::Pin;

use futures_util::Stream;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};
use ttp_proto::control::v1 as pb;
use ttp_proto::control::v1::control_server::{Control, ControlServer};

use crate::state::AppState;

pub use jobs::JOB_ID_METADATA;

/// Largest request accepted: the REST body limit.
pub const MAX_REQUEST_BYTES: usize = crate::rest::MAX_BODY_BYTES;
/// Largest answer sent (a list of records with their relations can be big).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Why the gRPC endpoint stopped or could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error(transparent)]
    Transport(#[from] tonic::transport::Error),
}

/// Serves gRPC for `state` on `listener` until `shutdown` resolves.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;
    reporter
        .set_serving::<ControlServer<ControlService>>()
        .await;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;
    let control = ControlServer::new(ControlService { state })
        .max_decoding_message_size(MAX_REQUEST_BYTES)
        .max_encoding_message_size(MAX_RESPONSE_BYTES);
    tonic::transport::Server::builder()
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(control)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await?;
    Ok(())
}

/// The `Control` service over the shared application state.
#[derive(Debug, Clone)]
pub struct ControlService {
    state: AppState,
}

type JobEvents = Pin<Box<dyn Stream<Item = Result<pb::JobEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Control for ControlService {
    async fn get_record(
        &self,
        request: Request<pb::GetRecordRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        Ok(Response::new(
            records::get(&self.state, request.into_inner()).await?,
        ))
    }

    async fn list_records(
        &self,
        request: Request<pb::ListRecordsRequest>,
    ) -> Result<Response<pb::ListRecordsResponse>, Status> {
        Ok(Response::new(
            records::list(&self.state, request.into_inner()).await?,
        ))
    }

    async fn upsert_record(
        &self,
        request: Request<pb::UpsertRecordRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        Ok(Response::new(
            records::upsert(&self.state, request.into_inner()).await?,
        ))
    }

    async fn update_record(
        &self,
        request: Request<pb::UpdateRecordRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        Ok(Response::new(
            records::update(&self.state, request.into_inner()).await?,
        ))
    }

    async fn delete_record(
        &self,
        request: Request<pb::DeleteRecordRequest>,
    ) -> Result<Response<pb::Record>, Status> {
        Ok(Response::new(
            records::delete(&self.state, request.into_inner()).await?,
        ))
    }

    async fn align(&self, request: Request<pb::AlignRequest>) -> Result<Response<pb::Job>, Status> {
        Ok(Response::new(
            jobs::align(&self.state, request.into_inner()).await?,
        ))
    }

    async fn train(&self, request: Request<pb::TrainRequest>) -> Result<Response<pb::Job>, Status> {
        Ok(Response::new(
            jobs::train(&self.state, request.into_inner()).await?,
        ))
    }

    async fn validate(
        &self,
        request: Request<pb::ValidateRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        Ok(Response::new(
            jobs::validate(&self.state, request.into_inner()).await?,
        ))
    }

    async fn predict(
        &self,
        request: Request<pb::PredictRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        Ok(Response::new(
            jobs::predict(&self.state, request.into_inner()).await?,
        ))
    }

    async fn get_job(
        &self,
        request: Request<pb::GetJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        Ok(Response::new(
            jobs::get_job(&self.state, request.into_inner()).await?,
        ))
    }

    type WatchRunStream = JobEvents;

    async fn watch_run(
        &self,
        request: Request<pb::WatchRunRequest>,
    ) -> Result<Response<JobEvents>, Status> {
        let events = jobs::watch_run(&self.state, request.into_inner()).await?;
        Ok(Response::new(Box::pin(events)))
    }
}
