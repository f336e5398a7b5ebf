//! Phase 1 (`/ttp/connect`) through the router: the Synergos envelope,
//! upserts, shallow updates, 404/417 messages, trailing slashes, bad bodies
//! and cascades that respect the full composite key.

// Test helpers panic on purpose when the system under test misbehaves.
#![allow(clippy::unwrap_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{TestApp, TestDb, linear_model};
use serde_json::json;

const C1: &str = "/ttp/connect/collaborations/c1";

common::on_both_backends!(
    the_synergos_flow_creates_records_in_the_envelope,
    post_is_an_upsert_and_put_a_shallow_merge,
    missing_records_give_the_synergos_404_messages,
    invalid_bodies_are_417_naming_the_field_on_create_and_update,
    paths_work_with_and_without_a_trailing_slash,
    malformed_bodies_are_client_errors,
    deletes_cascade_only_within_the_full_key,
);

async fn the_synergos_flow_creates_records_in_the_envelope(db: TestDb) {
    let app = TestApp::on(db).await;
    app.seed_project("c1", "p1").await;

    let (status, body) = app.get(&format!("{C1}/projects/p1")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["apiVersion"], "0.1.0");
    assert_eq!(body["success"], 1);
    assert_eq!(body["status"], 200);
    assert_eq!(body["method"], "project.get");
    assert_eq!(
        body["params"],
        json!({"collab_id": "c1", "project_id": "p1"})
    );
    let project = &body["data"];
    assert_eq!(
        project["key"],
        json!({"collab_id": "c1", "project_id": "p1"})
    );
    assert_eq!(project["kind"], "Project");
    assert_eq!(project["action"], "classify");
    assert!(project["doc_id"].is_i64());
    let created_at = project["created_at"].as_str().unwrap();
    assert!(
        created_at.ends_with(" N") && created_at.len() == "2024-01-02 03:04:05 N".len(),
        "{created_at}"
    );
    let relations = &project["relations"];
    assert_eq!(relations["Experiment"].as_array().unwrap().len(), 1);
    assert_eq!(relations["Run"][0]["key"]["run_id"], "r1");
    assert_eq!(relations["Registration"].as_array().unwrap().len(), 2);
    assert_eq!(relations["Tag"].as_array().unwrap().len(), 2);

    let (_, registration) = app
        .get(&format!("{C1}/projects/p1/participants/alice/registration"))
        .await;
    let registration = &registration["data"];
    assert_eq!(registration["role"], "guest");
    assert_eq!(registration["project"]["action"], "classify");
    assert_eq!(registration["participant"]["id"], "alice");
    assert!(registration["link"]["registration_id"].is_string());
    assert_eq!(
        registration["relations"]["Tag"][0]["train"],
        json!([["heart", "alice", "train"]])
    );
    let tag_link = &registration["relations"]["Tag"][0]["link"];
    assert_eq!(
        tag_link["registration_id"],
        registration["link"]["registration_id"]
    );

    // The same registration is reachable from the participant.
    let (status, body) = app
        .get("/ttp/connect/participants/alice/collaborations/c1/projects/p1/registration/tags")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["method"], "tag.get");

    for (uri, count) in [
        (format!("{C1}/registrations"), 2),
        (format!("{C1}/projects/p1/registrations"), 2),
        ("/ttp/connect/participants/bob/registrations".to_owned(), 1),
        (format!("{C1}/participants/bob/registrations"), 1),
        (
            "/ttp/connect/participants/bob/collaborations/c1/registrations".to_owned(),
            1,
        ),
    ] {
        let (status, body) = app.get(&uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert_eq!(body["method"], "registrations.get");
        assert_eq!(body["data"].as_array().unwrap().len(), count, "{uri}");
    }

    let (_, list) = app.get("/ttp/connect/collaborations").await;
    assert_eq!(list["method"], "collaborations.get");
    assert_eq!(
        list["data"][0]["relations"]["Project"][0]["key"]["project_id"],
        "p1"
    );
}

async fn post_is_an_upsert_and_put_a_shallow_merge(db: TestDb) {
    let app = TestApp::on(db).await;
    let mq = json!({"host": "mq", "ports": {"main": 5672, "ui": 15672}, "secure": false});
    let first = app
        .post_ok(
            "/ttp/connect/collaborations/",
            json!({"collab_id": "c1", "mq": mq}),
            201,
        )
        .await;
    let again = app
        .post_ok(
            "/ttp/connect/collaborations",
            json!({"collab_id": "c1", "mlops": mq}),
            201,
        )
        .await;
    assert_eq!(first["doc_id"], again["doc_id"]);
    assert_eq!(again["mq"], mq, "upsert keeps the fields it was not given");
    assert_eq!(again["mlops"], mq);

    let (status, body) = app
        .call("PUT", C1, Some(json!({"mq": {"host": "mq2", "ports": {"main": 1, "ui": 2}}, "key": {"collab_id": "zz"}})))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["method"], "collaboration.put");
    assert_eq!(body["data"]["mq"]["host"], "mq2");
    assert_eq!(body["data"]["mlops"], mq);
    assert_eq!(body["data"]["key"]["collab_id"], "c1", "`key` is ignored");

    let (status, body) = app.call("PUT", C1, Some(json!({"link": {}}))).await;
    assert_eq!(status.as_u16(), 417);
    assert!(body["message"].as_str().unwrap().contains("`link`"));
}

