//! Polling: waiting for the participants' workers, then asking each one what
//! its tagged data looks like, and computing the shared layout from that.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::try_join_all;
use ttp_proto::v1::{
    FeatureLayout, ParticipantData, PollRequest, ServerMessage, server_message, worker_message,
};

use crate::error::RunError;
use crate::layout::{self, Polled};
use crate::registry::{Registry, Session};

/// The connected sessions and what each participant's data looks like.
#[derive(Debug)]
pub struct Polling {
    pub sessions: BTreeMap<String, Arc<Session>>,
    pub polled: BTreeMap<String, Polled>,
    pub layout: FeatureLayout,
}

/// Waits for every participant (up to `connect_timeout`), polls them all
/// concurrently and aligns their features.
pub async fn poll_participants(
    registry: &Registry,
    participants: &[ParticipantData],
    action: &str,
    connect_timeout: Duration,
    on_wait: impl FnMut(&[String]),
) -> Result<Polling, RunError> {
    if participants.is_empty() {
        return Err(RunError::InvalidArgument(
            "no participants are registered".into(),
        ));
    }
    let ids: Vec<String> = participants
        .iter()
        .map(|p| p.participant_id.clone())
        .collect();
    let deadline = tokio::time::Instant::now() + connect_timeout;
    let sessions = registry
        .wait_for(&ids, deadline, on_wait)
        .await
        .map_err(RunError::WorkersMissing)?;
    let replies = try_join_all(
        participants
            .iter()
            .zip(&sessions)
            .map(|(participant, session)| poll_one(session, participant, action)),
    )
    .await?;
    let polled: BTreeMap<String, Polled> = ids.iter().cloned().zip(replies).collect();
    let layout = layout::compute_layout(&polled);
    if layout.x_headers.is_empty() {
        return Err(RunError::InvalidArgument(
            "the participants' data has no feature columns".into(),
        ));
    }
    Ok(Polling {
        sessions: ids.into_iter().zip(sessions).collect(),
        polled,
        layout,
    })
}

async fn poll_one(
    session: &Session,
    participant: &ParticipantData,
    action: &str,
) -> Result<Polled, RunError> {
    let request_id = format!("poll-{}", uuid::Uuid::new_v4());
    let mut rx = session.begin_task(&request_id, 0);
    let request = PollRequest {
        request_id: request_id.clone(),
        action: action.to_owned(),
        tags: participant.tags.clone(),
    };
    let result = async {
        session
            .send(ServerMessage {
                body: Some(server_message::Body::Poll(request)),
            })
            .await
            .map_err(|_| RunError::disconnected(&session.participant_id))?;
        let message = rx
            .recv()
            .await
            .ok_or_else(|| RunError::disconnected(&session.participant_id))?;
        match message.body {
            Some(worker_message::Body::PollReply(reply)) => Ok(reply),
            Some(worker_message::Body::TaskFailed(failed)) => Err(RunError::Participant {
                participant: session.participant_id.clone(),
                reason: failed.reason,
            }),
            _ => Err(RunError::Participant {
                participant: session.participant_id.clone(),
                reason: "protocol violation: expected a poll reply".into(),
            }),
        }
    }
    .await;
    session.end_task(&request_id, 0);
    let reply = result?;
    // Only the metas that were asked for count; a worker may not add others.
    let mut metas = Polled::new();
    for meta in participant.tags.keys() {
        let summary = reply
            .metas
            .get(meta)
            .cloned()
            .ok_or_else(|| RunError::Participant {
                participant: session.participant_id.clone(),
                reason: format!("poll reply lacks the `{meta}` data"),
            })?;
        metas.insert(meta.clone(), summary);
    }
    Ok(metas)
}
