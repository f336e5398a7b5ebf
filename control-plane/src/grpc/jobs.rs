//! The operation rpcs (`Align`, `Train`, `Validate`, `Predict`), `GetJob`
//! and the `WatchRun` progress stream, over the [`crate::jobs`] workflows.

use futures_util::{Stream, StreamExt};
use serde_json::{Map, Value};
use tonic::Status;
use tonic::metadata::MetadataValue;
use ttp_proto::control::v1 as pb;

use super::convert::job_scope;
use crate::error::ApiError;
use crate::jobs::align::{self, AlignOptions};
use crate::jobs::watch::{job_not_found, watch};
use crate::jobs::{JobHandle, JobKind, evaluate, launch, predict, train};
use crate::record::{Field, Key};
use crate::state::AppState;

/// Metadata key naming the job on an error answered after `wait`.
pub const JOB_ID_METADATA: &str = "ttp-job-id";

struct Align {
    scope: Key,
    options: AlignOptions,
    wait: bool,
}

impl TryFrom<pb::AlignRequest> for Align {
    type Error = ApiError;

    fn try_from(request: pb::AlignRequest) -> Result<Self, ApiError> {
        let scope = job_scope(
            "Align",
            "project",
            request.project,
            &[Field::Collab, Field::Project],
            &[],
        )?;
        let defaults = AlignOptions::default();
        Ok(Align {
            scope,
            options: AlignOptions {
                auto_align: request.auto_align.unwrap_or(defaults.auto_align),
                auto_fix: request.auto_fix.unwrap_or(defaults.auto_fix),
            },
            wait: request.wait,
        })
    }
}

/// A training or validation request: where, and whether to wait.
struct Scoped {
    scope: Key,
    wait: bool,
}

impl TryFrom<pb::TrainRequest> for Scoped {
    type Error = ApiError;

    fn try_from(request: pb::TrainRequest) -> Result<Self, ApiError> {
        let scope = job_scope(
            "Train",
            "scope",
            request.scope,
            &[Field::Collab, Field::Project],
            &[Field::Expt, Field::Run],
        )?;
        Ok(Scoped {
            scope,
            wait: request.wait,
        })
    }
}

impl TryFrom<pb::ValidateRequest> for Scoped {
    type Error = ApiError;

    fn try_from(request: pb::ValidateRequest) -> Result<Self, ApiError> {
        let scope = job_scope(
            "Validate",
            "scope",
            request.scope,
            &[Field::Collab, Field::Project],
            &[Field::Expt, Field::Run, Field::Participant],
        )?;
        Ok(Scoped {
            scope,
            wait: request.wait,
        })
    }
}

struct Predict {
    scope: Key,
    /// `{project_id: [[token, ...], ...]}`, as the REST body's `tags`.
    tags: Option<Value>,
    wait: bool,
}

impl TryFrom<pb::PredictRequest> for Predict {
    type Error = ApiError;

    fn try_from(request: pb::PredictRequest) -> Result<Self, ApiError> {
        let scope = job_scope(
            "Predict",
            "scope",
            request.scope,
            &[Field::Participant, Field::Collab],
            &[Field::Project, Field::Expt, Field::Run],
        )?;
        let tags = (!request.tags.is_empty()).then(|| {
            let by_project: Map<String, Value> = request
                .tags
                .into_iter()
                .map(|(project_id, list)| {
                    let tags = list
                        .tags
                        .into_iter()
                        .map(|tag| Value::from(tag.tokens))
                        .collect();
                    (project_id, Value::Array(tags))
                })
                .collect();
            Value::Object(by_project)
        });
        Ok(Predict {
            scope,
            tags,
            wait: request.wait,
        })
    }
}

pub async fn align(state: &AppState, request: pb::AlignRequest) -> Result<pb::Job, Status> {
    let Align {
        scope,
        options,
        wait,
    } = request.try_into()?;
    let plan = align::plan(state, &scope, options).await?;
    let handle = launch(state, JobKind::Align, scope, move |ctx| {
        align::execute(ctx, plan)
    })
    .await?;
    answer(state, handle, wait).await
}

