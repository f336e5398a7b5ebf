//! The worker's side of the websocket: dialing with backoff, the hello, and
//! heartbeats. A lost connection is redialed until shutdown; a refusal (wrong
//! protocol, bad id) ends the worker with the server's reason.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use ttp_proto::v1::{
    Heartbeat, Hello, ServerMessage, WorkerMessage, server_message, worker_message,
};
use ttp_proto::{MAX_FRAME_BYTES, PROTOCOL_VERSION};

use crate::config::Config;
use crate::tasks::TaskRunner;

/// First wait before redialing; doubles up to the configured maximum.
const INITIAL_BACKOFF: Duration = Duration::from_millis(250);

/// Missing this many heartbeat acks in a row means the server is gone.
const MISSED_ACKS: u32 = 4;

/// Why the worker stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("the data plane refused this worker: {0}")]
    Refused(String),
}

/// Why one connection ended (the worker then redials).
#[derive(Debug, thiserror::Error)]
enum SessionEnd {
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("undecodable frame: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("the data plane closed the connection")]
    Closed,
    #[error("no heartbeat ack from the data plane")]
    Silent,
    #[error("refused: {0}")]
    Refused(String),
}

/// Dials, serves and redials until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), WorkerError> {
    let runner = Arc::new(TaskRunner::new(config.data_dir.clone()));
    let max_backoff = Duration::from_secs(config.max_backoff_s.max(1));
    let mut backoff = INITIAL_BACKOFF;
    tokio::pin!(shutdown);
    loop {
        let attempt = async {
            match connect(&config).await {
                Ok(ws) => {
                    backoff = INITIAL_BACKOFF;
                    serve(ws, &config, runner.clone()).await
                }
                Err(error) => Err(error),
            }
        };
        let ended = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            ended = attempt => ended,
        };
        match ended {
            Err(SessionEnd::Refused(reason)) => return Err(WorkerError::Refused(reason)),
            Err(error) => {
                tracing::info!(%error, retry_in = ?backoff, "not connected to the data plane")
            }
            Ok(()) => tracing::info!(retry_in = ?backoff, "connection ended"),
        }
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep(jitter(backoff)) => {}
        }
        backoff = (backoff * 2).min(max_backoff);
    }
}

fn jitter(base: Duration) -> Duration {
    base.mul_f64(rand::random_range(0.75..1.25))
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(config: &Config) -> Result<Ws, SessionEnd> {
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES));
    let (ws, _) =
        tokio_tungstenite::connect_async_with_config(config.server.as_str(), Some(ws_config), true)
            .await?;
    Ok(ws)
}

async fn serve(ws: Ws, config: &Config, runner: Arc<TaskRunner>) -> Result<(), SessionEnd> {
    let (mut sink, mut stream) = ws.split();
    let hello = WorkerMessage {
        body: Some(worker_message::Body::Hello(Hello {
            participant_id: config.participant.clone(),
            protocol_version: PROTOCOL_VERSION,
            worker_version: env!("CARGO_PKG_VERSION").to_owned(),
        })),
    };
    sink.send(Message::binary(hello.encode_to_vec())).await?;
    let welcome = match next_message(&mut stream).await?.body {
        Some(server_message::Body::Welcome(welcome)) => welcome,
        Some(server_message::Body::Rejected(rejected)) => {
            return Err(SessionEnd::Refused(rejected.reason));
        }
        _ => {
            return Err(SessionEnd::Refused(
                "the server did not welcome the worker".into(),
            ));
        }
    };
    tracing::info!(server = %config.server, participant = %config.participant, "connected to the data plane");

    let (out_tx, mut out_rx) = mpsc::channel::<WorkerMessage>(4);
    let writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            if sink
                .send(Message::binary(message.encode_to_vec()))
                .await
                .is_err()
            {
                break;
            }
        }
        let _ = sink.close().await;
    });

    let interval = Duration::from_millis(u64::from(welcome.heartbeat_interval_ms.max(100)));
    let mut ticker = tokio::time::interval(interval);
    let mut sequence = 0u64;
    let mut last_acked = 0u64;
    let result = loop {
        tokio::select! {
            _ = ticker.tick() => {
                if sequence.saturating_sub(last_acked) > u64::from(MISSED_ACKS) {
                    break Err(SessionEnd::Silent);
                }
                sequence += 1;
                let beat = WorkerMessage { body: Some(worker_message::Body::Heartbeat(Heartbeat { sequence })) };
                if out_tx.send(beat).await.is_err() {
                    break Err(SessionEnd::Closed);
                }
            }
            message = next_message(&mut stream) => match message {
                Ok(message) => {
                    if let Some(server_message::Body::HeartbeatAck(ack)) = &message.body {
                        last_acked = last_acked.max(ack.sequence);
                        continue;
                    }
                    runner.handle(message, &out_tx).await;
                }
                Err(error) => break Err(error),
            },
        }
    };
    runner.cancel_all();
    drop(out_tx);
    let _ = writer.await;
    result
}

async fn next_message(
    stream: &mut (
             impl futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
             + Unpin
         ),
) -> Result<ServerMessage, SessionEnd> {
    loop {
        match stream.next().await {
            None | Some(Ok(Message::Close(_))) => return Err(SessionEnd::Closed),
            Some(Err(error)) => return Err(error.into()),
            Some(Ok(Message::Binary(bytes))) => return Ok(ServerMessage::decode(bytes)?),
            Some(Ok(_)) => continue,
        }
    }
}