async fn missing_records_give_the_synergos_404_messages(db: TestDb) {
    let app = TestApp::on(db).await;
    let cases = [
        (
            "GET",
            "/ttp/connect/collaborations/nope",
            "Collaboration 'nope' does not exist!",
        ),
        (
            "DELETE",
            "/ttp/connect/collaborations/nope",
            "Collaboration 'nope' does not exist!",
        ),
        (
            "GET",
            "/ttp/connect/participants/ghost",
            "Participant 'ghost' does not exist!",
        ),
        (
            "GET",
            "/ttp/connect/collaborations/c/projects/p/participants/x/registration",
            "Participant 'x' has not registered for Project 'p'!",
        ),
        (
            "GET",
            "/ttp/train/collaborations/c/projects/p/alignments",
            "MFA has not been performed for Project 'p'!",
        ),
        (
            "GET",
            "/ttp/train/collaborations/c/projects/p/models",
            "Models do not exist for specified keyword filters!",
        ),
        (
            "GET",
            "/ttp/evaluate/collaborations/c/projects/p/validations/e/r/x",
            "Validations do not exist for specified keyword filters!",
        ),
    ];
    for (method, uri, message) in cases {
        let (status, body) = app.call(method, uri, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}");
        assert_eq!(body, json!({"message": message}), "{method} {uri}");
    }
    // Creating under a missing parent names the parent.
    let (status, body) = app
        .post(
            &format!("{C1}/projects"),
            json!({"project_id": "p", "action": "classify", "incentives": {}}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], "Collaboration 'c1' does not exist!");
}

