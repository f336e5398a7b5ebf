//! The demo's flow end to end on ephemeral ports: control plane (SQLite), data
//! plane and two workers on the heart-disease partitions, driven through the
//! `ttp` CLI, checked through the Synergos REST surface.

use serde_json::Value;
use ttp_tests::{ControlPlane, DataPlane, Worker, datasets_dir, ttp};

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_drives_a_federated_run_to_validated_metrics() {
    let root = tempfile::tempdir().expect("tempdir");
    let data = DataPlane::start(
        &root.path().join("outputs"),
        "127.0.0.1:0".parse().expect("addr"),
    )
    .await
    .expect("data plane");
    let control = ControlPlane::start(root.path(), &data.grpc_url())
        .await
        .expect("control plane");
    let workers: Vec<Worker> = (1..=2)
        .map(|p| Worker::start(data.ws, &format!("participant_{p}"), &datasets_dir()))
        .collect();
    let url = control.url();
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/demo/model.json");

    let steps: Vec<Vec<&str>> = vec![
        vec!["collaboration", "create", "c"],
        vec!["project", "create", "c", "p", "--action", "classify"],
        vec!["experiment", "create", "c", "p", "e", "--model", model],
        vec![
            "run",
            "create",
            "c",
            "p",
            "e",
            "r",
            "--set",
            "algorithm=FedAvg",
            "--set",
            "rounds=6",
            "--set",
            "epochs=5",
            "--set",
            "batch_size=32",
            "--set",
            "lr=0.01",
            "--set",
            "optimizer=Adam",
            "--set",
            "criterion=CrossEntropyLoss",
        ],
        vec!["participant", "create", "participant_1"],
        vec!["participant", "create", "participant_2"],
        vec![
            "register",
            "c",
            "p",
            "participant_1",
            "--train",
            "heart_disease/data1/iid_1",
            "--evaluate",
            "heart_disease/validation",
        ],
        vec![
            "register",
            "c",
            "p",
            "participant_2",
            "--train",
            "heart_disease/data2/iid_2",
            "--evaluate",
            "heart_disease/validation",
        ],
        vec!["align", "c", "p"],
        vec!["train", "c", "p"],
        vec!["validate", "c", "p", "--summary"],
    ];
    for step in steps {
        ttp(&url, &step)
            .await
            .unwrap_or_else(|e| panic!("`ttp {}` failed: {e}", step.join(" ")));
    }

    // Alignment fitted the experiment to the 28 one-hot features and 5 classes.
    let (status, experiment) = get(&format!(
        "{url}/ttp/connect/collaborations/c/projects/p/experiments/e"
    ))
    .await;
    assert_eq!(status, 200);
    let layer = &experiment["data"]["model"][0]["structure"];
    assert_eq!(
        (
            layer["in_features"].as_u64(),
            layer["out_features"].as_u64()
        ),
        (Some(28), Some(5))
    );

    let (status, models) = get(&format!(
        "{url}/ttp/train/collaborations/c/projects/p/models"
    ))
    .await;
    assert_eq!(status, 200);
    let history = &models["data"][0]["global"]["loss_history"]["train"];
    assert_eq!(history.as_object().map(|h| h.len()), Some(6), "{models}");

    let (status, validations) = get(&format!(
        "{url}/ttp/evaluate/collaborations/c/projects/p/validations"
    ))
    .await;
    assert_eq!(status, 200);
    let records = validations["data"].as_array().expect("list");
    assert_eq!(records.len(), 2);
    for record in records {
        let participant = record["key"]["participant_id"].as_str().unwrap_or("?");
        let accuracy = record["evaluate"]["statistics"]["top1_accuracy"]
            .as_f64()
            .expect("top-1 accuracy");
        // Central logistic regression reaches 0.59, the majority class 0.44.
        assert!(accuracy >= 0.55, "{participant}: top-1 accuracy {accuracy}");
        let per_class = record["evaluate"]["statistics"]["f_score"]
            .as_array()
            .expect("per class");
        assert_eq!(per_class.len(), 5);
    }

    // Participant-initiated prediction on its own labelled rows.
    let predictions =
        format!("{url}/ttp/evaluate/participants/participant_1/collaborations/c/predictions");
    let client = reqwest::Client::new();
    let response = client
        .post(&predictions)
        .json(&serde_json::json!({"tags": {"p": [["heart_disease", "data1", "non_iid_1"]]}}))
        .send()
        .await
        .expect("predict");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    let records = body["data"].as_array().expect("list");
    assert_eq!(records.len(), 1, "{body}");
    assert_eq!(records[0]["key"]["participant_id"], "participant_1");
    assert!(
        records[0]["predict"]["statistics"]["top1_accuracy"]
            .as_f64()
            .is_some()
    );
    let (status, _) = get(&predictions).await;
    assert_eq!(status, 200);

    // Predict data with other columns would move the other participant's
    // alignment: refused as feature drift, as in Synergos.
    let response = client
        .post(&predictions)
        .json(&serde_json::json!({"tags": {"p": [["abalone", "data1", "predict"]]}}))
        .send()
        .await
        .expect("predict");
    assert_eq!(response.status().as_u16(), 403);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["message"], "Feature drift detected!");

    for worker in workers {
        worker.shutdown().await;
    }
    control.shutdown().await.expect("control plane stops");
    data.shutdown().await.expect("data plane stops");
}
