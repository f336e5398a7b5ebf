//! The JSON shapes of the REST surface as OpenAPI schemas and reusable
//! responses. Documentation only: handlers read bodies as JSON objects and
//! check them in `crate::validate`; these types state the same rules for
//! clients and fuzzers and are never constructed.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToResponse, ToSchema};

use crate::validate::{MAX_ID_LEN, MAX_TAG_TOKENS, MAX_TAGS};

/// A schema written as JSON Schema, for the few shapes the derive macros
/// cannot state (patterns with limits from `validate`, `patternProperties`).
fn json_schema(value: Value) -> RefOr<Schema> {
    match serde_json::from_value::<Schema>(value) {
        Ok(schema) => RefOr::T(schema),
        // A typo here is a programming error the golden test shows at once.
        Err(error) => panic!("invalid schema literal: {error}"),
    }
}

/// Characters refused in identifiers and tag tokens: `/`, `\` and control
/// characters (Unicode `Cc`), as `validate` does.
const FORBIDDEN_CHARS: &str = r"/\\\u0000-\u001F\u007F-\u009F";

/// An identifier that becomes part of a record key and of output folder names.
pub struct Identifier;

impl PartialSchema for Identifier {
    fn schema() -> RefOr<Schema> {
        json_schema(json!({
            "type": "string",
            "description": format!(
                "A non-empty identifier of at most {MAX_ID_LEN} bytes (UTF-8) without `/`, `\\`, \
                 `..` or control characters, and not `.`."
            ),
            "minLength": 1,
            "maxLength": MAX_ID_LEN,
            "pattern": format!(r"^(?!\.$)(?!.*\.\.)[^{FORBIDDEN_CHARS}]+$"),
            "examples": ["c1"],
        }))
    }
}
impl ToSchema for Identifier {}

/// A TCP port number.
pub struct Port;

impl PartialSchema for Port {
    fn schema() -> RefOr<Schema> {
        json_schema(json!({
            "type": "integer",
            "minimum": 0,
            "maximum": 65535,
            "examples": [5000],
        }))
    }
}
impl ToSchema for Port {}

/// One data tag: path tokens relative to the worker's data directory.
pub struct DataTag;

impl PartialSchema for DataTag {
    fn schema() -> RefOr<Schema> {
        json_schema(json!({
            "type": "array",
            "description": "Path tokens relative to the worker's data directory, e.g. \
                            `[\"heart_disease\", \"dataset\", \"data1\"]`. Each token is a \
                            non-empty path component without `/`, `\\` or `..`.",
            "minItems": 1,
            "maxItems": MAX_TAG_TOKENS,
            "items": {
                "type": "string",
                "minLength": 1,
                "pattern": format!(r"^(?!\.$)(?!.*\.\.)[^{FORBIDDEN_CHARS}]+$"),
            },
            "examples": [["heart_disease", "dataset", "data1"]],
        }))
    }
}
impl ToSchema for DataTag {}

/// The data tags of one meta.
pub struct DataTags;

impl PartialSchema for DataTags {
    fn schema() -> RefOr<Schema> {
        json_schema(json!({
            "type": "array",
            "maxItems": MAX_TAGS,
            "items": { "$ref": "#/components/schemas/DataTag" },
        }))
    }
}
impl ToSchema for DataTags {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("DataTag".into(), DataTag::schema()));
    }
}

/// A service a collaboration connects to: `{host, ports: {main, ui}, secure}`.
#[derive(Deserialize, ToSchema)]
pub struct Connection {
    #[schema(example = "localhost")]
    host: String,
    ports: ConnectionPorts,
    #[serde(default)]
    secure: bool,
}

/// `main` and `ui` are required; other entries must be ports too.
#[derive(Deserialize, ToSchema)]
pub struct ConnectionPorts {
    #[schema(value_type = Port)]
    main: u16,
    #[schema(value_type = Port)]
    ui: u16,
}

