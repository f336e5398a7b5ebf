//! The command line: one subcommand per Synergos resource (create, list, get,
//! update, delete) and one per long operation (align, train, validate,
//! predict), which show progress while their job runs.

use clap::{Args, Parser, Subcommand};

const FLOW: &str = "\
The federated flow, in order:
  ttp collaboration create COLLAB
  ttp project create COLLAB PROJECT --action classify
  ttp experiment create COLLAB PROJECT EXPT --model model.json
  ttp run create COLLAB PROJECT EXPT RUN --set rounds=10 --set lr=0.05
  ttp participant create P1
  ttp register COLLAB PROJECT P1 --train heart_disease/data1/iid_1 --evaluate heart_disease/validation
  ttp align COLLAB PROJECT          (after the participants' workers are started)
  ttp train COLLAB PROJECT          (a progress bar per round)
  ttp validate COLLAB PROJECT       (metrics per participant, computed at each participant)
  ttp predict P1 COLLAB PROJECT --tags heart_disease/data1/non_iid_1
Every command prints a table; --json prints the JSON records instead.
Errors exit non-zero with the control plane's message.";

/// Drive a TTP control plane (the Synergos REST API).
#[derive(Debug, Parser)]
#[command(name = "ttp", version, about, after_help = FLOW)]
pub struct Cli {
    /// Control plane REST address.
    #[arg(
        long,
        env = "TTP_URL",
        default_value = "http://127.0.0.1:5000",
        global = true
    )]
    pub url: String,
    /// Print JSON instead of tables.
    #[arg(long, env = "TTP_JSON", global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collaborations: the top of the hierarchy.
    #[command(subcommand)]
    Collaboration(Crud<CollabId, CollabNone>),
    /// Projects: a task (classify or regress) inside a collaboration.
    #[command(subcommand)]
    Project(Crud<ProjectId, CollabId>),
    /// Experiments: a model architecture (Synergos JSON layer spec, `--model file.json`).
    #[command(subcommand)]
    Experiment(Crud<ExptId, ProjectId>),
    /// Runs: a set of hyper-parameters for an experiment.
    #[command(subcommand)]
    Run(Crud<RunId, ExptId>),
    /// Participants: the organisations holding data.
    #[command(subcommand)]
    Participant(Crud<ParticipantId, CollabNone>),
    /// A participant's registration to a project (role, nodes).
    #[command(subcommand)]
    Registration(Crud<RegistrationId, ProjectId>),
    /// A participant's data tags in a project (train/evaluate/predict).
    #[command(subcommand)]
    Tags(Crud<RegistrationId, ProjectId>),
    /// Register a participant to a project and declare its data tags in one go.
    Register(RegisterArgs),
    /// Align features across participants and fit the experiments' sizes.
    Align(ProjectId),
    /// Show the alignment records of a project.
    Alignments(ProjectId),
    /// Train every experiment x run in scope, with a progress bar.
    Train(TrainScope),
    /// Show trained models (global model path and loss history).
    Models(TrainScope),
    /// Evaluate trained models on each participant's evaluation data.
    Validate(ValidateArgs),
    /// Show validation records.
    Validations(ValidateScope),
    /// Participant-initiated inference on its prediction data.
    Predict(PredictArgs),
    /// Show prediction records.
    Predictions(PredictScope),
    /// Show a job.
    Job { id: String },
    /// Follow a running job's progress until it ends.
    Watch { id: String },
}

/// The five operations every Synergos resource has.
#[derive(Debug, Subcommand)]
pub enum Crud<Id: Args, Parent: Args> {
    /// Create (or replace) a record; fields with --set KEY=VALUE.
    Create {
        #[command(flatten)]
        id: Id,
        #[command(flatten)]
        fields: Fields,
    },
    /// List records.
    List {
        #[command(flatten)]
        parent: Parent,
    },
    /// Show one record with its relations.
    Get {
        #[command(flatten)]
        id: Id,
    },
    /// Change some fields (a shallow merge).
    Update {
        #[command(flatten)]
        id: Id,
        #[command(flatten)]
        fields: Fields,
    },
    /// Delete a record and everything under it.
    Delete {
        #[command(flatten)]
        id: Id,
    },
}

/// Record fields.
#[derive(Debug, Clone, Args)]
pub struct Fields {
    /// A field, KEY=VALUE: VALUE is parsed as JSON (else taken as a string);
    /// `KEY=@file.json` reads the JSON from a file.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// A project's task: classify or regress (shorthand for --set action=...).
    #[arg(long)]
    pub action: Option<String>,
    /// An experiment's layer list from a JSON file (shorthand for --set model=@FILE).
    #[arg(long)]
    pub model: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct CollabNone {}

#[derive(Debug, Clone, Args)]
pub struct CollabId {
    pub collab_id: String,
}

#[derive(Debug, Clone, Args)]
pub struct ProjectId {
    pub collab_id: String,
    pub project_id: String,
}

#[derive(Debug, Clone, Args)]
pub struct ExptId {
    pub collab_id: String,
    pub project_id: String,
    pub expt_id: String,
}

#[derive(Debug, Clone, Args)]
pub struct RunId {
    pub collab_id: String,
    pub project_id: String,
    pub expt_id: String,
    pub run_id: String,
}

#[derive(Debug, Clone, Args)]
pub struct ParticipantId {
    pub participant_id: String,
}

#[derive(Debug, Clone, Args)]
pub struct RegistrationId {
    pub collab_id: String,
    pub project_id: String,
    pub participant_id: String,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    pub collab_id: String,
    pub project_id: String,
    pub participant_id: String,
    /// Training dataset tag: path tokens joined by `/` (repeatable).
    #[arg(long, required = true)]
    pub train: Vec<String>,
    /// Evaluation dataset tag (repeatable).
    #[arg(long)]
    pub evaluate: Vec<String>,
    /// Prediction dataset tag (repeatable).
    #[arg(long)]
    pub predict: Vec<String>,
    /// host, guest or arbiter.
    #[arg(long, default_value = "guest")]
    pub role: String,
}

#[derive(Debug, Args)]
pub struct TrainScope {
    pub collab_id: String,
    pub project_id: String,
    pub expt_id: Option<String>,
    pub run_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateScope {
    pub collab_id: String,
    pub project_id: String,
    pub expt_id: Option<String>,
    pub run_id: Option<String>,
    pub participant_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub scope: ValidateScope,
    /// After the table, print one JSON line with the headline metrics.
    #[arg(long)]
    pub summary: bool,
}

#[derive(Debug, Args)]
pub struct PredictScope {
    pub participant_id: String,
    pub collab_id: String,
    pub project_id: Option<String>,
    pub expt_id: Option<String>,
    pub run_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    #[command(flatten)]
    pub scope: PredictScope,
    /// Prediction dataset tag for the project in scope (repeatable); without
    /// it the registered `predict` tags are used.
    #[arg(long)]
    pub tags: Vec<String>,
}