pub async fn train(state: &AppState, request: pb::TrainRequest) -> Result<pb::Job, Status> {
    let Scoped { scope, wait } = request.try_into()?;
    let plan = train::plan(state, &scope).await?;
    let handle = launch(state, JobKind::Train, scope, move |ctx| {
        train::execute(ctx, plan)
    })
    .await?;
    answer(state, handle, wait).await
}

pub async fn validate(state: &AppState, request: pb::ValidateRequest) -> Result<pb::Job, Status> {
    let Scoped { scope, wait } = request.try_into()?;
    let plan = evaluate::plan(state, &scope).await?;
    let handle = launch(state, JobKind::Validate, scope, move |ctx| {
        evaluate::execute(ctx, plan)
    })
    .await?;
    answer(state, handle, wait).await
}

pub async fn predict(state: &AppState, request: pb::PredictRequest) -> Result<pb::Job, Status> {
    let Predict { scope, tags, wait } = request.try_into()?;
    let plan = predict::plan(state, &scope, tags.as_ref()).await?;
    let handle = launch(state, JobKind::Predict, scope, move |ctx| {
        predict::execute(ctx, plan)
    })
    .await?;
    answer(state, handle, wait).await
}

/// The started job at once, or with `wait` the finished job (or its error,
/// as REST answers a blocking request, with the job id in the metadata).
async fn answer(state: &AppState, handle: JobHandle, wait: bool) -> Result<pb::Job, Status> {
    if !wait {
        return Ok((&handle.job).into());
    }
    let id = handle.job.id.clone();
    let finished = tokio::select! {
        outcome = handle.done => match outcome {
            Ok(Ok(_)) => finished_job(state, &id).await,
            Ok(Err(error)) => Err(error),
            Err(_) => Err(ApiError::unavailable(format!(
                "job '{id}' was interrupted; GetJob has its state"
            ))),
        },
        () = state.shutdown_signal() => Err(ApiError::unavailable(format!(
            "the control plane is shutting down; GetJob '{id}' has the job's state"
        ))),
    };
    finished.map_err(|error| {
        let mut status = Status::from(error);
        if let Ok(value) = MetadataValue::try_from(id.as_str()) {
            status.metadata_mut().insert(JOB_ID_METADATA, value);
        }
        status
    })
}

async fn finished_job(state: &AppState, id: &str) -> Result<pb::Job, ApiError> {
    let job = state
        .db()
        .job(id)
        .await?
        .ok_or_else(|| ApiError::internal(format!("finished job {id} is not recorded")))?;
    Ok((&job).into())
}

fn job_id(id: &str) -> Result<&str, ApiError> {
    if id.is_empty() {
        return Err(ApiError::invalid("missing required field `job_id`"));
    }
    Ok(id)
}

pub async fn get_job(state: &AppState, request: pb::GetJobRequest) -> Result<pb::Job, ApiError> {
    let id = job_id(&request.job_id)?;
    let job = state.db().job(id).await?.ok_or_else(|| job_not_found(id))?;
    Ok((&job).into())
}

/// The job's events as the stream `WatchRun` answers.
pub async fn watch_run(
    state: &AppState,
    request: pb::WatchRunRequest,
) -> Result<impl Stream<Item = Result<pb::JobEvent, Status>> + Send + 'static + use<>, ApiError> {
    let id = job_id(&request.job_id)?;
    let events = watch(state, id).await?;
    Ok(events.map(|event| Ok(pb::JobEvent::from(event))))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn predict_tags_become_the_rest_body_shape() {
        let tags = pb::DataTags {
            tags: vec![pb::DataTag {
                tokens: vec!["heart".into(), "alice".into()],
            }],
        };
        let request = pb::PredictRequest {
            scope: Some(pb::RecordKey {
                collab_id: "c1".into(),
                participant_id: "alice".into(),
                ..Default::default()
            }),
            tags: [("p1".to_owned(), tags)].into_iter().collect(),
            wait: false,
        };
        let predict = Predict::try_from(request).map_err(|e| e.to_string());
        assert_eq!(
            predict.map(|p| p.tags),
            Ok(Some(json!({"p1": [["heart", "alice"]]})))
        );
    }
}
