//! Shared test harness: a router over a throwaway database on either backend
//! (a temporary SQLite file, or a fresh PostgreSQL database in the cluster
//! named by `TTP_TEST_POSTGRES_URL`) and a scriptable fake data plane.
//! [`on_both_backends!`] runs each scenario once per backend.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use diesel::{Connection, PgConnection, RunQueryDsl};
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
        self.runs
            .lock()
            .expect("fake data plane lock")
            .push_back(rx);
    }

    /// Queues a run whose events the test sends later.
    pub fn live_run(&self) -> mpsc::Sender<Result<pb::RunEvent, ApiError>> {
        let (tx, rx) = mpsc::channel(64);
        self.runs
            .lock()
            .expect("fake data plane lock")
            .push_back(rx);
        tx
    }

    pub fn run_requests(&self) -> Vec<pb::StartRunRequest> {
        self.run_requests
            .lock()
            .expect("fake data plane lock")
            .clone()
    }
}

impl DataPlane for FakeDataPlane {
    fn align(
        &self,
        request: pb::AlignRequest,
    ) -> BoxFuture<'static, Result<pb::AlignResponse, ApiError>> {
        self.align_requests
            .lock()
            .expect("fake data plane lock")
            .push(request);
        let answer = self
            .align_response
            .lock()
            .expect("fake data plane lock")
            .clone()
            .unwrap_or_else(|| Err(ApiError::unavailable("no alignment scripted")));
        async move { answer }.boxed()
    }

    fn start_run(
        &self,
        request: pb::StartRunRequest,
    ) -> BoxFuture<'static, Result<RunStream, ApiError>> {
        self.run_requests
            .lock()
            .expect("fake data plane lock")
            .push(request);
        self.run_started.notify_one();
        if let Some(error) = self
            .start_error
            .lock()
            .expect("fake data plane lock")
            .clone()
        {
            return async move { Err(error) }.boxed();
        }
        let script = self.runs.lock().expect("fake data plane lock").pop_front();
        async move {
            let rx = script.ok_or_else(|| ApiError::unavailable("no run scripted"))?;
            Ok(ReceiverStream::new(rx).boxed())
        }
        .boxed()
    }
}

/// Where the admin URL of the test cluster comes from.
pub const POSTGRES_URL_VAR: &str = "TTP_TEST_POSTGRES_URL";

/// The test cluster's admin URL: the variable, or `scripts/postgres.sh`'s
/// cluster, started once per test binary.
fn admin_url() -> String {
    static URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var(POSTGRES_URL_VAR) {
            return url;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");
        let output = std::process::Command::new("bash")
            .args([script, "start"])
            .stderr(std::process::Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
        let url = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        if !output.status.success() || url.is_empty() {
            panic!(
                "{POSTGRES_URL_VAR} is not set and {script} could not start a cluster, so the \
                 PostgreSQL half of the suite cannot run: install PostgreSQL or set {POSTGRES_URL_VAR}"
            );
        }
        url
    })
    .clone()
}

/// Declares each listed `async fn NAME(db: TestDb)` scenario as two tests,
/// `sqlite::NAME` and `postgres::NAME`, so a failure names its backend. A
/// scenario left out of the list is dead code, which the lints refuse.
#[allow(unused_macros)] // in test files that only need one backend
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::TestDb::sqlite()).await
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::common::TestDb::postgres()).await
                }
            )+
        }
    };
}
#[allow(unused_imports)]
pub(crate) use on_both_backends;

/// A database of its own for one test, removed when dropped.
pub struct TestDb {
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// What `--database-url` would be.
    pub url: String,
    _cleanup: Cleanup,
}

enum Cleanup {
    Dir(tempfile::TempDir),
    Postgres(PostgresDatabase),
}

impl TestDb {
    /// A SQLite file in a new temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        TestDb {
            backend: "sqlite",
            url: dir.path().join("ttp.sqlite3").display().to_string(),
            _cleanup: Cleanup::Dir(dir),
        }
    }

    /// A new, uniquely named database in the cluster of
    /// `TTP_TEST_POSTGRES_URL`, so tests run in parallel without sharing
    /// rows. When the variable is unset the throwaway cluster of
    /// `scripts/postgres.sh` is started (or reused), so a plain `cargo test`
    /// runs this half too; it fails (never skips) when that is impossible.
    pub fn postgres() -> TestDb {
        let admin_url = admin_url();
        let name = format!("ttp_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&admin_url).unwrap_or_else(|e| {
            panic!(
                "cannot reach the test cluster at {} ({POSTGRES_URL_VAR}): {e}; \
                 start it with scripts/postgres.sh",
                ttp_control::db::redacted(&admin_url)
            )
        });
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        TestDb {
            backend: "postgres",
            url: with_database(&admin_url, &name),
            _cleanup: Cleanup::Postgres(PostgresDatabase { admin_url, name }),
        }
    }
}

/// A test database, dropped with the test even if connections (of jobs
/// still winding down) remain.
struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl PostgresDatabase {
    /// Waits (briefly) for the pool's connections, which close on other
    /// threads, so that a forced drop need not cut them off mid-flight.
    fn wait_for_disconnects(&self, admin: &mut PgConnection) {
        let connected = diesel::dsl::sql::<diesel::sql_types::BigInt>(&format!(
            "count(*) FROM pg_stat_activity WHERE datname = '{}'",
            self.name
        ));
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            match diesel::select(connected.clone()).get_result::<i64>(admin) {
                Ok(0) | Err(_) => return,
                Ok(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let dropped = PgConnection::establish(&self.admin_url)
            .map_err(|e| e.to_string())
            .and_then(|mut admin| {
                self.wait_for_disconnects(&mut admin);
                diesel::sql_query(format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .execute(&mut admin)
                .map_err(|e| e.to_string())
            });
        if let Err(error) = dropped {
            // Not a panic: this may run while a failed test unwinds.
            eprintln!("cannot drop test database {}: {error}", self.name);
        }
    }
}

/// `url` with its database (the path) replaced by `name`, query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority..].find('/') {
        Some(slash) => &base[..authority + slash],
        None => base,
    };
    format!("{server}/{name}{query}")
}

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub fake: Arc<FakeDataPlane>,
    /// Dropped last: the database outlives the state that uses it.
    pub db: TestDb,
}

impl TestApp {
    /// The router over a freshly migrated `db`.
    pub async fn on(db: TestDb) -> TestApp {
        let opened = Db::open(&db.url)
            .await
            .unwrap_or_else(|e| panic!("open the {} test database: {e}", db.backend));
        let fake = Arc::new(FakeDataPlane::default());
        let state = AppState::new(opened, fake.clone());
        TestApp {
            router: ttp_control::rest::router(state.clone()),
            state,
            fake,
            db,
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
