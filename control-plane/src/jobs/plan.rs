//! What a job needs before it starts, read and checked up front so that bad
//! requests fail with a clear error before any job is recorded: the project's
//! participants and their tags, and the (experiment × run) combinations.

use std::collections::BTreeMap;

use serde_json::Value;
use ttp_proto::v1 as pb;

use crate::db::Db;
use crate::error::ApiError;
use crate::learning::{self, RunSettings};
use crate::record::{Field, Key, Kind, Record};
use crate::validate::METAS;

/// A participant's declared datasets, per meta.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantTags {
    pub participant_id: String,
    pub metas: BTreeMap<String, Vec<Vec<String>>>,
}

impl TryFrom<&Record> for ParticipantTags {
    type Error = ApiError;

    fn try_from(record: &Record) -> Result<Self, ApiError> {
        let mut metas = BTreeMap::new();
        for meta in METAS {
            let Some(value) = record.fields.get(meta) else {
                continue;
            };
            let tags: Vec<Vec<String>> = serde_json::from_value(value.clone()).map_err(|e| {
                ApiError::internal(format!(
                    "stored tags of participant {} are malformed: {e}",
                    record.key.participant_id
                ))
            })?;
            if !tags.is_empty() {
                metas.insert(meta.to_owned(), tags);
            }
        }
        Ok(ParticipantTags {
            participant_id: record.key.participant_id.clone(),
            metas,
        })
    }
}

impl From<&ParticipantTags> for pb::ParticipantData {
    fn from(participant: &ParticipantTags) -> Self {
        let tags = participant
            .metas
            .iter()
            .map(|(meta, tags)| {
                let list = pb::TagList {
                    tags: tags
                        .iter()
                        .map(|tokens| pb::Tag {
                            tokens: tokens.clone(),
                        })
                        .collect(),
                };
                (meta.clone(), list)
            })
            .collect();
        pb::ParticipantData {
            participant_id: participant.participant_id.clone(),
            tags,
        }
    }
}

/// The project record and its `action`.
pub async fn project(db: &Db, scope: &Key) -> Result<(Record, String), ApiError> {
    let project = db
        .existing_record(Kind::Project, scope.project_onto(Kind::Project))
        .await?;
    let action = project
        .fields
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::conflict(format!(
                "Project '{}' has no `action`; PUT one of `classify`, `regress`",
                project.key.project_id
            ))
        })?
        .to_owned();
    Ok((project, action))
}

/// Every participant of the project that declared tags, by participant id.
pub async fn participants(db: &Db, project: &Key) -> Result<Vec<ParticipantTags>, ApiError> {
    let tags = db
        .list_plain_records(Kind::Tag, project.project_onto(Kind::Project))
        .await?;
    let mut participants = tags
        .iter()
        .map(ParticipantTags::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    participants.sort_by(|a, b| a.participant_id.cmp(&b.participant_id));
    if participants.is_empty() {
        return Err(ApiError::conflict(format!(
            "no participant of Project '{}' has declared data tags: register participants and POST their registration/tags first",
            project.project_id
        )));
    }
    Ok(participants)
}

/// One (experiment, run) pair to train or evaluate.
#[derive(Debug, Clone)]
pub struct Combination {
    pub experiment: Record,
    pub run: Record,
    pub settings: RunSettings,
}

impl Combination {
    pub fn key(&self) -> Key {
        self.run.key.project_onto(Kind::Run)
    }

    pub fn scope(&self) -> pb::Scope {
        let key = self.key();
        pb::Scope {
            collab_id: key.collab_id,
            project_id: key.project_id,
            expt_id: key.expt_id,
            run_id: key.run_id,
        }
    }

    pub fn model_json(&self) -> Result<String, ApiError> {
        let model = self.experiment.fields.get("model").ok_or_else(|| {
            ApiError::conflict(format!(
                "Experiment '{}' has no `model`",
                self.experiment.key.expt_id
            ))
        })?;
        serde_json::to_string(model).map_err(ApiError::internal)
    }
}

/// The combinations under `scope`: the whole project, one experiment, or one
/// run (when `expt_id` / `run_id` are set), in creation order.
pub async fn combinations(db: &Db, scope: &Key) -> Result<Vec<Combination>, ApiError> {
    let experiments = if scope.expt_id.is_empty() {
        db.list_plain_records(Kind::Experiment, scope.project_onto(Kind::Project))
            .await?
    } else {
        vec![
            db.existing_record(Kind::Experiment, scope.project_onto(Kind::Experiment))
                .await?,
        ]
    };
    let mut combinations = Vec::new();
    for experiment in experiments {
        let runs = if scope.run_id.is_empty() {
            db.list_plain_records(Kind::Run, experiment.key.project_onto(Kind::Experiment))
                .await?
        } else {
            let key = experiment
                .key
                .clone()
                .with(Field::Run, scope.run_id.clone());
            vec![db.existing_record(Kind::Run, key).await?]
        };
        for run in runs {
            let settings = learning::run_settings(&run.fields).map_err(|e| {
                ApiError::invalid(format!(
                    "Run '{}' of Experiment '{}' has invalid hyper-parameters: {e}",
                    run.key.run_id, run.key.expt_id
                ))
            })?;
            combinations.push(Combination {
                experiment: experiment.clone(),
                run,
                settings,
            });
        }
    }
    Ok(combinations)
}
