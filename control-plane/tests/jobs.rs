//! Phases 2 and 3 through the router with a fake data plane: alignment with
//! auto-fix, training, validation, asynchronous jobs and their SSE stream,
//! and how failures surface.

// Test helpers panic on purpose when the system under test misbehaves.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{TestApp, TestDb, alignment_response, completed, evaluated, round};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use ttp_control::ApiError;
use ttp_proto::v1 as pb;
use ttp_proto::v1::run_event::Event;

const TRAIN: &str = "/ttp/train/collaborations/c1/projects/p1";
const EVALUATE: &str = "/ttp/evaluate/collaborations/c1/projects/p1";
const EXPERIMENT: &str = "/ttp/connect/collaborations/c1/projects/p1/experiments/e1";

common::on_both_backends!(
    alignment_stores_spacers_and_auto_fixes_the_model,
    alignment_refuses_unknown_options_and_can_skip_the_fix,
    training_needs_an_alignment_first,
    training_stores_a_model_record,
    failures_keep_their_meaning,
    validation_stores_one_record_per_participant,
    respond_async_gives_202_and_a_job_to_follow,
    a_failed_async_job_reports_its_error,
);

async fn aligned_app(db: TestDb) -> TestApp {
    let app = TestApp::on(db).await;
    app.seed_project("c1", "p1").await;
    *app.fake.align_response.lock().unwrap() = Some(Ok(alignment_response()));
    app.post_ok(&format!("{TRAIN}/alignments"), json!({}), 201)
        .await;
    app
}

