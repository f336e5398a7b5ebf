//! One function per command: build the Synergos request, call, print.

use reqwest::Method;
use serde_json::{Map, Value, json};

use crate::args::*;
use crate::client::{Client, ClientError};
use crate::output;
use crate::paths::{self, ItemIds, ListIds, Res};
use crate::progress::Progress;

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<(), ClientError> {
    let client = Client::new(&cli.url);
    let out = Output { json: cli.json };
    match cli.command {
        Command::Collaboration(cmd) => crud(&client, out, Res::Collaboration, cmd).await,
        Command::Project(cmd) => crud(&client, out, Res::Project, cmd).await,
        Command::Experiment(cmd) => crud(&client, out, Res::Experiment, cmd).await,
        Command::Run(cmd) => crud(&client, out, Res::Run, cmd).await,
        Command::Participant(cmd) => crud(&client, out, Res::Participant, cmd).await,
        Command::Registration(cmd) => crud(&client, out, Res::Registration, cmd).await,
        Command::Tags(cmd) => crud(&client, out, Res::Tags, cmd).await,
        Command::Register(args) => register(&client, out, args).await,
        Command::Align(ids) => {
            let path = format!(
                "/ttp/train/collaborations/{}/projects/{}/alignments",
                ids.collab_id, ids.project_id
            );
            let body = json!({ "auto_align": true, "auto_fix": true });
            let value = run_job(&client, &path, &body, out.json).await?;
            out.records(&value);
            Ok(())
        }
        Command::Alignments(ids) => {
            let path = format!(
                "/ttp/train/collaborations/{}/projects/{}/alignments",
                ids.collab_id, ids.project_id
            );
            out.records(&client.call(Method::GET, &path, None).await?);
            Ok(())
        }
        Command::Train(scope) => {
            let value = run_job(
                &client,
                &paths::train_path(&scope, "models"),
                &json!({}),
                out.json,
            )
            .await?;
            out.models(&value);
            Ok(())
        }
        Command::Models(scope) => {
            let value = client
                .call(Method::GET, &paths::train_path(&scope, "models"), None)
                .await?;
            out.models(&value);
            Ok(())
        }
        Command::Validate(args) => {
            let value = run_job(
                &client,
                &paths::validations_path(&args.scope),
                &json!({}),
                out.json,
            )
            .await?;
            out.statistics(&value, "evaluate");
            if args.summary {
                println!("{}", summary(&value, "evaluate"));
            }
            Ok(())
        }
        Command::Validations(scope) => {
            let value = client
                .call(Method::GET, &paths::validations_path(&scope), None)
                .await?;
            out.statistics(&value, "evaluate");
            Ok(())
        }
        Command::Predict(args) => {
            let mut body = Map::new();
            if !args.tags.is_empty() {
                let project = args.scope.project_id.clone().ok_or_else(|| {
                    usage("--tags needs the PROJECT_ID argument: tags belong to one project".into())
                })?;
                body.insert("tags".into(), json!({ project: tag_list(&args.tags) }));
            }
            let value = run_job(
                &client,
                &paths::predictions_path(&args.scope),
                &Value::Object(body),
                out.json,
            )
            .await?;
            out.statistics(&value, "predict");
            Ok(())
        }
        Command::Predictions(scope) => {
            let value = client
                .call(Method::GET, &paths::predictions_path(&scope), None)
                .await?;
            out.statistics(&value, "predict");
            Ok(())
        }
        Command::Job { id } => {
            let job = client
                .call(Method::GET, &format!("/ttp/jobs/{id}"), None)
                .await?;
            out.job(&job);
            Ok(())
        }
        Command::Watch { id } => {
            let mut progress = Progress::default();
            client
                .follow_job(&id, |event| progress.event(event))
                .await?;
            let job = client
                .call(Method::GET, &format!("/ttp/jobs/{id}"), None)
                .await?;
            out.job(&job);
            Ok(())
        }
    }
}

