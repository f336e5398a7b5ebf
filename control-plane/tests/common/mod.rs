//! Shared test harness: a router over a temporary SQLite database and a
//! scriptable fake data plane.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tower::ServiceExt;
use ttp_control::data_plane::{DataPlane, RunStream};
use ttp_control::db::Db;
use ttp_control::{ApiError, AppState};
use ttp_proto::v1 as pb;
use ttp_proto::v1::run_event::Event;

/// A data plane whose answers the test decides.
#[derive(Default)]
pub struct FakeDataPlane {
    pub align_response: Mutex<Option<Result<pb::AlignResponse, ApiError>>>,
    pub align_requests: Mutex<Vec<pb::AlignRequest>>,
    pub runs: Mutex<VecDeque<mpsc::Receiver<Result<pb::RunEvent, ApiError>>>>,
    pub run_requests: Mutex<Vec<pb::StartRunRequest>>,
    pub start_error: Mutex<Option<ApiError>>,
    /// Notified at every `start_run`.
    pub run_started: tokio::sync::Notify,
}

impl FakeDataPlane {
    /// Queues a run that emits `events` and ends.
    pub fn script_run(&self, events: Vec<Event>) {
        let (tx, rx) = mpsc::channel(events.len().max(1));
        for event in events {
            tx.try_send(Ok(pb::RunEvent { event: Some(event) }))
                .expect("room for the event");
        }
        self.runs.lock().unwrap().push_back(rx);
    }

    /// Queues a run whose events the test sends later.
    pub fn live_run(&self) -> mpsc::Sender<Result<pb::RunEvent, ApiError>> {
        let (tx, rx) = mpsc::channel(64);
        self.runs.lock().unwrap().push_back(rx);
        tx
    }

    pub fn run_requests(&self) -> Vec<pb::StartRunRequest> {
        self.run_requests.lock().unwrap().clone()
    }
}

impl DataPlane for FakeDataPlane {
    fn align(
        &self,
        request: pb::AlignRequest,
    ) -> BoxFuture<'static, Result<pb::AlignResponse, ApiError>> {
        self.align_requests.lock().unwrap().push(request);
        let answer = self
            .align_response
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| Err(ApiError::unavailable("no alignment scripted")));
        async move { answer }.boxed()
    }

    fn start_run(
        &self,
        request: pb::StartRunRequest,
    ) -> BoxFuture<'static, Result<RunStream, ApiError>> {
        self.run_requests.lock().unwrap().push(request);
        self.run_started.notify_one();
        if let Some(error) = self.start_error.lock().unwrap().clone() {
            return async move { Err(error) }.boxed();
        }
        let script = self.runs.lock().unwrap().pop_front();
        async move {
            let rx = script.ok_or_else(|| ApiError::unavailable("no run scripted"))?;
            Ok(ReceiverStream::new(rx).boxed())
        }
        .boxed()
    }
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub fake: Arc<FakeDataPlane>,
    pub dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn new() -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = dir.path().join("ttp.sqlite3").display().to_string();
        let db = Db::open(&url).await.expect("open db");
        let fake = Arc::new(FakeDataPlane::default());
        let state = AppState::new(db, fake.clone());
        TestApp {
            router: ttp_control::rest::router(state.clone()),
            state,
            fake,
            dir,
        }
    }

    pub async fn send(&self, request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        (status, headers, body)
    }

    pub async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        let builder = Request::builder().method(method).uri(uri);
        let request = match body {
            Some(body) => builder
                .header("content-type", "application/json")
                .body(Body::from(body.to_string())),
            None => builder.body(Body::empty()),
        }
        .expect("request");
        let (status, _, body) = self.send(request).await;
        (status, body)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.call("GET", uri, None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", uri, Some(body)).await
    }

    /// POST that must answer `status`; returns the envelope's `data`.
    pub async fn post_ok(&self, uri: &str, body: Value, status: u16) -> Value {
        let (got, answer) = self.post(uri, body).await;
        assert_eq!(got.as_u16(), status, "POST {uri}: {answer}");
        answer["data"].clone()
    }

    /// Creates the Synergos phase-1 records of a two-participant project.
    pub async fn seed_project(&self, collab: &str, project: &str) {
        let c = format!("/ttp/connect/collaborations/{collab}");
        self.post_ok(
            "/ttp/connect/collaborations",
            json!({"collab_id": collab}),
            201,
        )
        .await;
        self.post_ok(
            &format!("{c}/projects"),
            json!({"project_id": project, "action": "classify", "incentives": {}}),
            201,
        )
        .await;
        let p = format!("{c}/projects/{project}");
        self.post_ok(
            &format!("{p}/experiments"),
            json!({"expt_id": "e1", "model": linear_model(4, 4)}),
            201,
        )
        .await;
        self.post_ok(
            &format!("{p}/experiments/e1/runs"),
            json!({"run_id": "r1", "rounds": 2, "epochs": 1, "lr": 0.01}),
            201,
        )
        .await;
        for participant in ["alice", "bob"] {
            self.post_ok("/ttp/connect/participants", json!({"id": participant}), 201)
                .await;
            self.post_ok(
                &format!("{p}/participants/{participant}/registration"),
                json!({"role": "guest", "n_count": 1, "node_0": {"host": "w", "port": 8020, "f_port": 5000}}),
                201,
            )
            .await;
            self.post_ok(
                &format!("{p}/participants/{participant}/registration/tags"),
                json!({"train": [["heart", participant, "train"]], "evaluate": [["heart", participant, "test"]]}),
                201,
            )
            .await;
        }
    }
}

