//! The websocket endpoint workers dial (port 8020): handshake, hello,
//! heartbeats, and the read/write loops that connect a socket to its
//! [`Session`]. Frames are protobuf `WorkerMessage`/`ServerMessage`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use prost::Message as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use ttp_proto::v1::{
    HeartbeatAck, Rejected, ServerMessage, Welcome, WorkerMessage, server_message, worker_message,
};
use ttp_proto::{MAX_FRAME_BYTES, PROTOCOL_VERSION};

use crate::registry::{Registry, Session};

/// How often workers are told to heartbeat.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// A session that sends nothing for this long is considered dead.
pub const LIVENESS_TIMEOUT: Duration = Duration::from_secs(20);

/// Time a new connection has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest participant id accepted.
const MAX_PARTICIPANT_ID: usize = 128;

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

/// Accepts worker connections until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    registry: Arc<Registry>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let registry = registry.clone();
                    tokio::spawn(async move {
                        if let Err(error) = handle_connection(stream, registry).await {
                            tracing::info!(%peer, %error, "worker connection ended");
                        }
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, "accepting a worker connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("no hello within {HELLO_TIMEOUT:?}")]
    HelloTimeout,
    #[error("hello refused: {0}")]
    Refused(String),
    #[error("undecodable frame: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("no frame for {LIVENESS_TIMEOUT:?}")]
    Silent,
    #[error("closed by the worker")]
    Closed,
}

async fn handle_connection(
    stream: TcpStream,
    registry: Arc<Registry>,
) -> Result<(), ConnectionError> {
    let _ = stream.set_nodelay(true);
    let ws = tokio_tungstenite::accept_async_with_config(stream, Some(ws_config())).await?;
    let (mut sink, mut stream) = ws.split();

    let hello = match tokio::time::timeout(HELLO_TIMEOUT, next_message(&mut stream)).await {
        Err(_) => return Err(ConnectionError::HelloTimeout),
        Ok(message) => message?,
    };
    let hello = match hello.body {
        Some(worker_message::Body::Hello(hello)) => hello,
        _ => return Err(refuse(&mut sink, "the first frame must be a hello").await),
    };
    if hello.protocol_version != PROTOCOL_VERSION {
        let reason = format!(
            "protocol version {} is not supported (this data plane speaks {PROTOCOL_VERSION})",
            hello.protocol_version
        );
        return Err(refuse(&mut sink, &reason).await);
    }
    if let Err(reason) = validate_participant_id(&hello.participant_id) {
        return Err(refuse(&mut sink, &reason).await);
    }

    let (outbox_tx, mut outbox_rx) = mpsc::channel::<ServerMessage>(4);
    let session = Arc::new(Session::new(
        hello.participant_id.clone(),
        hello.worker_version.clone(),
        NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed),
        outbox_tx,
    ));
    let welcome = ServerMessage {
        body: Some(server_message::Body::Welcome(Welcome {
            protocol_version: PROTOCOL_VERSION,
            heartbeat_interval_ms: HEARTBEAT_INTERVAL.as_millis() as u32,
            max_chunk_bytes: ttp_proto::DEFAULT_CHUNK_BYTES as u32,
        })),
    };
    sink.send(Message::binary(welcome.encode_to_vec())).await?;
    if registry.insert(session.clone()).is_some() {
        tracing::info!(participant = %session.participant_id, "worker reconnected; the older session was closed");
    }
    tracing::info!(participant = %session.participant_id, version = %hello.worker_version, "worker connected");

    let writer_session = session.clone();
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                message = outbox_rx.recv() => match message {
                    Some(message) => {
                        if sink.send(Message::binary(message.encode_to_vec())).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                _ = writer_session.closed() => break,
            }
        }
        let _ = sink.close().await;
    });

    let result = read_loop(&mut stream, &session).await;
    registry.remove(&session);
    writer.abort();
    tracing::info!(participant = %session.participant_id, "worker disconnected");
    result
}

async fn read_loop(
    stream: &mut (
             impl futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
             + Unpin
         ),
    session: &Session,
) -> Result<(), ConnectionError> {
    loop {
        let message = tokio::select! {
            message = tokio::time::timeout(LIVENESS_TIMEOUT, next_message(stream)) => match message {
                Err(_) => return Err(ConnectionError::Silent),
                Ok(message) => message?,
            },
            _ = session.closed() => return Ok(()),
        };
        dispatch(session, message).await;
    }
}

/// Hands a worker frame to whoever waits for it, dropping stale ones.
async fn dispatch(session: &Session, message: WorkerMessage) {
    use worker_message::Body;
    let Some(body) = &message.body else { return };
    let (run_id, round) = match body {
        Body::Heartbeat(beat) => {
            let ack = ServerMessage {
                body: Some(server_message::Body::HeartbeatAck(HeartbeatAck {
                    sequence: beat.sequence,
                })),
            };
            let _ = session.send(ack).await;
            return;
        }
        Body::Hello(_) => {
            tracing::warn!(participant = %session.participant_id, "repeated hello ignored");
            return;
        }
        Body::PollReply(reply) => (reply.request_id.clone(), 0),
        Body::TrainReply(m) => task_of(m.task.as_ref()),
        Body::EvaluateReply(m) => task_of(m.task.as_ref()),
        Body::WeightsBegin(m) => task_of(m.task.as_ref()),
        Body::WeightsChunk(m) => task_of(m.task.as_ref()),
        Body::TaskFailed(m) => task_of(m.task.as_ref()),
    };
    match session.route(&run_id, round) {
        Some(tx) => {
            // The run stopped listening: nothing to deliver to.
            let _ = tx.send(message).await;
        }
        None => tracing::warn!(
            participant = %session.participant_id,
            run_id = %run_id,
            round,
            "stale message rejected"
        ),
    }
}

fn task_of(task: Option<&ttp_proto::v1::TaskRef>) -> (String, u32) {
    task.map(|t| (t.run_id.clone(), t.round))
        .unwrap_or_default()
}

async fn next_message(
    stream: &mut (
             impl futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
             + Unpin
         ),
) -> Result<WorkerMessage, ConnectionError> {
    loop {
        match stream.next().await {
            None => return Err(ConnectionError::Closed),
            Some(Err(error)) => return Err(error.into()),
            Some(Ok(Message::Binary(bytes))) => return Ok(WorkerMessage::decode(bytes)?),
            Some(Ok(Message::Close(_))) => return Err(ConnectionError::Closed),
            // Pings are answered by tungstenite; text frames are not part of the protocol.
            Some(Ok(_)) => continue,
        }
    }
}

async fn refuse(
    sink: &mut (impl futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin),
    reason: &str,
) -> ConnectionError {
    let message = ServerMessage {
        body: Some(server_message::Body::Rejected(Rejected {
            reason: reason.to_owned(),
        })),
    };
    let _ = sink.send(Message::binary(message.encode_to_vec())).await;
    let _ = sink.close().await;
    ConnectionError::Refused(reason.to_owned())
}

/// Participant ids become folder and record names: keep them plain.
pub fn validate_participant_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_PARTICIPANT_ID {
        return Err(format!(
            "participant id must be 1 to {MAX_PARTICIPANT_ID} characters"
        ));
    }
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        || id.starts_with('.')
    {
        return Err(format!(
            "participant id `{id}` may contain only letters, digits, `_`, `-` and `.` and must not start with `.`"
        ));
    }
    Ok(())
}