async fn crud<Id: ItemIds + clap::Args, Parent: ListIds + clap::Args>(
    client: &Client,
    out: Output,
    res: Res,
    cmd: Crud<Id, Parent>,
) -> Result<(), ClientError> {
    let value = match cmd {
        Crud::Create { id, fields } => {
            let at = id.create(res);
            let mut body = fields_body(&fields)?;
            if let Some((field, value)) = at.id_field {
                body.insert(field.to_owned(), Value::String(value));
            }
            if res == Res::Project && !body.contains_key("incentives") {
                body.insert("incentives".into(), json!({}));
            }
            if res == Res::Registration {
                for (key, value) in default_registration() {
                    body.entry(key).or_insert(value);
                }
            }
            client
                .call(Method::POST, &at.path, Some(&Value::Object(body)))
                .await?
        }
        Crud::List { parent } => client.call(Method::GET, &parent.list(res), None).await?,
        Crud::Get { id } => client.call(Method::GET, &id.item(res), None).await?,
        Crud::Update { id, fields } => {
            let body = Value::Object(fields_body(&fields)?);
            client.call(Method::PUT, &id.item(res), Some(&body)).await?
        }
        Crud::Delete { id } => client.call(Method::DELETE, &id.item(res), None).await?,
    };
    out.records(&value);
    Ok(())
}

/// A registration for a worker that dials in: Synergos requires one node.
fn default_registration() -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("role".into(), json!("guest"));
    body.insert("n_count".into(), json!(1));
    body.insert(
        "node_0".into(),
        json!({ "host": "0.0.0.0", "port": 8020, "f_port": 5000, "log_msgs": false, "verbose": false }),
    );
    body
}

async fn register(client: &Client, out: Output, args: RegisterArgs) -> Result<(), ClientError> {
    let ids = RegistrationId {
        collab_id: args.collab_id,
        project_id: args.project_id,
        participant_id: args.participant_id,
    };
    let mut registration = default_registration();
    registration.insert("role".into(), json!(args.role));
    client
        .call(
            Method::POST,
            &ids.item(Res::Registration),
            Some(&Value::Object(registration)),
        )
        .await?;
    let mut tags = Map::new();
    tags.insert("train".into(), tag_list(&args.train));
    for (meta, list) in [("evaluate", &args.evaluate), ("predict", &args.predict)] {
        if !list.is_empty() {
            tags.insert(meta.into(), tag_list(list));
        }
    }
    let value = client
        .call(
            Method::POST,
            &ids.item(Res::Tags),
            Some(&Value::Object(tags)),
        )
        .await?;
    out.records(&value);
    Ok(())
}

/// `a/b/c` tags as Synergos token lists.
fn tag_list(tags: &[String]) -> Value {
    Value::Array(
        tags.iter()
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
}

/// Starts a job, shows its progress (unless JSON is wanted on a pipe), and
/// returns its result or the server's reason for failing.
async fn run_job(
    client: &Client,
    path: &str,
    body: &Value,
    quiet: bool,
) -> Result<Value, ClientError> {
    let job = client.start_job(path, body).await?;
    let mut progress = Progress::default();
    client
        .follow_job(&job, |event| {
            if !quiet {
                progress.event(event)
            }
        })
        .await?;
    let record = client
        .call(Method::GET, &format!("/ttp/jobs/{job}"), None)
        .await?;
    match record.get("state").and_then(Value::as_str) {
        Some("succeeded") => Ok(record.get("result").cloned().unwrap_or(Value::Null)),
        Some(state) => Err(ClientError::Server {
            status: reqwest::StatusCode::UNPROCESSABLE_ENTITY,
            message: format!(
                "job {job} {state}: {}",
                record
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason recorded")
            ),
        }),
        None => Err(ClientError::Protocol(format!("job {job} has no state"))),
    }
}

fn fields_body(fields: &Fields) -> Result<Map<String, Value>, ClientError> {
    let mut body = Map::new();
    for pair in &fields.set {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| usage(format!("--set `{pair}` must be KEY=VALUE")))?;
        body.insert(key.to_owned(), parse_value(value)?);
    }
    if let Some(action) = &fields.action {
        body.insert("action".into(), Value::String(action.clone()));
    }
    if let Some(model) = &fields.model {
        body.insert("model".into(), parse_value(&format!("@{model}"))?);
    }
    Ok(body)
}

