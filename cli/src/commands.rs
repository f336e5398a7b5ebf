//! One function per command: build the Synergos request, call, print.

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::args::*;
use crate::client::{Client, ClientError};
use crate::output;

const CONNECT: &str = "/ttp/connect";

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<(), ClientError> {
    let client = Client::new(&cli.url);
    let json_out = cli.json;
    let show = |value: &Value| {
        if json_out {
            output::json(value);
        } else {
            print_records(value);
        }
    };
    match cli.command {
        Command::Collaboration(cmd) => {
            let value = match cmd {
                CollaborationCmd::Create { collab_id } => {
                    let body = json!({ "collab_id": collab_id });
                    client
                        .call(
                            Method::POST,
                            &format!("{CONNECT}/collaborations"),
                            Some(&body),
                        )
                        .await?
                }
                CollaborationCmd::List => {
                    client
                        .call(Method::GET, &format!("{CONNECT}/collaborations"), None)
                        .await?
                }
                CollaborationCmd::Get { collab_id } => {
                    client
                        .call(
                            Method::GET,
                            &format!("{CONNECT}/collaborations/{collab_id}"),
                            None,
                        )
                        .await?
                }
                CollaborationCmd::Delete { collab_id } => {
                    client
                        .call(
                            Method::DELETE,
                            &format!("{CONNECT}/collaborations/{collab_id}"),
                            None,
                        )
                        .await?
                }
            };
            show(&value);
        }
        Command::Project(cmd) => {
            let value = match cmd {
                ProjectCmd::Create {
                    collab_id,
                    project_id,
                    action,
                } => {
                    let body =
                        json!({ "project_id": project_id, "action": action, "incentives": {} });
                    client
                        .call(
                            Method::POST,
                            &format!("{CONNECT}/collaborations/{collab_id}/projects"),
                            Some(&body),
                        )
                        .await?
                }
                ProjectCmd::List { collab_id } => {
                    client
                        .call(
                            Method::GET,
                            &format!("{CONNECT}/collaborations/{collab_id}/projects"),
                            None,
                        )
                        .await?
                }
                ProjectCmd::Delete {
                    collab_id,
                    project_id,
                } => {
                    client
                        .call(
                            Method::DELETE,
                            &format!("{CONNECT}/collaborations/{collab_id}/projects/{project_id}"),
                            None,
                        )
                        .await?
                }
            };
            show(&value);
        }
        Command::Experiment(cmd) => {
            let value = match cmd {
                ExperimentCmd::Create {
                    collab_id,
                    project_id,
                    expt_id,
                    model,
                } => {
                    let model = read_json_arg(&model)?;
                    let body = json!({ "expt_id": expt_id, "model": model });
                    client.call(Method::POST, &format!("{CONNECT}/collaborations/{collab_id}/projects/{project_id}/experiments"), Some(&body)).await?
                }
                ExperimentCmd::List {
                    collab_id,
                    project_id,
                } => client
                    .call(
                        Method::GET,
                        &format!(
                            "{CONNECT}/collaborations/{collab_id}/projects/{project_id}/experiments"
                        ),
                        None,
                    )
                    .await?,
            };
            show(&value);
        }
        Command::Run(cmd) => {
            let value = match cmd {
                RunCmd::Create { collab_id, project_id, expt_id, run_id, set } => {
                    let mut body = Map::new();
                    body.insert("run_id".into(), Value::String(run_id));
                    for pair in set {
                        let (key, value) = pair.split_once('=').ok_or_else(|| usage(format!("--set `{pair}` must be KEY=VALUE")))?;
                        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
                        body.insert(key.to_owned(), value);
                    }
                    client.call(Method::POST, &format!("{CONNECT}/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}/runs"), Some(&Value::Object(body))).await?
                }
                RunCmd::List { collab_id, project_id, expt_id } => {
                    client.call(Method::GET, &format!("{CONNECT}/collaborations/{collab_id}/projects/{project_id}/experiments/{expt_id}/runs"), None).await?
                }
            };
            show(&value);
        }
        Command::Participant(cmd) => {
            let value = match cmd {
                ParticipantCmd::Create { participant_id } => {
                    let body = json!({ "id": participant_id });
                    client
                        .call(
                            Method::POST,
                            &format!("{CONNECT}/participants"),
                            Some(&body),
                        )
                        .await?
                }
                ParticipantCmd::List => {
                    client
                        .call(Method::GET, &format!("{CONNECT}/participants"), None)
                        .await?
                }
            };
            show(&value);
        }
        Command::Register(args) => register(&client, args, &show).await?,
        Command::Align(scope) => {
            let path = format!(
                "/ttp/train/collaborations/{}/projects/{}/alignments",
                scope.collab_id, scope.project_id
            );
            let body = json!({ "auto_align": true, "auto_fix": true });
            let job = client.start_job(&path, &body).await?;
            let last = follow(&client, &job, json_out).await?;
            let value = job_result(&client, &job, &last).await?;
            show(&value);
        }
        Command::Train(args) => {
            let mut path = format!(
                "/ttp/train/collaborations/{}/projects/{}/models",
                args.collab_id, args.project_id
            );
            for part in [&args.expt_id, &args.run_id].into_iter().flatten() {
                path.push('/');
                path.push_str(part);
            }
            let job = client.start_job(&path, &json!({})).await?;
            let last = follow(&client, &job, json_out).await?;
            let value = job_result(&client, &job, &last).await?;
            show(&value);
        }
        Command::Validate(args) => {
            let mut path = format!(
                "/ttp/evaluate/collaborations/{}/projects/{}/validations",
                args.collab_id, args.project_id
            );
            for part in [&args.expt_id, &args.run_id, &args.participant_id]
                .into_iter()
                .flatten()
            {
                path.push('/');
                path.push_str(part);
            }
            let job = client.start_job(&path, &json!({})).await?;
            let last = follow(&client, &job, json_out).await?;
            let value = job_result(&client, &job, &last).await?;
            if json_out {
                output::json(&value);
            } else {
                print_validations(&value);
            }
            if args.summary {
                println!("{}", validation_summary(&value));
            }
        }
        Command::Job { id } => {
            let value = client
                .call(Method::GET, &format!("/ttp/jobs/{id}"), None)
                .await?;
            output::json(&value);
        }
    }
    Ok(())
}