/// The logging service: its ports also name the sysmetrics, director, TTP
/// and worker log ports.
#[derive(Deserialize, ToSchema)]
pub struct LogsConnection {
    #[schema(example = "localhost")]
    host: String,
    ports: LogsPorts,
    #[serde(default)]
    secure: bool,
}

#[derive(Deserialize, ToSchema)]
pub struct LogsPorts {
    #[schema(value_type = Port)]
    main: u16,
    #[schema(value_type = Port)]
    ui: u16,
    #[schema(value_type = Port)]
    sysmetrics: u16,
    #[schema(value_type = Port)]
    director: u16,
    #[schema(value_type = Port)]
    ttp: u16,
    #[schema(value_type = Port)]
    worker: u16,
}

/// `POST /collaborations`: the id and optional service connections. Other
/// fields are stored as given.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"collab_id": "c1"}))]
pub struct CollaborationCreate {
    #[schema(value_type = Identifier)]
    collab_id: String,
    #[serde(default)]
    #[schema(nullable = false)]
    catalogue: Option<Connection>,
    #[serde(default)]
    #[schema(nullable = false)]
    logs: Option<LogsConnection>,
    #[serde(default)]
    #[schema(nullable = false)]
    meter: Option<Connection>,
    #[serde(default)]
    #[schema(nullable = false)]
    mlops: Option<Connection>,
    /// Cluster mode is not implemented; stored only.
    #[serde(default)]
    #[schema(nullable = false)]
    mq: Option<Connection>,
}

/// `PUT /collaborations/<id>`: a shallow merge, validated as a whole.
#[derive(Deserialize, ToSchema)]
pub struct CollaborationUpdate {
    #[serde(default)]
    #[schema(nullable = false)]
    catalogue: Option<Connection>,
    #[serde(default)]
    #[schema(nullable = false)]
    logs: Option<LogsConnection>,
    #[serde(default)]
    #[schema(nullable = false)]
    meter: Option<Connection>,
    #[serde(default)]
    #[schema(nullable = false)]
    mlops: Option<Connection>,
    #[serde(default)]
    #[schema(nullable = false)]
    mq: Option<Connection>,
}

/// What a project predicts; drives all label handling.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Classify,
    Regress,
}

/// `POST .../projects`.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"project_id": "p1", "action": "classify", "incentives": {}}))]
pub struct ProjectCreate {
    #[schema(value_type = Identifier)]
    project_id: String,
    action: Action,
    /// Free-form; required by Synergos, unused.
    incentives: Map<String, Value>,
    /// Unused.
    #[serde(default)]
    universe_alignment: Vec<String>,
    /// Unused.
    #[serde(default)]
    start_at: Option<String>,
}

/// `PUT .../projects/<id>`: merged into the stored project, then validated.
#[derive(Deserialize, ToSchema)]
pub struct ProjectUpdate {
    #[serde(default)]
    #[schema(nullable = false)]
    action: Option<Action>,
    #[serde(default)]
    #[schema(nullable = false)]
    incentives: Option<Map<String, Value>>,
    #[serde(default)]
    universe_alignment: Vec<String>,
    #[serde(default)]
    start_at: Option<String>,
}

/// A `torch.nn` layer class this control plane can build.
#[derive(Deserialize, ToSchema)]
pub enum LayerType {
    Linear,
    Conv2d,
    Flatten,
    ReLU,
    Sigmoid,
    Tanh,
    Softmax,
    LogSoftmax,
    Dropout,
    BatchNorm1d,
    MaxPool2d,
}

/// A `torch.nn.functional` activation applied after a layer.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivationName {
    Relu,
    Sigmoid,
    Tanh,
    Softmax,
    LogSoftmax,
    LeakyRelu,
    Elu,
    Gelu,
}

/// One layer of an experiment's model, applied in order.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"is_input": true, "l_type": "Linear",
    "structure": {"in_features": 4, "out_features": 1, "bias": true}, "activation": "sigmoid"}))]
