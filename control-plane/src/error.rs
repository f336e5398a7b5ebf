//! The one error type of the control plane: a code from the house enum plus a
//! message, mapped once to an HTTP status (REST) and a gRPC code.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What went wrong, independent of the transport that reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidArgument,
    NotFound,
    Conflict,
    Unauthenticated,
    PermissionDenied,
    Unavailable,
    Timeout,
    Internal,
}

impl Code {
    /// The HTTP status of this code. Invalid input is 417 (Expectation
    /// Failed) because that is what Synergos answers for invalid bodies.
    pub fn http_status(self) -> StatusCode {
        match self {
            Code::InvalidArgument => StatusCode::EXPECTATION_FAILED,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::Conflict => StatusCode::CONFLICT,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Code::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn grpc_code(self) -> tonic::Code {
        match self {
            Code::InvalidArgument => tonic::Code::InvalidArgument,
            Code::NotFound => tonic::Code::NotFound,
            Code::Conflict => tonic::Code::FailedPrecondition,
            Code::Unauthenticated => tonic::Code::Unauthenticated,
            Code::PermissionDenied => tonic::Code::PermissionDenied,
            Code::Unavailable => tonic::Code::Unavailable,
            Code::Timeout => tonic::Code::DeadlineExceeded,
            Code::Internal => tonic::Code::Internal,
        }
    }

    /// The code for a gRPC status received from another service.
    pub fn from_grpc(code: tonic::Code) -> Code {
        match code {
            tonic::Code::InvalidArgument | tonic::Code::OutOfRange => Code::InvalidArgument,
            tonic::Code::NotFound => Code::NotFound,
            tonic::Code::AlreadyExists | tonic::Code::FailedPrecondition | tonic::Code::Aborted => {
                Code::Conflict
            }
            tonic::Code::Unauthenticated => Code::Unauthenticated,
            tonic::Code::PermissionDenied => Code::PermissionDenied,
            tonic::Code::Unavailable | tonic::Code::Cancelled | tonic::Code::ResourceExhausted => {
                Code::Unavailable
            }
            tonic::Code::DeadlineExceeded => Code::Timeout,
            _ => Code::Internal,
        }
    }
}

/// An error answered to a client. Messages of `Internal` errors are kept for
/// the log and replaced by a generic text on the wire.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    code: Code,
    message: String,
}

/// What clients see instead of the detail of an internal fault.
pub const INTERNAL_MESSAGE: &str = "internal error in the control plane";

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Code::Conflict, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::PermissionDenied, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Code::Unavailable, message)
    }

    /// An internal fault; `detail` is logged when the error is answered.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(Code::Internal, detail.to_string())
    }

    pub fn code(&self) -> Code {
        self.code
    }

    /// The message a client may see.
    pub fn public_message(&self) -> &str {
        match self.code {
            Code::Internal => INTERNAL_MESSAGE,
            _ => &self.message,
        }
    }

    /// Logs internal faults once, where they are turned into an answer.
    pub fn log_if_internal(&self) {
        if self.code == Code::Internal {
            tracing::error!(error = %self.message, "internal error");
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log_if_internal();
        let body = serde_json::json!({ "message": self.public_message() });
        (self.code.http_status(), Json(body)).into_response()
    }
}

impl From<ApiError> for tonic::Status {
    fn from(error: ApiError) -> Self {
        error.log_if_internal();
        tonic::Status::new(error.code.grpc_code(), error.public_message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_stay_out_of_the_answer() {
        let error = ApiError::internal("disk /var/x is full");
        assert_eq!(error.public_message(), INTERNAL_MESSAGE);
        let status = tonic::Status::from(error);
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("disk"));
    }

    #[test]
    fn invalid_input_is_synergos_417() {
        assert_eq!(Code::InvalidArgument.http_status().as_u16(), 417);
        assert_eq!(
            Code::from_grpc(tonic::Code::FailedPrecondition),
            Code::Conflict
        );
    }
}
