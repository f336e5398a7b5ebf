//! The Synergos success envelope: `{apiVersion, success, status, method,
//! params, data}` around every successful REST answer.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

/// The `apiVersion` Synergos clients expect.
pub const API_VERSION: &str = "0.1.0";

/// A successful answer: `method` is `<resource>.<verb>` (e.g. `project.get`,
/// `projects.post`) and `params` holds the route variables.
#[derive(Debug)]
pub struct Envelope {
    pub status: StatusCode,
    pub method: String,
    pub params: Map<String, Value>,
    pub data: Value,
}

impl Envelope {
    pub fn new(
        status: StatusCode,
        method: impl Into<String>,
        params: Map<String, Value>,
        data: Value,
    ) -> Self {
        Self {
            status,
            method: method.into(),
            params,
            data,
        }
    }

    pub fn ok(method: impl Into<String>, params: Map<String, Value>, data: Value) -> Self {
        Self::new(StatusCode::OK, method, params, data)
    }

    pub fn created(method: impl Into<String>, params: Map<String, Value>, data: Value) -> Self {
        Self::new(StatusCode::CREATED, method, params, data)
    }

    pub fn to_json(&self) -> Value {
        json!({
            "apiVersion": API_VERSION,
            "success": 1,
            "status": self.status.as_u16(),
            "method": self.method,
            "params": self.params,
            "data": self.data,
        })
    }
}

impl IntoResponse for Envelope {
    fn into_response(self) -> Response {
        (self.status, Json(self.to_json())).into_response()
    }
}