pub struct Layer {
    /// Stored, unused.
    #[serde(default)]
    is_input: Option<bool>,
    l_type: LayerType,
    /// The layer's constructor arguments; which keys are allowed and
    /// required depends on `l_type` (e.g. `Linear`: `in_features`,
    /// `out_features`, optional `bias`).
    #[serde(default)]
    structure: Option<Map<String, Value>>,
    #[serde(default)]
    activation: Option<ActivationName>,
}

/// `POST .../experiments`.
#[derive(Deserialize, ToSchema)]
pub struct ExperimentCreate {
    #[schema(value_type = Identifier)]
    expt_id: String,
    #[schema(min_items = 1, max_items = 256)]
    model: Vec<Layer>,
}

/// `PUT .../experiments/<id>`.
#[derive(Deserialize, ToSchema)]
pub struct ExperimentUpdate {
    #[serde(default)]
    #[schema(min_items = 1, max_items = 256, nullable = false)]
    model: Option<Vec<Layer>>,
}

/// Federated algorithm.
#[derive(Deserialize, ToSchema)]
pub enum Algorithm {
    FedAvg,
    FedProx,
}

/// Local optimizer (a `torch.optim` class name; case is ignored).
#[derive(Deserialize, ToSchema)]
pub enum Optimizer {
    #[serde(rename = "SGD")]
    Sgd,
    Adam,
    AdamW,
    #[serde(rename = "RMSprop")]
    RmsProp,
}

/// Loss function (a `torch.nn` loss class name; case is ignored).
#[derive(Deserialize, ToSchema)]
pub enum Criterion {
    #[serde(rename = "BCELoss")]
    BceLoss,
    #[serde(rename = "BCEWithLogitsLoss")]
    BceWithLogitsLoss,
    CrossEntropyLoss,
    #[serde(rename = "NLLLoss")]
    NllLoss,
    #[serde(rename = "MSELoss")]
    MseLoss,
    L1Loss,
    SmoothL1Loss,
}

/// A run's hyper-parameters. Free-form: unknown keys are stored and
/// ignored; absent or `null` keys take the Synergos defaults shown.
#[derive(Deserialize, ToSchema)]
pub struct Hyperparameters {
    #[schema(default = "FedProx")]
    algorithm: Option<Algorithm>,
    /// Federated rounds.
    #[schema(minimum = 1, maximum = 10000, default = 10)]
    rounds: Option<u32>,
    /// Local epochs per round.
    #[schema(minimum = 1, maximum = 100000, default = 100)]
    epochs: Option<u32>,
    /// Absent: the whole local dataset is one batch.
    #[schema(minimum = 1, maximum = 10000000)]
    batch_size: Option<u32>,
    #[schema(exclusive_minimum = 0, default = 0.001)]
    lr: Option<f64>,
    /// Forced to 0 when `l2_lambda` is set.
    #[schema(minimum = 0, default = 0)]
    weight_decay: Option<f64>,
    /// FedProx proximal weight (0 for FedAvg).
    #[schema(minimum = 0, default = 0.1)]
    mu: Option<f64>,
    #[schema(minimum = 0, default = 0)]
    l1_lambda: Option<f64>,
    #[schema(minimum = 0, default = 0)]
    l2_lambda: Option<f64>,
    #[schema(default = "SGD")]
    optimizer: Option<Optimizer>,
    #[schema(default = "BCELoss")]
    criterion: Option<Criterion>,
    #[schema(minimum = 0, default = 42, format = "uint64")]
    seed: Option<u64>,
    #[schema(minimum = 0, exclusive_maximum = 1, default = 0)]
    momentum: Option<f64>,
    /// Early stopping: rounds without an improvement of more than `delta`.
    #[schema(minimum = 0, maximum = 100000, default = 10)]
    patience: Option<u32>,
    #[schema(minimum = 0, default = 0)]
    delta: Option<f64>,
    /// Recorded only: learning-rate schedulers are not implemented.
    lr_scheduler: Option<String>,
}