async fn invalid_bodies_are_417_naming_the_field_on_create_and_update(db: TestDb) {
    let app = TestApp::on(db).await;
    app.post_ok(
        "/ttp/connect/collaborations",
        json!({"collab_id": "c1"}),
        201,
    )
    .await;
    let projects = format!("{C1}/projects");
    let cases = [
        (
            projects.clone(),
            json!({"action": "classify", "incentives": {}}),
            "project_id",
        ),
        (
            projects.clone(),
            json!({"project_id": "p", "action": "cluster", "incentives": {}}),
            "action",
        ),
        (
            projects.clone(),
            json!({"project_id": "p", "action": "classify"}),
            "incentives",
        ),
        (
            projects.clone(),
            json!({"project_id": "a/b", "action": "classify", "incentives": {}}),
            "project_id",
        ),
        (
            "/ttp/connect/collaborations".to_owned(),
            json!({"collab_id": "c2", "mq": {"host": "h", "ports": {"main": 1}}}),
            "mq.ports.ui",
        ),
        (
            "/ttp/connect/participants".to_owned(),
            json!({"summary": "x"}),
            "id",
        ),
    ];
    for (uri, body, field) in cases {
        let (status, answer) = app.post(&uri, body.clone()).await;
        assert_eq!(status.as_u16(), 417, "{uri} {body}: {answer}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(field), "{message} should name {field}");
    }

    app.post_ok(
        &projects,
        json!({"project_id": "p1", "action": "regress", "incentives": {}}),
        201,
    )
    .await;
    let (status, answer) = app
        .call(
            "PUT",
            &format!("{projects}/p1"),
            Some(json!({"action": "nope"})),
        )
        .await;
    assert_eq!(status.as_u16(), 417, "updates are validated too");
    assert!(answer["message"].as_str().unwrap().contains("`action`"));

    let experiments = format!("{projects}/p1/experiments");
    let (status, answer) = app
        .post(
            &experiments,
            json!({"expt_id": "e1", "model": [{"l_type": "Linear"}]}),
        )
        .await;
    assert_eq!(status.as_u16(), 417);
    assert!(
        answer["message"].as_str().unwrap().contains("model"),
        "{answer}"
    );
    app.post_ok(
        &experiments,
        json!({"expt_id": "e1", "model": linear_model(3, 1)}),
        201,
    )
    .await;
    let (status, answer) = app
        .post(
            &format!("{experiments}/e1/runs"),
            json!({"run_id": "r1", "rounds": "many"}),
        )
        .await;
    assert_eq!(status.as_u16(), 417);
    assert!(
        answer["message"].as_str().unwrap().contains("rounds"),
        "{answer}"
    );

    app.post_ok("/ttp/connect/participants", json!({"id": "alice"}), 201)
        .await;
    let registration = format!("{projects}/p1/participants/alice/registration");
    let (status, answer) = app
        .post(
            &registration,
            json!({"role": "king", "n_count": 1, "node_0": {}}),
        )
        .await;
    assert_eq!(status.as_u16(), 417);
    assert!(answer["message"].as_str().unwrap().contains("role"));
    app.post_ok(
        &registration,
        json!({"role": "host", "n_count": 1, "node_0": {"host": "w", "port": 8020}}),
        201,
    )
    .await;
    for bad in [
        json!({"train": [["a", ".."]]}),
        json!({"train": [["a/b"]]}),
        json!({"evaluate": [["a"]]}),
    ] {
        let (status, answer) = app.post(&format!("{registration}/tags"), bad.clone()).await;
        assert_eq!(status.as_u16(), 417, "{bad}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains("train"),
            "{answer}"
        );
    }
}

async fn paths_work_with_and_without_a_trailing_slash(db: TestDb) {
    let app = TestApp::on(db).await;
    app.seed_project("c1", "p1").await;
    for uri in [
        "/ttp/connect/collaborations",
        "/ttp/connect/collaborations/",
        "/ttp/connect/collaborations/c1/",
        "/ttp/connect/collaborations/c1/projects/",
        "/ttp/connect/collaborations/c1/projects/p1/experiments/e1/runs/",
        "/ttp/connect/participants/",
        "/ttp/connect/collaborations/c1/projects/p1/participants/bob/registration/tags/",
        "/health/",
    ] {
        let (status, body) = app.get(uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
    let (status, body) = app
        .call("DELETE", "/ttp/connect/collaborations/", None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body["message"].is_string());
    let (_, health) = app.get("/health").await;
    assert_eq!(health, json!({"status": "ok"}));
}

async fn malformed_bodies_are_client_errors(db: TestDb) {
    let app = TestApp::on(db).await;
    let send = |body: &'static str, content_type: &'static str| {
        Request::builder()
            .method("POST")
            .uri("/ttp/connect/collaborations")
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap()
    };
    for (body, content_type) in [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("collab_id=c1", "application/x-www-form-urlencoded"),
        ("", "application/json"),
    ] {
        let (status, _, answer) = app.send(send(body, content_type)).await;
        assert!(status.is_client_error(), "{body:?} gave {status}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    let huge = "x".repeat(ttp_control::rest::MAX_BODY_BYTES + 1);
    let request = Request::builder()
        .method("POST")
        .uri("/ttp/connect/collaborations")
        .header("content-type", "application/json")
        .body(Body::from(huge))
        .unwrap();
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

async fn deletes_cascade_only_within_the_full_key(db: TestDb) {
    let app = TestApp::on(db).await;
    app.seed_project("c1", "p1").await;
    app.seed_project("c2", "p1").await;

    let (status, body) = app
        .call("DELETE", "/ttp/connect/collaborations/c1/projects/p1", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["method"], "project.delete");
    assert_eq!(
        body["data"]["key"],
        json!({"collab_id": "c1", "project_id": "p1"})
    );
    assert_eq!(
        body["data"]["relations"]["Run"].as_array().unwrap().len(),
        1,
        "the answer is the record before deletion"
    );

    for uri in [
        "/ttp/connect/collaborations/c1/projects/p1",
        "/ttp/connect/collaborations/c1/projects/p1/experiments/e1",
        "/ttp/connect/collaborations/c1/projects/p1/experiments/e1/runs/r1",
        "/ttp/connect/collaborations/c1/projects/p1/participants/alice/registration",
    ] {
        assert_eq!(app.get(uri).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
    for uri in [
        "/ttp/connect/collaborations/c2/projects/p1",
        "/ttp/connect/collaborations/c2/projects/p1/experiments/e1",
        "/ttp/connect/collaborations/c2/projects/p1/experiments/e1/runs/r1",
        "/ttp/connect/collaborations/c2/projects/p1/participants/alice/registration/tags",
    ] {
        assert_eq!(app.get(uri).await.0, StatusCode::OK, "{uri}");
    }
    // Participants are global and survive; their other registrations too.
    let (_, registrations) = app
        .get("/ttp/connect/participants/alice/registrations")
        .await;
    let keys: Vec<_> = registrations["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["key"]["collab_id"].clone())
        .collect();
    assert_eq!(keys, vec![json!("c2")]);

    // Deleting a participant removes its registrations everywhere.
    app.call("DELETE", "/ttp/connect/participants/alice", None)
        .await;
    let (status, _) = app
        .get("/ttp/connect/collaborations/c2/projects/p1/participants/alice/registration")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .get("/ttp/connect/collaborations/c2/projects/p1/participants/bob/registration")
        .await;
    assert_eq!(status, StatusCode::OK);
}
