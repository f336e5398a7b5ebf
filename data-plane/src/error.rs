//! Why a run failed, and how that maps to gRPC codes for the control plane.

/// A run's failure.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The request itself is unusable (bad spec, bad ids, incompatible model).
    #[error("{0}")]
    InvalidArgument(String),
    /// Participants never connected.
    #[error("participants not connected: {}", .0.join(", "))]
    WorkersMissing(Vec<String>),
    /// A participant reported a failure or broke the protocol.
    #[error("participant `{participant}`: {reason}")]
    Participant { participant: String, reason: String },
    /// Previous results the run needs are missing.
    #[error("{0}")]
    NotFound(String),
    #[error("run cancelled")]
    Cancelled,
    /// A fault on our side; details are logged, not sent.
    #[error("internal error in the data plane")]
    Internal(String),
}

impl RunError {
    pub fn internal(error: impl std::fmt::Display) -> Self {
        let detail = error.to_string();
        tracing::error!(error = %detail, "internal data-plane error");
        Self::Internal(detail)
    }

    pub fn disconnected(participant: &str) -> Self {
        Self::Participant {
            participant: participant.to_owned(),
            reason: "worker disconnected".into(),
        }
    }

    /// The gRPC status for failures reported before a stream starts.
    pub fn to_status(&self) -> tonic::Status {
        let message = self.to_string();
        match self {
            Self::InvalidArgument(_) => tonic::Status::invalid_argument(message),
            Self::WorkersMissing(_) => tonic::Status::unavailable(message),
            Self::Participant { .. } => tonic::Status::failed_precondition(message),
            Self::NotFound(_) => tonic::Status::not_found(message),
            Self::Cancelled => tonic::Status::cancelled(message),
            Self::Internal(_) => tonic::Status::internal(message),
        }
    }
}