/// JSON if it parses, `@file` for a JSON file, else a plain string.
fn parse_value(text: &str) -> Result<Value, ClientError> {
    if let Some(path) = text.strip_prefix('@') {
        let content =
            std::fs::read_to_string(path).map_err(|e| usage(format!("reading {path}: {e}")))?;
        return serde_json::from_str(&content)
            .map_err(|e| usage(format!("{path} is not valid JSON: {e}")));
    }
    Ok(serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
}

fn usage(message: String) -> ClientError {
    ClientError::Usage(message)
}

/// The headline metrics of validation or prediction records as one JSON object.
fn summary(value: &Value, meta: &str) -> Value {
    let mut participants = Map::new();
    for record in value.as_array().into_iter().flatten() {
        let Some(participant) = record
            .pointer("/key/participant_id")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let stats = record
            .pointer(&format!("/{meta}/statistics"))
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

/// Tables or JSON.
#[derive(Debug, Clone, Copy)]
struct Output {
    json: bool,
}

impl Output {
    fn records(&self, value: &Value) {
        if self.json {
            return output::json(value);
        }
        let rows: Vec<Vec<String>> = as_list(value)
            .iter()
            .map(|r| {
                vec![
                    r.get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    output::key_text(r),
                    output::fields_text(r),
                ]
            })
            .collect();
        output::table(&["KIND", "KEY", "FIELDS"], &rows);
    }

    fn models(&self, value: &Value) {
        if self.json {
            return output::json(value);
        }
        let rows: Vec<Vec<String>> = as_list(value)
            .iter()
            .map(|r| {
                let history = r
                    .pointer("/global/loss_history/train")
                    .and_then(Value::as_object);
                let last = history
                    .and_then(|h| h.iter().max_by_key(|(k, _)| k.parse::<u64>().unwrap_or(0)))
                    .map(|(_, v)| v.clone());
                vec![
                    r.pointer("/key/expt_id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    r.pointer("/key/run_id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    history.map_or(0, |h| h.len()).to_string(),
                    output::number(last.as_ref()),
                    r.pointer("/global/path")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                ]
            })
            .collect();
        output::table(
            &["EXPT", "RUN", "ROUNDS", "FINAL_LOSS", "GLOBAL_MODEL"],
            &rows,
        );
    }

    fn statistics(&self, value: &Value, meta: &str) {
        if self.json {
            return output::json(value);
        }
        let rows: Vec<Vec<String>> = as_list(value)
            .iter()
            .map(|record| {
                let key = record.get("key").cloned().unwrap_or(Value::Null);
                let stats = record
                    .pointer(&format!("/{meta}/statistics"))
                    .cloned()
                    .unwrap_or(Value::Null);
                let text = |k: &str| key.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                let mean = |k: &str| {
                    output::mean_of(stats.get(k)).map_or("-".into(), |v| format!("{v:.4}"))
                };
                vec![
                    text("participant_id"),
                    text("project_id"),
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
                "PROJECT",
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

    fn job(&self, job: &Value) {
        if self.json {
            return output::json(job);
        }
        let text = |k: &str| job.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        let progress = job.get("progress").cloned().unwrap_or(Value::Null);
        let n = |k: &str| {
            progress
                .get(k)
                .and_then(Value::as_u64)
                .unwrap_or(0)
                .to_string()
        };
        output::table(
            &[
                "ID",
                "KIND",
                "STATE",
                "ROUND",
                "COMBINATION",
                "MESSAGE",
                "ERROR",
            ],
            &[vec![
                text("id"),
                text("kind"),
                text("state"),
                format!("{}/{}", n("round"), n("rounds")),
                format!("{}/{}", n("combination"), n("combinations")),
                progress
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                text("error"),
            ]],
        );
    }
}

fn as_list(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}