pub fn linear_model(in_features: u64, out_features: u64) -> Value {
    json!([{
        "is_input": true,
        "l_type": "Linear",
        "activation": "sigmoid",
        "structure": {"in_features": in_features, "out_features": out_features, "bias": true}
    }])
}

/// An alignment of 28 features and a binary label; bob lacks two columns.
pub fn alignment_response() -> pb::AlignResponse {
    let spacers = |x: Vec<u32>| pb::Spacers {
        x,
        y: vec![],
        rows: 10,
    };
    let participant = |id: &str, x: Vec<u32>| pb::ParticipantAlignment {
        participant_id: id.into(),
        metas: [
            ("train".to_owned(), spacers(x.clone())),
            ("evaluate".to_owned(), spacers(x)),
        ]
        .into_iter()
        .collect(),
    };
    pb::AlignResponse {
        layout: Some(pb::FeatureLayout {
            x_headers: (0..28).map(|i| format!("f{i}")).collect(),
            y_headers: vec!["target_0".into(), "target_1".into()],
            ranges: Default::default(),
        }),
        participants: vec![
            participant("alice", vec![]),
            participant("bob", vec![10, 11]),
        ],
    }
}

pub fn round(round: u32, rounds: u32, loss: f64) -> Event {
    Event::RoundCompleted(pb::RoundCompleted {
        round,
        rounds,
        train_loss: loss,
        seconds: 0.1,
    })
}

pub fn completed() -> Event {
    let mut done = pb::RunCompleted {
        global_model_path: "c1/p1/e1/r1/global_model.safetensors".into(),
        ..Default::default()
    };
    done.train_loss_history.insert(1, 0.6);
    done.train_loss_history.insert(2, 0.4);
    for participant in ["alice", "bob"] {
        done.local_model_paths.insert(
            participant.into(),
            format!("c1/p1/e1/r1/local_model_{participant}.safetensors"),
        );
        let mut history = pb::LossHistory::default();
        history.losses.insert(1, 0.5);
        done.local_loss_history.insert(participant.into(), history);
    }
    Event::Completed(done)
}

pub fn evaluated(participant: &str, accuracy: f64) -> Event {
    let mut statistics = std::collections::HashMap::new();
    statistics.insert(
        "accuracy".to_owned(),
        pb::MetricValue {
            value: Some(pb::metric_value::Value::Scalar(accuracy)),
        },
    );
    statistics.insert(
        "f_score".to_owned(),
        pb::MetricValue {
            value: Some(pb::metric_value::Value::PerClass(pb::PerClass {
                values: vec![0.5, 0.7],
            })),
        },
    );
    Event::ParticipantEvaluated(pb::ParticipantEvaluated {
        participant_id: participant.into(),
        meta: "evaluate".into(),
        sample_count: 10,
        loss: 0.3,
        statistics,
    })
}