async fn alignment_stores_spacers_and_auto_fixes_the_model(db: TestDb) {
    let app = TestApp::on(db).await;
    app.seed_project("c1", "p1").await;
    *app.fake.align_response.lock().unwrap() = Some(Ok(alignment_response()));

    let (status, body) = app
        .post(&format!("{TRAIN}/alignments/"), json!({"auto_align": true}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["method"], "alignments.post");
    let records = body["data"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    let bob = records
        .iter()
        .find(|r| r["key"]["participant_id"] == "bob")
        .unwrap();
    assert_eq!(bob["kind"], "Alignment");
    assert_eq!(bob["train"], json!({"X": [10, 11], "y": []}));
    assert_eq!(bob["evaluate"], json!({"X": [10, 11], "y": []}));
    assert!(bob["link"]["alignment_id"].is_string());

    let request = app.fake.align_requests.lock().unwrap()[0].clone();
    assert_eq!(request.action, "classify");
    let ids: Vec<_> = request
        .participants
        .iter()
        .map(|p| p.participant_id.as_str())
        .collect();
    assert_eq!(ids, ["alice", "bob"]);
    assert_eq!(
        request.participants[0].tags["train"].tags[0].tokens,
        ["heart", "alice", "train"]
    );

    let (_, experiment) = app.get(EXPERIMENT).await;
    let structure = &experiment["data"]["model"][0]["structure"];
    assert_eq!(structure["in_features"], 28);
    assert_eq!(
        structure["out_features"], 1,
        "a binary label needs one output"
    );

    let (status, listed) = app.get(&format!("{TRAIN}/alignments")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
}

async fn alignment_refuses_unknown_options_and_can_skip_the_fix(db: TestDb) {
    let app = TestApp::on(db).await;
    app.seed_project("c1", "p1").await;
    *app.fake.align_response.lock().unwrap() = Some(Ok(alignment_response()));
    let (status, body) = app
        .post(&format!("{TRAIN}/alignments"), json!({"auto_fit": true}))
        .await;
    assert_eq!(status.as_u16(), 417);
    assert!(body["message"].as_str().unwrap().contains("auto_fit"));

    app.post_ok(
        &format!("{TRAIN}/alignments"),
        json!({"auto_fix": false}),
        201,
    )
    .await;
    let (_, experiment) = app.get(EXPERIMENT).await;
    assert_eq!(
        experiment["data"]["model"][0]["structure"]["in_features"],
        4
    );
}

async fn training_needs_an_alignment_first(db: TestDb) {
    let app = TestApp::on(db).await;
    app.seed_project("c1", "p1").await;
    let (status, body) = app.post(&format!("{TRAIN}/models"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("alignments before training"), "{message}");
    assert!(app.fake.run_requests().is_empty());
}

async fn training_stores_a_model_record(db: TestDb) {
    let app = aligned_app(db).await;
    app.fake.script_run(vec![
        Event::Started(pb::RunStarted {
            job_id: "x".into(),
            rounds: 2,
            participants: vec!["alice".into(), "bob".into()],
            features: 28,
        }),
        round(1, 2, 0.6),
        round(2, 2, 0.4),
        completed(),
    ]);
    let (status, body) = app
        .post(
            &format!("{TRAIN}/models/"),
            json!({"dockerised": true, "verbose": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["method"], "models.post");
    let model = &body["data"][0];
    assert_eq!(model["kind"], "Model");
    assert_eq!(
        model["key"],
        json!({"collab_id": "c1", "project_id": "p1", "expt_id": "e1", "run_id": "r1"})
    );
    assert_eq!(model["global"]["origin"], "ttp");
    assert_eq!(
        model["global"]["path"],
        "c1/p1/e1/r1/global_model.safetensors"
    );
    assert_eq!(
        model["global"]["loss_history"]["train"],
        json!({"1": 0.6, "2": 0.4})
    );
    assert_eq!(model["local_1"]["origin"], "alice");
    assert_eq!(model["local_2"]["origin"], "bob");

    let request = &app.fake.run_requests()[0];
    assert_eq!(request.kind, pb::RunKind::Train as i32);
    assert_eq!(request.action, "classify");
    assert_eq!(request.rounds, 2);
    assert_eq!(request.scope.as_ref().unwrap().run_id, "r1");
    assert_eq!(request.participants.len(), 2);
    assert!(uuid_like(&request.job_id));
    let model_json: Value = serde_json::from_str(&request.model_json).unwrap();
    assert_eq!(
        model_json[0]["structure"]["in_features"], 28,
        "the auto-fixed model is trained"
    );
    assert_eq!(request.plan.as_ref().unwrap().epochs, 1);

    let (status, listed) = app.get(&format!("{TRAIN}/models/e1/r1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["data"][0]["global"]["origin"], "ttp");
    let (status, _) = app.get(&format!("{TRAIN}/models/e1/other")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.chars().filter(|c| *c == '-').count() == 4
}

async fn failures_keep_their_meaning(db: TestDb) {
    let app = aligned_app(db).await;
    app.fake.script_run(vec![Event::Failed(pb::RunFailed {
        reason: "participant `bob`: column `age` in schema.json is not in data.csv".into(),
    })]);
    let (status, body) = app.post(&format!("{TRAIN}/models"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(body["message"].as_str().unwrap().contains("column `age`"));

    app.fake.script_run(vec![
        Event::Waiting(pb::WaitingForWorkers {
            missing: vec!["bob".into()],
        }),
        Event::Failed(pb::RunFailed {
            reason: "participants not connected: bob".into(),
        }),
    ]);
    let (status, body) = app.post(&format!("{TRAIN}/models"), json!({})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body["message"].as_str().unwrap().contains("bob"));

    *app.fake.start_error.lock().unwrap() = Some(ApiError::unavailable(
        "data plane at http://x is unreachable",
    ));
    let (status, body) = app.post(&format!("{TRAIN}/models"), json!({})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["message"], "data plane at http://x is unreachable");
    assert!(app.get(&format!("{TRAIN}/models")).await.0 == StatusCode::NOT_FOUND);
}

async fn validation_stores_one_record_per_participant(db: TestDb) {
    let app = aligned_app(db).await;
    // Nothing trained yet: nothing to validate.
    let (status, body) = app
        .post(&format!("{EVALUATE}/validations"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!([]));

    app.fake.script_run(vec![round(1, 1, 0.5), completed()]);
    app.post_ok(&format!("{TRAIN}/models"), json!({}), 200)
        .await;
    app.fake.script_run(vec![
        evaluated("alice", 0.8),
        evaluated("bob", 0.6),
        completed(),
    ]);
    let (status, body) = app
        .post(
            &format!("{EVALUATE}/validations/e1/r1"),
            json!({"log_msgs": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let records = body["data"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1]["key"],
        json!({"participant_id": "bob", "collab_id": "c1", "project_id": "p1", "expt_id": "e1", "run_id": "r1"})
    );
    assert_eq!(
        records[1]["evaluate"],
        json!({"statistics": {"accuracy": 0.6, "f_score": [0.5, 0.7]}, "res_path": null})
    );
    let request = app.fake.run_requests().pop().unwrap();
    assert_eq!(request.kind, pb::RunKind::Evaluate as i32);
    assert_eq!(request.meta, "evaluate");
    assert!(request.evaluate_participants.is_empty());

    app.fake
        .script_run(vec![evaluated("bob", 0.65), completed()]);
    let (status, body) = app
        .post(&format!("{EVALUATE}/validations/e1/r1/bob"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.fake.run_requests().pop().unwrap().evaluate_participants,
        ["bob"]
    );
    let (_, listed) = app.get(&format!("{EVALUATE}/validations/e1/r1/bob")).await;
    assert_eq!(
        listed["data"][0]["evaluate"]["statistics"]["accuracy"],
        0.65
    );
    let (_, all) = app.get(&format!("{EVALUATE}/validations")).await;
    assert_eq!(all["data"].as_array().unwrap().len(), 2);
}

async fn sse_events(app: &TestApp, job_id: &str) -> axum::body::Body {
    let request = Request::builder()
        .uri(format!("/ttp/jobs/{job_id}/events"))
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    response.into_body()
}

/// Reads an SSE body event by event.
struct EventReader {
    body: Body,
    pending: String,
}

impl EventReader {
    fn new(body: Body) -> Self {
        Self {
            body,
            pending: String::new(),
        }
    }

    /// The next event, or `None` once the stream ended.
    async fn next(&mut self) -> Option<Value> {
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                if let Some(data) = block.lines().find_map(|line| line.strip_prefix("data: ")) {
                    return Some(serde_json::from_str(data).unwrap());
                }
                continue;
            }
            let frame = tokio::time::timeout(Duration::from_secs(10), self.body.frame())
                .await
                .expect("an event within 10 s")?
                .unwrap();
            if let Ok(data) = frame.into_data() {
                self.pending.push_str(std::str::from_utf8(&data).unwrap());
            }
        }
    }

    async fn rest(mut self) -> Vec<Value> {
        let mut events = Vec::new();
        while let Some(event) = self.next().await {
            events.push(event);
        }
        events
    }
}

async fn read_events(body: Body) -> Vec<Value> {
    EventReader::new(body).rest().await
}

async fn respond_async_gives_202_and_a_job_to_follow(db: TestDb) {
    let app = aligned_app(db).await;
    let run = app.fake.live_run();
    let request = Request::builder()
        .method("POST")
        .uri(format!("{TRAIN}/models/e1"))
        .header("content-type", "application/json")
        .header("prefer", "respond-async")
        .body(Body::from("{}"))
        .unwrap();
    let (status, headers, body) = app.send(request).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], 202);
    let job_id = body["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(headers["location"], format!("/ttp/jobs/{job_id}"));
    assert_eq!(body["data"]["kind"], "train");

    let mut reader = EventReader::new(sse_events(&app, &job_id).await);
    let snapshot = reader.next().await.unwrap();
    assert_eq!(
        snapshot["type"], "progress",
        "the stream starts with a snapshot"
    );
    let mut events = vec![snapshot];
    run.send(Ok(pb::RunEvent {
        event: Some(round(1, 2, 0.6)),
    }))
    .await
    .unwrap();
    loop {
        let event = reader.next().await.unwrap();
        events.push(event.clone());
        if event["type"] == "round" {
            break;
        }
    }
    // The round was persisted before it was broadcast.
    let (_, job) = app.get(&format!("/ttp/jobs/{job_id}")).await;
    assert_eq!(job["state"], "running");
    assert_eq!(job["progress"]["round"], 1);
    assert_eq!(job["progress"]["rounds"], 2);
    assert_eq!(job["progress"]["combination"], 1);
    assert_eq!(job["progress"]["combinations"], 1);
    run.send(Ok(pb::RunEvent {
        event: Some(round(2, 2, 0.4)),
    }))
    .await
    .unwrap();
    run.send(Ok(pb::RunEvent {
        event: Some(completed()),
    }))
    .await
    .unwrap();
    events.extend(reader.rest().await);

    let types: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types.first(),
        Some(&"progress"),
        "starts with a snapshot: {types:?}"
    );
    assert_eq!(types.last(), Some(&"completed"), "{types:?}");
    let rounds: Vec<_> = events
        .iter()
        .filter(|e| e["type"] == "round")
        .map(|e| e["round"].clone())
        .collect();
    assert_eq!(rounds, [json!(1), json!(2)]);
    let last = events.last().unwrap();
    assert_eq!(last["state"], "succeeded");
    assert_eq!(last["result"][0]["kind"], "Model");

    let (status, job) = app.get(&format!("/ttp/jobs/{job_id}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["state"], "succeeded");
    assert_eq!(job["error"], Value::Null);
    assert_eq!(job["progress"]["round"], 2);
    assert_eq!(job["result"][0]["key"]["expt_id"], "e1");
    assert_eq!(
        job["scope"],
        json!({"collab_id": "c1", "project_id": "p1", "expt_id": "e1"})
    );

    // A finished job's stream is its snapshot alone.
    let events = read_events(sse_events(&app, &job_id).await).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "completed");
}

async fn a_failed_async_job_reports_its_error(db: TestDb) {
    let app = aligned_app(db).await;
    app.fake.script_run(vec![Event::Failed(pb::RunFailed {
        reason: "participant `alice`: no rows".into(),
    })]);
    let request = Request::builder()
        .method("POST")
        .uri(format!("{TRAIN}/models"))
        .header("prefer", "respond-async")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let job_id = body["data"]["id"].as_str().unwrap().to_owned();
    let events = read_events(sse_events(&app, &job_id).await).await;
    let last = events.last().unwrap();
    assert_eq!(last["type"], "failed");
    assert_eq!(last["error"], "participant `alice`: no rows");
    let (_, job) = app.get(&format!("/ttp/jobs/{job_id}")).await;
    assert_eq!(job["state"], "failed");
    assert_eq!(app.get("/ttp/jobs/nope").await.0, StatusCode::NOT_FOUND);
}