/// `POST .../runs`: the id plus hyper-parameters.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"run_id": "r1", "rounds": 2, "epochs": 1, "lr": 0.01}))]
pub struct RunCreate {
    #[schema(value_type = Identifier)]
    run_id: String,
    #[serde(flatten)]
    hyperparameters: Hyperparameters,
}

/// `POST /participants`: `id` becomes the participant id.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"id": "alice", "category": ["hospital"], "email": "a@example.org"}))]
pub struct ParticipantCreate {
    #[schema(value_type = Identifier)]
    id: String,
    #[serde(default)]
    category: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    socials: BTreeMap<String, String>,
}

/// `PUT /participants/<id>`: `id`, if given, must equal the path's.
#[derive(Deserialize, ToSchema)]
pub struct ParticipantUpdate {
    #[serde(default)]
    #[schema(nullable = false)]
    id: Option<String>,
    #[serde(default)]
    category: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    socials: BTreeMap<String, String>,
}

/// A participant's role; stored, no logic depends on it.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Host,
    Guest,
    Arbiter,
}

/// A worker node's address. Workers dial in to the data plane, so it is
/// stored for compatibility only.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"host": "worker1", "port": 8020, "f_port": 5000}))]
pub struct Node {
    host: String,
    #[schema(value_type = Port)]
    port: u16,
    #[serde(default)]
    #[schema(value_type = Option<Port>, nullable = false)]
    f_port: Option<u16>,
    #[serde(default)]
    #[schema(nullable = false)]
    log_msgs: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    verbose: Option<bool>,
}

/// A registration: `role`, `n_count` and `node_0` … `node_<n-1>`; no other
/// field is accepted.
pub struct Registration;

impl PartialSchema for Registration {
    fn schema() -> RefOr<Schema> {
        json_schema(registration_schema(&["role", "n_count", "node_0"]))
    }
}
impl ToSchema for Registration {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("Node".into(), Node::schema()));
        schemas.push(("Role".into(), Role::schema()));
    }
}

/// `PUT .../registration`: merged, then validated as a whole.
pub struct RegistrationUpdate;

impl PartialSchema for RegistrationUpdate {
    fn schema() -> RefOr<Schema> {
        json_schema(registration_schema(&[]))
    }
}
impl ToSchema for RegistrationUpdate {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        Registration::schemas(schemas);
    }
}

fn registration_schema(required: &[&str]) -> Value {
    json!({
        "type": "object",
        "required": required,
        "properties": {
            "role": { "$ref": "#/components/schemas/Role" },
            "n_count": { "type": "integer", "minimum": 1, "description": "Number of nodes." },
            "node_0": { "$ref": "#/components/schemas/Node" },
        },
        "patternProperties": { "^node_[0-9]+$": { "$ref": "#/components/schemas/Node" } },
        "additionalProperties": false,
        "examples": [{"role": "guest", "n_count": 1,
                      "node_0": {"host": "worker1", "port": 8020, "f_port": 5000}}],
    })
}

/// A participant's data tags for a project, per meta.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"train": [["heart_disease", "dataset", "data1"]],
                          "evaluate": [["heart_disease", "dataset", "data2"]]}))]
pub struct Tags {
    #[schema(value_type = DataTags)]
    train: Vec<Vec<String>>,
    #[serde(default)]
    #[schema(value_type = Option<DataTags>, nullable = false)]
    evaluate: Option<Vec<Vec<String>>>,
    #[serde(default)]
    #[schema(value_type = Option<DataTags>, nullable = false)]
    predict: Option<Vec<Vec<String>>>,
    /// Unused.
    #[serde(default)]
    model: Vec<String>,
    /// Unused.
    #[serde(default)]
    hyperparameters: Vec<String>,
}

/// `PUT .../registration/tags`: merged, then validated as a whole.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsUpdate {
    #[serde(default)]
    #[schema(value_type = Option<DataTags>, nullable = false)]
    train: Option<Vec<Vec<String>>>,
    #[serde(default)]
    #[schema(value_type = Option<DataTags>, nullable = false)]
    evaluate: Option<Vec<Vec<String>>>,
    #[serde(default)]
    #[schema(value_type = Option<DataTags>, nullable = false)]
    predict: Option<Vec<Vec<String>>>,
    #[serde(default)]
    model: Vec<String>,
    #[serde(default)]
    hyperparameters: Vec<String>,
}