async fn register(
    client: &Client,
    args: RegisterArgs,
    show: &impl Fn(&Value),
) -> Result<(), ClientError> {
    let base = format!(
        "{CONNECT}/collaborations/{}/projects/{}/participants/{}/registration",
        args.collab_id, args.project_id, args.participant_id
    );
    let registration = json!({
        "role": args.role,
        "n_count": 1,
        "node_0": { "host": "0.0.0.0", "port": 8020, "f_port": 5000, "log_msgs": false, "verbose": false },
    });
    client
        .call(Method::POST, &base, Some(&registration))
        .await?;
    let tags = |list: &[String]| -> Value {
        Value::Array(
            list.iter()
                .map(|t| {
                    Value::Array(
                        t.split('/')
                            .filter(|s| !s.is_empty())
                            .map(|s| Value::String(s.to_owned()))
                            .collect(),
                    )
                })
                .collect(),
        )
    };
    let mut body = Map::new();
    body.insert("train".into(), tags(&args.train));
    if !args.evaluate.is_empty() {
        body.insert("evaluate".into(), tags(&args.evaluate));
    }
    if !args.predict.is_empty() {
        body.insert("predict".into(), tags(&args.predict));
    }
    let value = client
        .call(
            Method::POST,
            &format!("{base}/tags"),
            Some(&Value::Object(body)),
        )
        .await?;
    show(&value);
    Ok(())
}

/// Follows a job, printing progress lines (unless `quiet` JSON output is wanted).
async fn follow(client: &Client, job: &str, quiet: bool) -> Result<Value, ClientError> {
    let last = client
        .follow_job(job, |event| {
            if !quiet && let Some(line) = progress_line(event) {
                eprintln!("{line}");
            }
        })
        .await?;
    Ok(last)
}

/// Fetches a finished job and turns a failure into an error.
async fn job_result(client: &Client, job: &str, _last: &Value) -> Result<Value, ClientError> {
    let job = client
        .call(Method::GET, &format!("/ttp/jobs/{job}"), None)
        .await?;
    match job.get("state").and_then(Value::as_str) {
        Some("succeeded") => Ok(job.get("result").cloned().unwrap_or(Value::Null)),
        Some(state) => Err(ClientError::Server {
            status: reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            message: format!(
                "job {state}: {}",
                job.get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason recorded")
            ),
        }),
        None => Err(ClientError::Protocol("job has no state".into())),
    }
}

