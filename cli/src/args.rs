//! The command line: one subcommand per step of the Synergos flow.

use clap::{Parser, Subcommand};

const FLOW: &str = "\
The federated flow, in order:
  ttp collaboration create COLLAB
  ttp project create COLLAB PROJECT --action classify
  ttp experiment create COLLAB PROJECT EXPT --model model.json
  ttp run create COLLAB PROJECT EXPT RUN --set rounds=10 --set lr=0.05
  ttp participant create P1
  ttp register COLLAB PROJECT P1 --train heart_disease/data1/iid_1 --evaluate heart_disease/validation
  ttp align COLLAB PROJECT          (after the workers are started)
  ttp train COLLAB PROJECT          (progress per round)
  ttp validate COLLAB PROJECT       (metrics per participant)";

/// Drive a TTP control plane.
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
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collaborations: the top of the hierarchy.
    #[command(subcommand)]
    Collaboration(CollaborationCmd),
    /// Projects: a task (classify or regress) inside a collaboration.
    #[command(subcommand)]
    Project(ProjectCmd),
    /// Experiments: a model architecture (Synergos JSON layer spec).
    #[command(subcommand)]
    Experiment(ExperimentCmd),
    /// Runs: a set of hyper-parameters for an experiment.
    #[command(subcommand)]
    Run(RunCmd),
    /// Participants: the organisations holding data.
    #[command(subcommand)]
    Participant(ParticipantCmd),
    /// Register a participant to a project and declare its data tags.
    Register(RegisterArgs),
    /// Align features across participants (and fit experiment sizes).
    Align(ProjectScope),
    /// Train every experiment x run in scope, showing progress per round.
    Train(TrainArgs),
    /// Evaluate trained models on each participant's evaluation data.
    Validate(ValidateArgs),
    /// Show a job.
    Job { id: String },
}

#[derive(Debug, Subcommand)]
pub enum CollaborationCmd {
    Create { collab_id: String },
    List,
    Get { collab_id: String },
    Delete { collab_id: String },
}

#[derive(Debug, Subcommand)]
pub enum ProjectCmd {
    Create {
        collab_id: String,
        project_id: String,
        /// classify or regress.
        #[arg(long, default_value = "classify")]
        action: String,
    },
    List {
        collab_id: String,
    },
    Delete {
        collab_id: String,
        project_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExperimentCmd {
    Create {
        collab_id: String,
        project_id: String,
        expt_id: String,
        /// JSON file with the layer list (or the JSON itself).
        #[arg(long)]
        model: String,
    },
    List {
        collab_id: String,
        project_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunCmd {
    Create {
        collab_id: String,
        project_id: String,
        expt_id: String,
        run_id: String,
        /// A hyper-parameter, KEY=VALUE (VALUE is parsed as JSON, else a string).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    List {
        collab_id: String,
        project_id: String,
        expt_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ParticipantCmd {
    Create { participant_id: String },
    List,
}

#[derive(Debug, clap::Args)]
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

#[derive(Debug, clap::Args)]
pub struct ProjectScope {
    pub collab_id: String,
    pub project_id: String,
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    pub collab_id: String,
    pub project_id: String,
    pub expt_id: Option<String>,
    pub run_id: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ValidateArgs {
    pub collab_id: String,
    pub project_id: String,
    pub expt_id: Option<String>,
    pub run_id: Option<String>,
    pub participant_id: Option<String>,
    /// After the table, print one JSON line with the headline metrics.
    #[arg(long)]
    pub summary: bool,
}
