//! The real servers on port 0: REST and gRPC health answer, and jobs that a
//! previous process left running are failed at start-up.

// Test helpers panic on purpose when the system under test misbehaves.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::TestDb;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ttp_control::Config;
use ttp_control::db::Db;
use ttp_control::jobs::{Job, JobKind, Progress, RESTARTED, SHUT_DOWN};
use ttp_control::record::Key;

async fn http_get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap())
}

common::on_both_backends!(
    restart_fails_jobs_left_running_and_servers_answer,
    shutdown_ends_event_streams_and_fails_running_jobs,
);

async fn restart_fails_jobs_left_running_and_servers_answer(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::rooted_at(dir.path());
    config.database_url = Some(db.url.clone());

    // A job of a previous process, left running at round 3.
    let job = Job::new(JobKind::Train, Key::project("c1", "p1"));
    {
        let db = Db::open(&config.database_url()).await.unwrap();
        db.create_job(&job).await.unwrap();
        let progress = Progress {
            round: 3,
            rounds: 10,
            ..Progress::default()
        };
        db.record_job_progress(&job.id, &progress).await.unwrap();
    }

    let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (rest_addr, grpc_addr) = (rest.local_addr().unwrap(), grpc.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ttp_control::run(config.clone(), rest, grpc, async {
        let _ = stopped.await;
    }));

    let (status, health) = http_get(rest_addr, "/health").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));

    let (status, recovered) = http_get(rest_addr, &format!("/ttp/jobs/{}", job.id)).await;
    assert_eq!(status, 200);
    assert_eq!(recovered["state"], "failed");
    assert_eq!(recovered["error"], RESTARTED);
    assert_eq!(
        recovered["progress"]["round"], 3,
        "the last progress is kept"
    );

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = tonic_health::pb::health_client::HealthClient::new(channel);
    let answer = client
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    for made in ["data", "outputs", "mlflow"] {
        assert!(dir.path().join(made).is_dir(), "{made} was created");
    }
}

/// Sends a request and returns the status line and headers once they arrive,
/// leaving the connection open (for a streaming answer).
async fn open_request(addr: SocketAddr, request: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    (stream, String::from_utf8(head).unwrap())
}

async fn shutdown_ends_event_streams_and_fails_running_jobs(db: TestDb) {
    let app = common::TestApp::on(db).await;
    app.seed_project("c1", "p1").await;
    *app.fake.align_response.lock().unwrap() = Some(Ok(common::alignment_response()));
    app.post_ok(
        "/ttp/train/collaborations/c1/projects/p1/alignments",
        serde_json::json!({}),
        201,
    )
    .await;
    // A run that never ends.
    let _run = app.fake.live_run();

    let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rest_addr = rest.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ttp_control::serve(app.state.clone(), rest, grpc, async {
        let _ = stopped.await;
    }));

    let (mut accepted, head) = open_request(
        rest_addr,
        "POST /ttp/train/collaborations/c1/projects/p1/models HTTP/1.1\r\nHost: x\r\nPrefer: respond-async\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 202"), "{head}");
    let mut body = String::new();
    accepted.read_to_string(&mut body).await.unwrap();
    let job_id = serde_json::from_str::<Value>(&body).unwrap()["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut events, head) = open_request(
        rest_addr,
        &format!("GET /ttp/jobs/{job_id}/events HTTP/1.1\r\nHost: x\r\n\r\n"),
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    app.fake.run_started.notified().await;
    // A blocking (Synergos-style) request waiting on a second training.
    let _second_run = app.fake.live_run();
    let waiting = tokio::spawn(async move {
        let (mut stream, head) = open_request(
            rest_addr,
            "POST /ttp/train/collaborations/c1/projects/p1/models HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )
        .await;
        let mut body = String::new();
        stream.read_to_string(&mut body).await.unwrap();
        (head, body)
    });

    app.fake.run_started.notified().await;
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("shutdown does not wait for open streams or running jobs")
        .unwrap()
        .unwrap();
    let mut rest_of_stream = String::new();
    events.read_to_string(&mut rest_of_stream).await.unwrap();
    assert!(
        rest_of_stream.contains("\"type\":\"progress\""),
        "{rest_of_stream}"
    );
    let (head, body) = waiting.await.unwrap();
    assert!(head.starts_with("HTTP/1.1 503"), "{head} {body}");

    let job = app.state.db().job(&job_id).await.unwrap().unwrap();
    assert_eq!(job.state, ttp_control::jobs::JobState::Failed);
    assert_eq!(job.error.as_deref(), Some(SHUT_DOWN));
}