/// `POST .../alignments` options; no other key is accepted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlignOptions {
    /// `false` stores empty spacer lists (the alignment still runs, for
    /// auto-fix).
    #[serde(default)]
    #[schema(default = true, nullable = false)]
    auto_align: Option<bool>,
    /// Fix every experiment's input and output layer widths.
    #[serde(default)]
    #[schema(default = true, nullable = false)]
    auto_fix: Option<bool>,
}

/// `POST .../models` and `.../validations` options: accepted for Synergos
/// compatibility and ignored (workers dial in); no other key is accepted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunOptions {
    #[serde(default)]
    #[schema(nullable = false)]
    auto_align: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    dockerised: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    verbose: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    log_msgs: Option<bool>,
}

/// `POST .../predictions` body: new `predict` tags per project (they replace
/// the participant's stored ones) plus the ignored Synergos options.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PredictOptions {
    /// `{project_id: [[token, ...], ...]}`; without it the registered
    /// `predict` tags are used.
    #[serde(default)]
    #[schema(nullable = false, value_type = Option<Object>, example = json!({"p1": [["heart_disease", "data1", "non_iid_1"]]}))]
    tags: Option<serde_json::Value>,
    #[serde(default)]
    #[schema(nullable = false)]
    auto_align: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    dockerised: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    verbose: Option<bool>,
    #[serde(default)]
    #[schema(nullable = false)]
    log_msgs: Option<bool>,
}

/// The Synergos tables, as shown in `kind` and `relations`.
#[derive(Deserialize, ToSchema)]
pub enum RecordKind {
    Collaboration,
    Project,
    Experiment,
    Run,
    Participant,
    Registration,
    Tag,
    Alignment,
    Model,
    Validation,
    Prediction,
    Optimization,
}

/// A record's composite key: the identifiers its kind uses.
#[derive(Deserialize, ToSchema)]
pub struct RecordKey {
    collab_id: Option<String>,
    project_id: Option<String>,
    expt_id: Option<String>,
    run_id: Option<String>,
    participant_id: Option<String>,
}

/// A stored record: its fields as stored plus `key`, `doc_id`, `kind`,
/// `created_at` and, for hierarchical kinds, `relations` (child table name
/// to child records). A registration also shows its `collaboration`,
/// `project` and `participant`.
#[derive(Deserialize, ToSchema)]
pub struct Record {
    key: RecordKey,
    /// Database id.
    doc_id: i64,
    kind: RecordKind,
    /// `YYYY-MM-DD HH:MM:SS N` (UTC).
    #[schema(example = "2024-05-01 12:00:00 N")]
    created_at: String,
    #[serde(default)]
    relations: Option<BTreeMap<String, Vec<Map<String, Value>>>>,
}

/// The fields every Synergos success envelope shares.
#[derive(Deserialize, ToSchema)]
pub struct EnvelopeFields {
    /// Always `0.1.0`.
    #[schema(rename = "apiVersion", example = "0.1.0")]
    api_version: String,
    /// Always 1.
    #[schema(minimum = 1, maximum = 1)]
    success: u8,
    /// The HTTP status.
    status: u16,
    /// `<plural>.get|post` for collections, `<singular>.get|put|delete` for
    /// items.
    #[schema(example = "collaboration.get")]
    method: String,
    /// Every route variable.
    params: BTreeMap<String, String>,
}

/// A success envelope around one record.
#[derive(Deserialize, ToSchema)]
pub struct RecordEnvelope {
    #[serde(flatten)]
    envelope: EnvelopeFields,
    data: Record,
}

/// A success envelope around a list of records.
#[derive(Deserialize, ToSchema)]
pub struct RecordListEnvelope {
    #[serde(flatten)]
    envelope: EnvelopeFields,
    data: Vec<Record>,
}