/// One human line per progress event.
fn progress_line(event: &Value) -> Option<String> {
    let kind = event.get("type").and_then(Value::as_str)?;
    let get = |k: &str| event.get(k);
    let n = |k: &str| get(k).and_then(Value::as_u64).unwrap_or(0);
    Some(match kind {
        "round" => format!(
            "round {:>3}/{:<3} train loss {}  ({:.1} s)",
            n("round"),
            n("rounds"),
            output::number(get("train_loss")),
            get("seconds").and_then(Value::as_f64).unwrap_or(0.0)
        ),
        "evaluated" => format!(
            "evaluated {}: {} rows",
            get("participant_id").and_then(Value::as_str).unwrap_or("?"),
            n("sample_count")
        ),
        "completed" => "done".to_owned(),
        "failed" => format!(
            "failed: {}",
            get("error").and_then(Value::as_str).unwrap_or("?")
        ),
        _ => get("message").and_then(Value::as_str)?.to_owned(),
    })
}

fn print_records(value: &Value) {
    let records: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                output::key_text(r),
            ]
        })
        .collect();
    output::table(&["KIND", "KEY"], &rows);
}

fn print_validations(value: &Value) {
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = value
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|record| {
            let key = record.get("key").cloned().unwrap_or(Value::Null);
            let stats = record
                .pointer("/evaluate/statistics")
                .cloned()
                .unwrap_or(Value::Null);
            let text = |k: &str| key.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
            let mean =
                |k: &str| output::mean_of(stats.get(k)).map_or("-".into(), |v| format!("{v:.4}"));
            vec![
                text("participant_id"),
                text("expt_id"),
                text("run_id"),
                output::number(stats.get("top1_accuracy")),
                mean("f_score"),
                mean("roc_auc_score"),
                output::number(stats.get("R2")),
                output::number(stats.get("MSE")),
            ]
        })
        .collect();
    output::table(
        &[
            "PARTICIPANT",
            "EXPT",
            "RUN",
            "TOP1_ACC",
            "F1_MACRO",
            "AUC_MACRO",
            "R2",
            "MSE",
        ],
        &rows,
    );
}

/// The headline metrics of validation records as one JSON object.
fn validation_summary(value: &Value) -> Value {
    let mut participants = Map::new();
    for record in value.as_array().into_iter().flatten() {
        let Some(participant) = record
            .pointer("/key/participant_id")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let stats = record
            .pointer("/evaluate/statistics")
            .cloned()
            .unwrap_or(Value::Null);
        let mut entry = Map::new();
        for name in ["top1_accuracy", "R2", "MSE", "MAE"] {
            if let Some(v) = stats.get(name).and_then(Value::as_f64) {
                entry.insert(name.to_owned(), json!(v));
            }
        }
        for name in ["f_score", "roc_auc_score", "accuracy"] {
            if let Some(v) = output::mean_of(stats.get(name)) {
                entry.insert(format!("{name}_macro"), json!(v));
            }
        }
        let id = format!(
            "{}/{}/{}",
            participant,
            record
                .pointer("/key/expt_id")
                .and_then(Value::as_str)
                .unwrap_or(""),
            record
                .pointer("/key/run_id")
                .and_then(Value::as_str)
                .unwrap_or("")
        );
        participants.insert(id, Value::Object(entry));
    }
    json!({ "validations": participants })
}

fn read_json_arg(arg: &str) -> Result<Value, ClientError> {
    let text = if arg.trim_start().starts_with(['[', '{']) {
        arg.to_owned()
    } else {
        std::fs::read_to_string(arg).map_err(|e| usage(format!("reading {arg}: {e}")))?
    };
    serde_json::from_str(&text).map_err(|e| usage(format!("{arg} is not valid JSON: {e}")))
}

fn usage(message: String) -> ClientError {
    ClientError::Server {
        status: reqwest::StatusCode::BAD_REQUEST,
        message,
    }
}
