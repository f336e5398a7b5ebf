//! The public gRPC API over real listeners on port 0 with a fake data plane:
//! the Synergos hierarchy through the record rpcs (relations, shallow merge,
//! cascading delete), error codes naming the field, the operations and the
//! WatchRun stream, reflection and health.

// Test helpers panic on purpose when the system under test misbehaves.
#![allow(clippy::unwrap_used)]

// The transport is what is under test here, so one backend (SQLite) is
// enough; the harness's both-backends macro goes unused.
#[allow(unused_macros, unused_imports)]
mod common;

use std::time::Duration;

use common::{TestApp, TestDb, alignment_response, completed, evaluated, linear_model, round};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_stream::StreamExt;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use ttp_proto::control::v1 as pb;
use ttp_proto::control::v1::control_client::ControlClient;

use pb::RecordKind as K;

/// A control plane serving REST and gRPC on port 0 over a SQLite database.
struct Served {
    app: TestApp,
    channel: Channel,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Served {
    async fn start() -> Served {
        let app = TestApp::on(TestDb::sqlite()).await;
        let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let grpc_addr = grpc.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(ttp_control::serve(app.state.clone(), rest, grpc, async {
            let _ = stopped.await;
        }));
        let channel = Endpoint::from_shared(format!("http://{grpc_addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        Served {
            app,
            channel,
            stop: Some(stop),
            server,
        }
    }

    fn client(&self) -> ControlClient<Channel> {
        ControlClient::new(self.channel.clone())
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(10), &mut self.server)
            .await
            .expect("the servers stop")
            .unwrap()
            .unwrap();
    }
}

fn key(collab: &str, project: &str, expt: &str, run: &str, participant: &str) -> pb::RecordKey {
    pb::RecordKey {
        collab_id: collab.into(),
        project_id: project.into(),
        expt_id: expt.into(),
        run_id: run.into(),
        participant_id: participant.into(),
    }
}

fn fields(record: &pb::Record) -> Value {
    serde_json::from_str(&record.fields_json).unwrap()
}

fn relation(record: &pb::Record, kind: K) -> &[pb::Record] {
    record
        .relations
        .iter()
        .find(|r| r.kind == kind as i32)
        .map(|r| r.records.as_slice())
        .unwrap_or_else(|| panic!("no {kind:?} relation"))
}

async fn upsert(
    client: &mut ControlClient<Channel>,
    kind: K,
    key: pb::RecordKey,
    body: Value,
) -> Result<pb::Record, Status> {
    client
        .upsert_record(pb::UpsertRecordRequest {
            kind: kind as i32,
            key: Some(key),
            fields_json: body.to_string(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn get(
    client: &mut ControlClient<Channel>,
    kind: K,
    key: pb::RecordKey,
) -> Result<pb::Record, Status> {
    client
        .get_record(pb::GetRecordRequest {
            kind: kind as i32,
            key: Some(key),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn list(
    client: &mut ControlClient<Channel>,
    kind: K,
    filter: pb::RecordKey,
) -> Vec<pb::Record> {
    client
        .list_records(pb::ListRecordsRequest {
            kind: kind as i32,
            filter: Some(filter),
        })
        .await
        .unwrap()
        .into_inner()
        .records
}

/// Asserts `result` failed with `code` and a message containing `needle`.
#[track_caller]
fn assert_status<T: std::fmt::Debug>(result: Result<T, Status>, code: Code, needle: &str) {
    let status = result.expect_err("the call must fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(needle),
        "`{}` does not mention {needle}",
        status.message()
    );
}

/// Phase 1 over gRPC: a two-participant project with tags.
async fn seed(client: &mut ControlClient<Channel>) {
    upsert(
        client,
        K::Collaboration,
        key("c1", "", "", "", ""),
        json!({}),
    )
    .await
    .unwrap();
    upsert(
        client,
        K::Project,
        key("c1", "p1", "", "", ""),
        json!({"action": "classify", "incentives": {}}),
    )
    .await
    .unwrap();
    upsert(
        client,
        K::Experiment,
        key("c1", "p1", "e1", "", ""),
        json!({"model": linear_model(4, 4)}),
    )
    .await
    .unwrap();
    upsert(
        client,
        K::Run,
        key("c1", "p1", "e1", "r1", ""),
        json!({"rounds": 2, "epochs": 1, "lr": 0.01}),
    )
    .await
    .unwrap();
    for participant in ["alice", "bob"] {
        upsert(
            client,
            K::Participant,
            key("", "", "", "", participant),
            json!({}),
        )
        .await
        .unwrap();
        upsert(
            client,
            K::Registration,
            key("c1", "p1", "", "", participant),
            json!({"role": "guest", "n_count": 1, "node_0": {"host": "w", "port": 8020}}),
        )
        .await
        .unwrap();
        upsert(
            client,
            K::Tag,
            key("c1", "p1", "", "", participant),
            json!({"train": [["heart", participant, "train"]], "evaluate": [["heart", participant, "test"]]}),
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn records_follow_the_synergos_hierarchy() {
    let served = Served::start().await;
    let mut client = served.client();
    seed(&mut client).await;

    let project = get(&mut client, K::Project, key("c1", "p1", "", "", ""))
        .await
        .unwrap();
    assert_eq!(project.kind, K::Project as i32);
    assert_eq!(project.key, Some(key("c1", "p1", "", "", "")));
    assert_eq!(fields(&project)["action"], "classify");
    assert!(project.created_at.ends_with('Z'), "{}", project.created_at);
    assert_eq!(relation(&project, K::Experiment).len(), 1);
    assert_eq!(relation(&project, K::Registration).len(), 2);

    let alice = get(&mut client, K::Participant, key("", "", "", "", "alice"))
        .await
        .unwrap();
    assert_eq!(fields(&alice)["id"], "alice", "the id defaults to the key");

    let registration = get(&mut client, K::Registration, key("c1", "p1", "", "", "bob"))
        .await
        .unwrap();
    let mut links: Vec<_> = registration.links.iter().map(|l| l.name.as_str()).collect();
    links.sort_unstable();
    assert_eq!(links, ["collaboration", "participant", "project"]);
    assert!(fields(&registration)["link"]["registration_id"].is_string());

    let of_alice = list(&mut client, K::Registration, key("", "", "", "", "alice")).await;
    assert_eq!(of_alice.len(), 1);
    assert_eq!(of_alice[0].key.as_ref().unwrap().participant_id, "alice");
    assert_eq!(
        list(&mut client, K::Registration, key("c1", "", "", "", ""))
            .await
            .len(),
        2
    );
    assert!(
        list(&mut client, K::Project, key("c2", "", "", "", ""))
            .await
            .is_empty(),
        "an unknown collaboration lists nothing"
    );

    // Shallow merge; the merged record is validated before it is written.
    let updated = client
        .update_record(pb::UpdateRecordRequest {
            kind: K::Project as i32,
            key: Some(key("c1", "p1", "", "", "")),
            fields_json: json!({"start_at": "2024-01-01"}).to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fields(&updated)["start_at"], "2024-01-01");
    assert_eq!(fields(&updated)["action"], "classify");
    let refused = client
        .update_record(pb::UpdateRecordRequest {
            kind: K::Project as i32,
            key: Some(key("c1", "p1", "", "", "")),
            fields_json: json!({"action": "cluster"}).to_string(),
        })
        .await;
    assert_status(refused, Code::InvalidArgument, "`action`");
    let unchanged = get(&mut client, K::Project, key("c1", "p1", "", "", ""))
        .await
        .unwrap();
    assert_eq!(fields(&unchanged)["action"], "classify");
    let reregistered = client
        .update_record(pb::UpdateRecordRequest {
            kind: K::Registration as i32,
            key: Some(key("c1", "p1", "", "", "bob")),
            fields_json: json!({"role": "host"}).to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(fields(&reregistered)["role"], "host");
    assert_eq!(
        fields(&reregistered)["link"],
        fields(&registration)["link"],
        "the server's link is kept"
    );

    // Deleting the project takes everything under its key with it, and
    // nothing of another scope.
    let deleted = client
        .delete_record(pb::DeleteRecordRequest {
            kind: K::Project as i32,
            key: Some(key("c1", "p1", "", "", "")),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deleted.doc_id, project.doc_id);
    assert_eq!(relation(&deleted, K::Run).len(), 1, "returned as it was");
    assert_status(
        get(&mut client, K::Experiment, key("c1", "p1", "e1", "", "")).await,
        Code::NotFound,
        "Experiment 'e1' does not exist!",
    );
    assert!(
        list(&mut client, K::Tag, key("c1", "", "", "", ""))
            .await
            .is_empty()
    );
    assert!(
        list(&mut client, K::Registration, key("", "", "", "", ""))
            .await
            .is_empty()
    );
    assert_eq!(
        list(&mut client, K::Participant, pb::RecordKey::default())
            .await
            .len(),
        2
    );
    let collaboration = get(&mut client, K::Collaboration, key("c1", "", "", "", ""))
        .await
        .unwrap();
    assert!(relation(&collaboration, K::Project).is_empty());

    served.stop().await;
}

#[tokio::test]
async fn errors_name_the_field_with_the_rest_codes() {
    let served = Served::start().await;
    let mut client = served.client();
    upsert(
        &mut client,
        K::Collaboration,
        key("c1", "", "", "", ""),
        json!({}),
    )
    .await
    .unwrap();

    assert_status(
        get(&mut client, K::Collaboration, key("nope", "", "", "", "")).await,
        Code::NotFound,
        "Collaboration 'nope' does not exist!",
    );
    assert_status(
        upsert(
            &mut client,
            K::Project,
            key("c9", "p1", "", "", ""),
            json!({"action": "classify", "incentives": {}}),
        )
        .await,
        Code::NotFound,
        "Collaboration 'c9' does not exist!",
    );
    assert_status(
        upsert(
            &mut client,
            K::Project,
            key("c1", "", "", "", ""),
            json!({}),
        )
        .await,
        Code::InvalidArgument,
        "`key.project_id`",
    );
    assert_status(
        upsert(
            &mut client,
            K::Project,
            key("c1", "p1", "", "", ""),
            json!({"action": "cluster", "incentives": {}}),
        )
        .await,
        Code::InvalidArgument,
        "`action`",
    );
    assert_status(
        upsert(
            &mut client,
            K::Project,
            key("c1", "p1", "", "", ""),
            json!({"action": "classify"}),
        )
        .await,
        Code::InvalidArgument,
        "`incentives`",
    );
    assert_status(
        upsert(
            &mut client,
            K::Collaboration,
            key("../x", "", "", "", ""),
            json!({}),
        )
        .await,
        Code::InvalidArgument,
        "`key.collab_id`",
    );
    assert_status(
        upsert(
            &mut client,
            K::Collaboration,
            key("c2", "", "", "", ""),
            json!({"collab_id": "c3"}),
        )
        .await,
        Code::InvalidArgument,
        "`fields_json.collab_id`",
    );
    assert_status(
        upsert(
            &mut client,
            K::Collaboration,
            key("c1", "", "", "", ""),
            json!({"link": {}}),
        )
        .await,
        Code::InvalidArgument,
        "`link`",
    );
    assert_status(
        upsert(
            &mut client,
            K::Unspecified,
            key("c1", "", "", "", ""),
            json!({}),
        )
        .await,
        Code::InvalidArgument,
        "`kind`",
    );
    assert_status(
        upsert(
            &mut client,
            K::Model,
            key("c1", "p1", "e1", "r1", ""),
            json!({}),
        )
        .await,
        Code::InvalidArgument,
        "Train operation",
    );
    let not_json = client
        .upsert_record(pb::UpsertRecordRequest {
            kind: K::Collaboration as i32,
            key: Some(key("c2", "", "", "", "")),
            fields_json: "[1, 2]".into(),
        })
        .await;
    assert_status(not_json, Code::InvalidArgument, "`fields_json`");
    let wrong_filter = client
        .list_records(pb::ListRecordsRequest {
            kind: K::Project as i32,
            filter: Some(key("c1", "", "e1", "", "")),
        })
        .await;
    assert_status(wrong_filter, Code::InvalidArgument, "`filter.expt_id`");

    assert_status(
        client
            .get_job(pb::GetJobRequest {
                job_id: "missing".into(),
            })
            .await,
        Code::NotFound,
        "Job 'missing' does not exist!",
    );
    assert_status(
        client.get_job(pb::GetJobRequest::default()).await,
        Code::InvalidArgument,
        "`job_id`",
    );
    assert_status(
        client
            .watch_run(pb::WatchRunRequest {
                job_id: "missing".into(),
            })
            .await,
        Code::NotFound,
        "Job 'missing' does not exist!",
    );
    let gap = client
        .train(pb::TrainRequest {
            scope: Some(key("c1", "p1", "", "r1", "")),
            wait: false,
        })
        .await;
    assert_status(
        gap,
        Code::InvalidArgument,
        "`scope.run_id` needs `scope.expt_id`",
    );
    let unknown_project = client
        .align(pb::AlignRequest {
            project: Some(key("c1", "p9", "", "", "")),
            ..Default::default()
        })
        .await;
    assert_status(
        unknown_project,
        Code::NotFound,
        "Project 'p9' does not exist!",
    );

    // Requests are capped like REST bodies.
    let huge = "x".repeat(11 * 1024 * 1024);
    let too_big = client
        .upsert_record(pb::UpsertRecordRequest {
            kind: K::Collaboration as i32,
            key: Some(key("c2", "", "", "", "")),
            fields_json: json!({ "note": huge }).to_string(),
        })
        .await;
    assert_status(too_big, Code::OutOfRange, "too large");

    served.stop().await;
}

/// Reads the stream to its end, failing if it does not end.
async fn drain(stream: &mut tonic::Streaming<pb::JobEvent>) -> Vec<pb::JobEvent> {
    let mut events = Vec::new();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("WatchRun ends after the terminal event");
        match next {
            Some(event) => events.push(event.unwrap()),
            None => return events,
        }
    }
}

fn detail(event: &pb::JobEvent) -> Value {
    serde_json::from_str(&event.detail_json).unwrap()
}

#[tokio::test]
async fn operations_run_as_jobs_and_watch_run_streams_their_progress() {
    let served = Served::start().await;
    let mut client = served.client();
    seed(&mut client).await;
    let fake = served.app.fake.clone();
    let project = key("c1", "p1", "", "", "");

    let unaligned = client
        .train(pb::TrainRequest {
            scope: Some(project.clone()),
            wait: false,
        })
        .await;
    assert_status(unaligned, Code::FailedPrecondition, "alignments");

    *fake.align_response.lock().unwrap() = Some(Ok(alignment_response()));
    let aligned = client
        .align(pb::AlignRequest {
            project: Some(project.clone()),
            wait: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(aligned.kind, pb::JobKind::Align as i32);
    assert_eq!(aligned.state, pb::JobState::Succeeded as i32);
    let result: Value = serde_json::from_str(&aligned.result_json).unwrap();
    assert_eq!(result.as_array().unwrap().len(), 2);
    let bob = get(&mut client, K::Alignment, key("c1", "p1", "", "", "bob"))
        .await
        .unwrap();
    assert_eq!(fields(&bob)["train"], json!({"X": [10, 11], "y": []}));
    let experiment = get(&mut client, K::Experiment, key("c1", "p1", "e1", "", ""))
        .await
        .unwrap();
    assert_eq!(
        fields(&experiment)["model"][0]["structure"]["in_features"],
        28,
        "auto_fix resized the model"
    );

    // Training answers at once; WatchRun follows it to the end.
    let run = fake.live_run();
    let started = client
        .train(pb::TrainRequest {
            scope: Some(key("c1", "p1", "e1", "", "")),
            wait: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(started.kind, pb::JobKind::Train as i32);
    assert_eq!(started.scope, Some(key("c1", "p1", "e1", "", "")));
    let mut stream = client
        .watch_run(pb::WatchRunRequest {
            job_id: started.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let snapshot = stream.next().await.unwrap().unwrap();
    assert_eq!(snapshot.r#type, pb::JobEventType::Progress as i32);
    assert_eq!(snapshot.job_id, started.id);
    for event in [round(1, 2, 0.6), round(2, 2, 0.4), completed()] {
        run.send(Ok(ttp_proto::v1::RunEvent { event: Some(event) }))
            .await
            .unwrap();
    }
    let events = drain(&mut stream).await;
    let rounds: Vec<_> = events
        .iter()
        .filter(|e| e.r#type == pb::JobEventType::Round as i32)
        .collect();
    assert_eq!(rounds.len(), 2, "{events:?}");
    assert_eq!(rounds[0].progress.as_ref().unwrap().round, 1);
    assert_eq!(detail(rounds[1])["train_loss"], 0.4);
    assert_eq!(detail(rounds[1])["expt_id"], "e1");
    let last = events.last().unwrap();
    assert_eq!(last.r#type, pb::JobEventType::Completed as i32);
    assert_eq!(last.state, pb::JobState::Succeeded as i32);
    assert_eq!(detail(last)["result"][0]["kind"], "Model");

    let finished = client
        .get_job(pb::GetJobRequest {
            job_id: started.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(finished.state, pb::JobState::Succeeded as i32);
    assert_eq!(finished.progress.unwrap().round, 2);
    assert_eq!(list(&mut client, K::Model, project.clone()).await.len(), 1);

    // A finished job's stream is its terminal snapshot alone.
    let mut replay = client
        .watch_run(pb::WatchRunRequest {
            job_id: started.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let replayed = drain(&mut replay).await;
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].r#type, pb::JobEventType::Completed as i32);

    // Validation writes a record per evaluated participant.
    fake.script_run(vec![
        evaluated("alice", 0.8),
        evaluated("bob", 0.7),
        completed(),
    ]);
    let validated = client
        .validate(pb::ValidateRequest {
            scope: Some(project.clone()),
            wait: true,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(validated.state, pb::JobState::Succeeded as i32);
    let validations = list(&mut client, K::Validation, project.clone()).await;
    assert_eq!(validations.len(), 2);
    assert_eq!(
        fields(&validations[0])["evaluate"]["statistics"]["accuracy"],
        0.8
    );

    // A failing job answers a waiting caller with the job's error and id.
    fake.script_run(vec![ttp_proto::v1::run_event::Event::Failed(
        ttp_proto::v1::RunFailed {
            reason: "participant `bob`: column `age` is missing".into(),
        },
    )]);
    let failed = client
        .train(pb::TrainRequest {
            scope: Some(project.clone()),
            wait: true,
        })
        .await
        .unwrap_err();
    assert_eq!(failed.code(), Code::FailedPrecondition, "{failed:?}");
    assert!(failed.message().contains("`age`"), "{failed:?}");
    let failed_id = failed
        .metadata()
        .get(ttp_control::grpc::JOB_ID_METADATA)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let failed_job = client
        .get_job(pb::GetJobRequest { job_id: failed_id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(failed_job.state, pb::JobState::Failed as i32);

    served.stop().await;
}

#[tokio::test]
async fn predict_runs_a_participant_inference() {
    let served = Served::start().await;
    let mut client = served.client();
    seed(&mut client).await;
    let fake = served.app.fake.clone();
    *fake.align_response.lock().unwrap() = Some(Ok(alignment_response()));
    client
        .align(pb::AlignRequest {
            project: Some(key("c1", "p1", "", "", "")),
            wait: true,
            ..Default::default()
        })
        .await
        .unwrap();
    fake.script_run(vec![round(1, 2, 0.6), round(2, 2, 0.4), completed()]);
    client
        .train(pb::TrainRequest {
            scope: Some(key("c1", "p1", "", "", "")),
            wait: true,
        })
        .await
        .unwrap();

    let missing_collab = client
        .predict(pb::PredictRequest {
            scope: Some(key("", "", "", "", "alice")),
            ..Default::default()
        })
        .await;
    assert_status(missing_collab, Code::InvalidArgument, "`scope.collab_id`");

    let mut prediction = evaluated("alice", 0.9);
    if let ttp_proto::v1::run_event::Event::ParticipantEvaluated(evaluated) = &mut prediction {
        evaluated.meta = "predict".into();
    }
    fake.script_run(vec![prediction, completed()]);
    // Declared through the record API (a PUT of the tags: their stored
    // `link` must not trip the merged-record check). New tags sent with the
    // request itself take the path of `jobs::predict`.
    let alice = key("c1", "p1", "", "", "alice");
    let tagged = client
        .update_record(pb::UpdateRecordRequest {
            kind: K::Tag as i32,
            key: Some(alice.clone()),
            fields_json: json!({"predict": [["heart", "alice", "predict"]]}).to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(fields(&tagged)["link"]["tag_id"].is_string());
    assert_eq!(
        fields(&tagged)["train"],
        json!([["heart", "alice", "train"]])
    );
    let predicted = client
        .predict(pb::PredictRequest {
            scope: Some(alice.clone()),
            wait: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(predicted.kind, pb::JobKind::Predict as i32);
    assert_eq!(predicted.state, pb::JobState::Succeeded as i32);
    let requests = fake.run_requests();
    let request = &requests[1];
    assert_eq!(request.meta, "predict");
    assert_eq!(request.evaluate_participants, ["alice"]);
    let predictions = list(&mut client, K::Prediction, alice).await;
    assert_eq!(predictions.len(), 1);
    assert_eq!(
        fields(&predictions[0])["predict"]["statistics"]["accuracy"],
        0.9
    );

    served.stop().await;
}

#[tokio::test]
async fn reflection_lists_the_services_and_health_is_serving() {
    use tonic_reflection::pb::v1 as reflection;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let served = Served::start().await;
    let mut client =
        reflection::server_reflection_client::ServerReflectionClient::new(served.channel.clone());
    let ask = |request: MessageRequest| {
        tokio_stream::iter([reflection::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        }])
    };
    let mut answers = client
        .server_reflection_info(ask(MessageRequest::ListServices(String::new())))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(listed)) =
        answers.next().await.unwrap().unwrap().message_response
    else {
        panic!("not a service list");
    };
    let mut names: Vec<_> = listed.service.into_iter().map(|s| s.name).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "ttp.control.v1.Control",
        ]
    );
    let mut answers = client
        .server_reflection_info(ask(MessageRequest::FileContainingSymbol(
            "ttp.control.v1.Control".into(),
        )))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::FileDescriptorResponse(files)) =
        answers.next().await.unwrap().unwrap().message_response
    else {
        panic!("not a file descriptor");
    };
    assert!(!files.file_descriptor_proto.is_empty());

    // Older tools (grpcurl before v1 support) ask the v1alpha service.
    let mut alpha =
        tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient::new(
            served.channel.clone(),
        );
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(
            tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            ),
        ),
    };
    let answer = alpha
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .unwrap()
        .into_inner()
        .next()
        .await
        .unwrap()
        .unwrap();
    assert!(format!("{answer:?}").contains("ttp.control.v1.Control"));

    let mut health = tonic_health::pb::health_client::HealthClient::new(served.channel.clone());
    for service in ["", "ttp.control.v1.Control"] {
        let answer = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service:?}"
        );
    }

    served.stop().await;
}