/// A success envelope around a job (202 answers).
#[derive(Deserialize, ToSchema)]
pub struct JobEnvelope {
    #[serde(flatten)]
    envelope: EnvelopeFields,
    data: Job,
}

/// An error: `{"message": ...}`. Bad input names the field; internal faults
/// get a generic message.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"message": "Collaboration 'c1' does not exist!"}))]
pub struct ErrorBody {
    message: String,
}

/// `GET /health`.
#[derive(Deserialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Align,
    Train,
    Validate,
    Predict,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// Where a job stands. `combination` counts (experiment, run) pairs from 1.
#[derive(Deserialize, ToSchema)]
pub struct JobProgress {
    round: u32,
    rounds: u32,
    combination: u32,
    combinations: u32,
    /// Participants finished in the current round or evaluation.
    participants_done: u32,
    message: String,
}

/// A long-running operation (alignment, training, validation).
#[derive(Deserialize, ToSchema)]
pub struct Job {
    #[schema(format = "uuid")]
    id: String,
    kind: JobKind,
    state: JobState,
    /// The route variables the job was started with.
    scope: BTreeMap<String, String>,
    progress: JobProgress,
    /// Why the job failed.
    error: Option<String>,
    /// The records the job produced, once it succeeded.
    result: Option<Value>,
    #[schema(example = "2024-05-01 12:00:00 N")]
    created_at: String,
    #[schema(example = "2024-05-01 12:00:00 N")]
    updated_at: String,
}

/// The `type` of a job event (also the SSE `event:` name).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobEventType {
    Progress,
    Round,
    Evaluated,
    Completed,
    Failed,
}

/// The JSON `data` of one Server-Sent Event. The stream starts with a
/// snapshot and ends after `completed` or `failed`.
#[derive(Deserialize, ToSchema)]
pub struct JobEvent {
    #[serde(rename = "type")]
    kind: JobEventType,
    job_id: String,
    state: JobState,
    progress: JobProgress,
}

/// The record or a parent it needs does not exist.
#[derive(ToResponse)]
#[response(description = "Not found: the record, or a parent it needs, does not exist.")]
pub struct NotFound(#[to_schema] ErrorBody);

/// The body is not a JSON object, or breaks a rule (the message names the
/// field).
#[derive(ToResponse)]
#[response(
    description = "Expectation failed: malformed JSON, not an object, a non-JSON content type, \
                   a field that breaks a rule (the message names it), or a malformed route \
                   variable."
)]
pub struct InvalidBody(#[to_schema] ErrorBody);

/// A route variable is malformed.
#[derive(ToResponse)]
#[response(
    description = "Expectation failed: a route variable is not valid UTF-8 or holds a NUL \
                   character (no record can have such an id)."
)]
pub struct BadRouteVariable(#[to_schema] ErrorBody);

/// The body is larger than 10 MiB.
#[derive(ToResponse)]
#[response(description = "Payload too large: the body exceeds 10 MiB.")]
pub struct TooLarge(#[to_schema] ErrorBody);

/// The operation conflicts with the stored state.
#[derive(ToResponse)]
#[response(
    description = "Conflict: e.g. no alignment before training, or a participant's data or \
                   model problem reported by the data plane."
)]
pub struct Conflict(#[to_schema] ErrorBody);

/// The operation is refused in this deployment.
#[derive(ToResponse)]
#[response(description = "Forbidden: e.g. an operation only a Synergos cluster offers.")]
pub struct Forbidden(#[to_schema] ErrorBody);

/// The data plane cannot do the work now.
#[derive(ToResponse)]
#[response(
    description = "Service unavailable: the data plane is unreachable, its workers never \
                   connected, or the control plane is shutting down."
)]
pub struct Unavailable(#[to_schema] ErrorBody);

/// The data plane did not answer in time.
#[derive(ToResponse)]
#[response(description = "Gateway timeout: the data plane did not answer in time.")]
pub struct Timeout(#[to_schema] ErrorBody);
