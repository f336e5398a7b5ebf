//! A job survives `kill -9` of the control plane: after a restart on the same
//! database it is in a terminal state with the reason recorded, never left
//! "running" forever. Runs the real `ttp-control` binary against a fake data
//! plane whose training run never finishes.

use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use ttp_proto::v1::data_plane_server::{DataPlane, DataPlaneServer};
use ttp_proto::v1::{
    AlignRequest, AlignResponse, CancelRunRequest, CancelRunResponse, FeatureLayout,
    ListWorkersRequest, ListWorkersResponse, ParticipantAlignment, RunEvent, RunStarted,
    StartRunRequest, run_event,
};

/// A data plane whose runs start and then never end.
struct EndlessDataPlane;

type Events = Pin<Box<dyn tokio_stream::Stream<Item = Result<RunEvent, Status>> + Send>>;

#[tonic::async_trait]
impl DataPlane for EndlessDataPlane {
    async fn list_workers(
        &self,
        _: Request<ListWorkersRequest>,
    ) -> Result<Response<ListWorkersResponse>, Status> {
        Ok(Response::new(ListWorkersResponse::default()))
    }

    async fn align(
        &self,
        request: Request<AlignRequest>,
    ) -> Result<Response<AlignResponse>, Status> {
        let participants = request
            .into_inner()
            .participants
            .into_iter()
            .map(|p| ParticipantAlignment {
                participant_id: p.participant_id,
                metas: Default::default(),
            })
            .collect();
        Ok(Response::new(AlignResponse {
            layout: Some(FeatureLayout {
                x_headers: vec!["a".into(), "b".into()],
                y_headers: vec!["target_0".into(), "target_1".into()],
                ranges: Default::default(),
            }),
            participants,
        }))
    }

    type StartRunStream = Events;

    async fn start_run(
        &self,
        request: Request<StartRunRequest>,
    ) -> Result<Response<Self::StartRunStream>, Status> {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let started = RunEvent {
            event: Some(run_event::Event::Started(RunStarted {
                job_id: request.into_inner().job_id,
                rounds: 100,
                participants: vec!["p1".into()],
                features: 2,
            })),
        };
        tokio::spawn(async move {
            let _ = tx.send(Ok(started)).await;
            // Keep the stream open for as long as the consumer listens.
            tx.closed().await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn cancel_run(
        &self,
        _: Request<CancelRunRequest>,
    ) -> Result<Response<CancelRunResponse>, Status> {
        Ok(Response::new(CancelRunResponse { cancelled: true }))
    }
}

async fn free_addr() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("addr")
}

/// Starts `ttp-control` on `rest` with its state under `root`.
fn spawn_control(root: &Path, rest: SocketAddr, data_plane: SocketAddr) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ttp-control"))
        .args([
            "--rest-addr",
            &rest.to_string(),
            "--grpc-addr",
            "127.0.0.1:0",
        ])
        .args(["--data-plane", &format!("http://{data_plane}")])
        .arg("--data-dir")
        .arg(root.join("data"))
        .arg("--outputs-dir")
        .arg(root.join("outputs"))
        .arg("--mlflow-dir")
        .arg(root.join("mlflow"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ttp-control starts")
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..200 {
        if let Ok(response) = client.get(format!("{base}/health")).send().await
            && response.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("ttp-control did not become healthy at {base}");
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
    let response = client.post(&url).json(&body).send().await.expect("post");
    let status = response.status();
    let value: Value = response.json().await.expect("json");
    assert!(status.is_success(), "POST {url}: {status} {value}");
    value
}

#[tokio::test]
async fn a_running_job_ends_failed_with_its_reason_after_kill_9_and_restart() {
    let root = tempfile::tempdir().expect("tempdir");
    let data_plane = free_addr().await;
    let listener = tokio::net::TcpListener::bind(data_plane)
        .await
        .expect("bind fake");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(DataPlaneServer::new(EndlessDataPlane))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );

    let rest = free_addr().await;
    let base = format!("http://{rest}");
    let client = reqwest::Client::new();
    let mut control = spawn_control(root.path(), rest, data_plane);
    wait_healthy(&client, &base).await;

    let connect = format!("{base}/ttp/connect");
    post(
        &client,
        format!("{connect}/collaborations"),
        json!({"collab_id": "c"}),
    )
    .await;
    post(
        &client,
        format!("{connect}/collaborations/c/projects"),
        json!({"project_id": "p", "action": "classify", "incentives": {}}),
    )
    .await;
    let model = json!([{"l_type": "Linear", "structure": {"in_features": 2, "out_features": 1}, "activation": "sigmoid"}]);
    post(
        &client,
        format!("{connect}/collaborations/c/projects/p/experiments"),
        json!({"expt_id": "e", "model": model}),
    )
    .await;
    post(
        &client,
        format!("{connect}/collaborations/c/projects/p/experiments/e/runs"),
        json!({"run_id": "r", "rounds": 100}),
    )
    .await;
    post(
        &client,
        format!("{connect}/participants"),
        json!({"id": "p1"}),
    )
    .await;
    let registration =
        format!("{connect}/collaborations/c/projects/p/participants/p1/registration");
    post(
        &client,
        registration.clone(),
        json!({"role": "guest", "n_count": 1, "node_0": {"host": "h", "port": 8020}}),
    )
    .await;
    post(
        &client,
        format!("{registration}/tags"),
        json!({"train": [["d"]]}),
    )
    .await;
    post(
        &client,
        format!("{base}/ttp/train/collaborations/c/projects/p/alignments"),
        json!({}),
    )
    .await;

    let started = client
        .post(format!(
            "{base}/ttp/train/collaborations/c/projects/p/models"
        ))
        .header("Prefer", "respond-async")
        .json(&json!({}))
        .send()
        .await
        .expect("post models");
    assert_eq!(started.status().as_u16(), 202);
    let job_url = format!(
        "{base}{}",
        started.headers()["location"].to_str().expect("location")
    );
    // Wait until the job is really running on the (endless) data plane.
    let mut state = String::new();
    for _ in 0..200 {
        let job: Value = client
            .get(&job_url)
            .send()
            .await
            .expect("job")
            .json()
            .await
            .expect("json");
        state = job["state"].as_str().unwrap_or_default().to_owned();
        if state == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state, "running");

    // kill -9: no chance to record anything.
    control.kill().expect("SIGKILL");
    control.wait().expect("reaped");

    let mut restarted = spawn_control(root.path(), rest, data_plane);
    wait_healthy(&client, &base).await;
    let job: Value = client
        .get(&job_url)
        .send()
        .await
        .expect("job")
        .json()
        .await
        .expect("json");
    restarted.kill().expect("stop");
    let _ = restarted.wait();
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap_or_default()
            .contains("restarted"),
        "the reason is recorded: {job}"
    );
}
