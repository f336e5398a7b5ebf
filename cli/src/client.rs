//! HTTP access to the control plane: envelopes unwrapped, errors turned into
//! the server's own message, and job progress followed over Server-Sent Events.

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// What went wrong talking to the control plane.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the control plane at {url}: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{status}: {message}")]
    Server { status: StatusCode, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("unexpected answer from the control plane: {0}")]
    Protocol(String),
}

#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request and returns the envelope's `data`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let answer = self.send(method, path, body, false).await?;
        // Synergos resources answer in an envelope; our own (jobs) answer plainly.
        match answer.get("apiVersion") {
            Some(_) => Ok(answer.get("data").cloned().unwrap_or(Value::Null)),
            None => Ok(answer),
        }
    }

    /// Starts a long operation asynchronously and returns its job id.
    pub async fn start_job(&self, path: &str, body: &Value) -> Result<String, ClientError> {
        let envelope = self.send(Method::POST, path, Some(body), true).await?;
        envelope
            .pointer("/data/id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| ClientError::Protocol("the job answer has no data.id".into()))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        respond_async: bool,
    ) -> Result<Value, ClientError> {
        let url = self.url(path);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(body);
        }
        if respond_async {
            request = request.header("Prefer", "respond-async");
        }
        let response = request
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            let message = value
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            return Err(ClientError::Server { status, message });
        }
        Ok(value)
    }

    /// Follows a job's event stream, calling `on_event` for each event, until
    /// the job ends; returns the last event.
    pub async fn follow_job(
        &self,
        id: &str,
        mut on_event: impl FnMut(&Value),
    ) -> Result<Value, ClientError> {
        let url = self.url(&format!("/ttp/jobs/{id}/events"));
        let response = self
            .http
            .get(&url)
            .header("Accept", "text/event-stream")
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        if !response.status().is_success() {
            return Err(ClientError::Server {
                status: response.status(),
                message: response.text().await.unwrap_or_default(),
            });
        }
        let mut stream = response.bytes_stream();
        let mut buffer = String::new();
        let mut last = Value::Null;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|source| ClientError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let data: String = block
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect::<Vec<_>>()
                    .join("\n");
                if data.is_empty() {
                    continue;
                }
                if let Ok(event) = serde_json::from_str::<Value>(&data) {
                    on_event(&event);
                    last = event;
                }
            }
        }
        Ok(last)
    }
}
