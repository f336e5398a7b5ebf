//! The `DataPlane` gRPC service the control plane calls.

use std::collections::BTreeMap;
use std::pin::Pin;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use ttp_proto::v1::data_plane_server::DataPlane;
use ttp_proto::v1::{
    AlignRequest, AlignResponse, CancelRunRequest, CancelRunResponse, ConnectedWorker,
    ListWorkersRequest, ListWorkersResponse, ParticipantAlignment, RunEvent, Spacers,
    StartRunRequest,
};

use crate::layout::spacers;
use crate::plan::RunPlan;
use crate::poll::poll_participants;
use crate::runner::{Emitter, RunContext, execute};

/// Events buffered per run stream before the run waits for the consumer.
const EVENT_BUFFER: usize = 64;

#[derive(Debug, Clone)]
pub struct DataPlaneService {
    ctx: RunContext,
}

impl DataPlaneService {
    pub fn new(ctx: RunContext) -> Self {
        Self { ctx }
    }
}

type EventStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<RunEvent, Status>> + Send>>;

#[tonic::async_trait]
impl DataPlane for DataPlaneService {
    async fn list_workers(
        &self,
        _request: Request<ListWorkersRequest>,
    ) -> Result<Response<ListWorkersResponse>, Status> {
        let workers = self
            .ctx
            .registry
            .all()
            .into_iter()
            .map(|s| ConnectedWorker {
                participant_id: s.participant_id.clone(),
                worker_version: s.worker_version.clone(),
                connected_for_s: s.connected_at.elapsed().as_secs(),
            })
            .collect();
        Ok(Response::new(ListWorkersResponse { workers }))
    }

    async fn align(
        &self,
        request: Request<AlignRequest>,
    ) -> Result<Response<AlignResponse>, Status> {
        let request = request.into_inner();
        ttp_learning::hyper::Action::parse(&request.action)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        let polling = poll_participants(
            &self.ctx.registry,
            &request.participants,
            &request.action,
            self.ctx.connect_timeout_for(request.connect_timeout_s),
            |_| {},
        )
        .await
        .map_err(|e| e.to_status())?;
        let participants = polling
            .polled
            .iter()
            .map(|(participant, metas)| ParticipantAlignment {
                participant_id: participant.clone(),
                metas: metas
                    .iter()
                    .map(|(meta, summary)| {
                        let gaps = Spacers {
                            x: spacers(&polling.layout.x_headers, &summary.x_headers),
                            y: spacers(&polling.layout.y_headers, &summary.y_headers),
                            rows: summary.rows,
                        };
                        (meta.clone(), gaps)
                    })
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .collect(),
            })
            .collect();
        Ok(Response::new(AlignResponse {
            layout: Some(polling.layout),
            participants,
        }))
    }

    type StartRunStream = EventStream;

    async fn start_run(
        &self,
        request: Request<StartRunRequest>,
    ) -> Result<Response<Self::StartRunStream>, Status> {
        let run = RunPlan::try_from(request.into_inner()).map_err(|e| e.to_status())?;
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        tracing::info!(job_id = %run.job_id, kind = ?run.kind, "run started");
        tokio::spawn(execute(self.ctx.clone(), run, Emitter::new(tx)));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn cancel_run(
        &self,
        request: Request<CancelRunRequest>,
    ) -> Result<Response<CancelRunResponse>, Status> {
        let cancelled = self.ctx.cancel(&request.into_inner().job_id);
        Ok(Response::new(CancelRunResponse { cancelled }))
    }
}
