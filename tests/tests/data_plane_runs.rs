//! End-to-end runs through the data plane's gRPC API with two real workers on
//! the heart-disease partitions: alignment, federated training, evaluation,
//! and a model much larger than one chunk crossing the wire both ways.

use std::collections::HashMap;

use tokio_stream::StreamExt;
use ttp_proto::v1::data_plane_client::DataPlaneClient;
use ttp_proto::v1::{
    AlignRequest, ParticipantData, RunKind, Scope, StartRunRequest, Tag, TagList, metric_value,
    run_event,
};
use ttp_tests::{DataPlane, Worker, datasets_dir, free_addr};

fn tags(list: &[&str]) -> TagList {
    TagList {
        tags: list
            .iter()
            .map(|t| Tag {
                tokens: t.split('/').map(str::to_owned).collect(),
            })
            .collect(),
    }
}

fn participants() -> Vec<ParticipantData> {
    (1..=2)
        .map(|p| ParticipantData {
            participant_id: format!("p{p}"),
            tags: HashMap::from([
                (
                    "train".to_owned(),
                    tags(&[&format!("heart_disease/data{p}/iid_{p}")]),
                ),
                ("evaluate".to_owned(), tags(&["heart_disease/validation"])),
            ]),
        })
        .collect()
}

fn plan(run: serde_json::Value) -> ttp_proto::v1::TrainingPlan {
    let run = run.as_object().cloned().unwrap_or_default();
    let hyper = ttp_learning::hyper::Hyperparameters::from_run(&run).expect("valid run");
    (&hyper.plan).into()
}

fn request(
    job: &str,
    kind: RunKind,
    model: serde_json::Value,
    rounds: u32,
    plan: ttp_proto::v1::TrainingPlan,
) -> StartRunRequest {
    StartRunRequest {
        job_id: job.to_owned(),
        scope: Some(Scope {
            collab_id: "c".into(),
            project_id: "p".into(),
            expt_id: "e".into(),
            run_id: job.to_owned(),
        }),
        kind: kind as i32,
        action: "classify".into(),
        model_json: model.to_string(),
        plan: Some(plan),
        rounds,
        participants: participants(),
        evaluate_participants: vec![],
        meta: "evaluate".into(),
        connect_timeout_s: 60,
    }
}

/// Collects a run's events; panics on RunFailed.
async fn run_to_end(
    client: &mut DataPlaneClient<tonic::transport::Channel>,
    request: StartRunRequest,
) -> Vec<run_event::Event> {
    let mut stream = client
        .start_run(request)
        .await
        .expect("run starts")
        .into_inner();
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        let event = event.expect("event").event.expect("event body");
        if let run_event::Event::Failed(failed) = &event {
            panic!("run failed: {}", failed.reason);
        }
        events.push(event);
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn federated_training_learns_heart_disease_and_workers_dial_before_the_server() {
    let outputs = tempfile::tempdir().expect("tempdir");
    // Workers start first: the data plane is not up yet, so they must keep dialing.
    let ws = free_addr().await.expect("port");
    let workers: Vec<Worker> = (1..=2)
        .map(|p| Worker::start(ws, &format!("p{p}"), &datasets_dir()))
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let data = DataPlane::start(outputs.path(), ws)
        .await
        .expect("data plane");
    let mut client = DataPlaneClient::connect(data.grpc_url())
        .await
        .expect("grpc");

    let aligned = client
        .align(AlignRequest {
            action: "classify".into(),
            participants: participants(),
            connect_timeout_s: 60,
        })
        .await
        .expect("align")
        .into_inner();
    let layout = aligned.layout.expect("layout");
    assert_eq!(layout.x_headers.len(), 28, "{:?}", layout.x_headers);
    assert_eq!(layout.y_headers.len(), 5);

    let model = serde_json::json!([{"is_input": true, "l_type": "Linear",
        "structure": {"in_features": 28, "out_features": 5}, "activation": null}]);
    let plan = plan(
        serde_json::json!({"algorithm": "FedAvg", "epochs": 5, "batch_size": 32,
        "lr": 0.01, "optimizer": "Adam", "criterion": "CrossEntropyLoss"}),
    );
    let events = run_to_end(
        &mut client,
        request("train1", RunKind::Train, model.clone(), 5, plan.clone()),
    )
    .await;
    let rounds: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            run_event::Event::RoundCompleted(r) => Some(r.round),
            _ => None,
        })
        .collect();
    assert_eq!(rounds, [1, 2, 3, 4, 5]);
    assert!(matches!(
        events.last(),
        Some(run_event::Event::Completed(_))
    ));
    assert!(
        outputs
            .path()
            .join("c/p/e/train1/global_model.pt")
            .is_file()
    );

    let mut evaluation = request("train1", RunKind::Evaluate, model, 0, plan);
    evaluation.job_id = "eval1".into();
    let events = run_to_end(&mut client, evaluation).await;
    let accuracies: Vec<(String, f64)> = events
        .iter()
        .filter_map(|e| match e {
            run_event::Event::ParticipantEvaluated(p) => {
                let acc = p.statistics.get("top1_accuracy")?.value.clone()?;
                match acc {
                    metric_value::Value::Scalar(v) => Some((p.participant_id.clone(), v)),
                    metric_value::Value::PerClass(_) => None,
                }
            }
            _ => None,
        })
        .collect();
    assert_eq!(accuracies.len(), 2, "{events:?}");
    for (participant, accuracy) in accuracies {
        println!("{participant}: top-1 accuracy {accuracy:.3}");
        // Central logistic regression reaches 0.59, the majority class 0.44.
        assert!(accuracy >= 0.52, "{participant}: top-1 accuracy {accuracy}");
    }

    for worker in workers {
        worker.shutdown().await;
    }
    data.shutdown().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_larger_than_one_chunk_crosses_the_wire_both_ways() {
    let outputs = tempfile::tempdir().expect("tempdir");
    let data = DataPlane::start(outputs.path(), "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("data plane");
    let workers: Vec<Worker> = (1..=2)
        .map(|p| Worker::start(data.ws, &format!("p{p}"), &datasets_dir()))
        .collect();
    let mut client = DataPlaneClient::connect(data.grpc_url())
        .await
        .expect("grpc");

    // 28 x 200k + 200k x 5 floats: about 26 MiB, several 4 MiB chunks per transfer.
    let hidden = 200_000;
    let model = serde_json::json!([
        {"l_type": "Linear", "structure": {"in_features": 28, "out_features": hidden}, "activation": "relu"},
        {"l_type": "Linear", "structure": {"in_features": hidden, "out_features": 5}, "activation": null}
    ]);
    let plan = plan(
        serde_json::json!({"algorithm": "FedAvg", "epochs": 1, "lr": 0.001,
        "optimizer": "SGD", "criterion": "CrossEntropyLoss"}),
    );
    let events = run_to_end(&mut client, request("big", RunKind::Train, model, 1, plan)).await;
    let trained = events
        .iter()
        .filter(|e| matches!(e, run_event::Event::ParticipantTrained(_)))
        .count();
    assert_eq!(trained, 2, "both workers sent their local model back");
    let saved = std::fs::metadata(outputs.path().join("c/p/e/big/global_model.pt")).expect("saved");
    assert!(
        saved.len() > 20 * 1024 * 1024,
        "global model is {} bytes",
        saved.len()
    );

    for worker in workers {
        worker.shutdown().await;
    }
    data.shutdown().await.expect("clean shutdown");
}
