//! Jobs: state, progress, error and result of align/train/validate
//! operations, persisted at every progress step.

use diesel::prelude::*;
use serde_json::Value;

use super::schema::jobs;
use super::{Backend, Conn, Db, now, write_transaction};
use crate::error::ApiError;
use crate::jobs::{Job, JobKind, JobState, Progress};
use crate::record::Key;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs)]
#[diesel(check_for_backend(Backend))]
struct JobRow {
    id: String,
    kind: String,
    collab_id: String,
    project_id: String,
    expt_id: String,
    run_id: String,
    participant_id: String,
    state: String,
    progress: String,
    error: Option<String>,
    result: Option<String>,
    created_at: String,
    updated_at: String,
}

impl JobRow {
    fn into_job(self) -> Result<Job, ApiError> {
        let bad = |what: &str| ApiError::internal(format!("job {} has an invalid {what}", self.id));
        let kind = JobKind::parse(&self.kind).ok_or_else(|| bad("kind"))?;
        let state = JobState::parse(&self.state).ok_or_else(|| bad("state"))?;
        let progress: Progress =
            serde_json::from_str(&self.progress).map_err(|_| bad("progress"))?;
        let result = match &self.result {
            Some(text) => Some(serde_json::from_str::<Value>(text).map_err(|_| bad("result"))?),
            None => None,
        };
        Ok(Job {
            id: self.id,
            kind,
            scope: Key {
                collab_id: self.collab_id,
                project_id: self.project_id,
                expt_id: self.expt_id,
                run_id: self.run_id,
                participant_id: self.participant_id,
            },
            state,
            progress,
            error: self.error,
            result,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }

    fn from_job(job: &Job) -> Result<JobRow, ApiError> {
        Ok(JobRow {
            id: job.id.clone(),
            kind: job.kind.as_str().to_owned(),
            collab_id: job.scope.collab_id.clone(),
            project_id: job.scope.project_id.clone(),
            expt_id: job.scope.expt_id.clone(),
            run_id: job.scope.run_id.clone(),
            participant_id: job.scope.participant_id.clone(),
            state: job.state.as_str().to_owned(),
            progress: serde_json::to_string(&job.progress).map_err(ApiError::internal)?,
            error: job.error.clone(),
            result: job
                .result
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(ApiError::internal)?,
            created_at: job.created_at.clone(),
            updated_at: job.updated_at.clone(),
        })
    }
}

/// The states of a job that has not ended.
const UNFINISHED: [&str; 2] = ["queued", "running"];

fn load(conn: &mut Conn, id: &str) -> Result<Option<Job>, ApiError> {
    jobs::table
        .find(id)
        .select(JobRow::as_select())
        .first(conn)
        .optional()?
        .map(JobRow::into_job)
        .transpose()
}

fn load_existing(conn: &mut Conn, id: &str) -> Result<Job, ApiError> {
    load(conn, id)?.ok_or_else(|| ApiError::internal(format!("job {id} vanished")))
}

impl Db {
    pub async fn create_job(&self, job: &Job) -> Result<(), ApiError> {
        let row = JobRow::from_job(job)?;
        self.run(move |conn| {
            diesel::insert_into(jobs::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await
    }

    pub async fn job(&self, id: &str) -> Result<Option<Job>, ApiError> {
        let id = id.to_owned();
        self.run(move |conn| load(conn, &id)).await
    }

    /// Marks the job running with `progress`; returns the updated job.
    pub async fn record_job_progress(
        &self,
        id: &str,
        progress: &Progress,
    ) -> Result<Job, ApiError> {
        let id = id.to_owned();
        let progress = serde_json::to_string(progress).map_err(ApiError::internal)?;
        self.run(move |conn| {
            write_transaction(conn, |conn| {
                // A late write from a cancelled job must not revive it.
                diesel::update(jobs::table.find(&id).filter(jobs::state.eq_any(UNFINISHED)))
                    .set((
                        jobs::state.eq(JobState::Running.as_str()),
                        jobs::progress.eq(progress),
                        jobs::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
                load_existing(conn, &id)
            })
        })
        .await
    }

    /// Ends the job: `succeeded` with its result or `failed` with the error
    /// (unless it already ended, e.g. cancelled by a shutdown).
    pub async fn finish_job(
        &self,
        id: &str,
        outcome: Result<Value, String>,
    ) -> Result<Job, ApiError> {
        let id = id.to_owned();
        let (state, result, error) = match outcome {
            Ok(result) => (
                JobState::Succeeded,
                Some(serde_json::to_string(&result).map_err(ApiError::internal)?),
                None,
            ),
            Err(error) => (JobState::Failed, None, Some(error)),
        };
        self.run(move |conn| {
            write_transaction(conn, |conn| {
                diesel::update(jobs::table.find(&id).filter(jobs::state.eq_any(UNFINISHED)))
                    .set((
                        jobs::state.eq(state.as_str()),
                        jobs::result.eq(result),
                        jobs::error.eq(error),
                        jobs::updated_at.eq(now()),
                    ))
                    .execute(conn)?;
                load_existing(conn, &id)
            })
        })
        .await
    }

    /// Fails every job still `queued` or `running` (no process runs them any
    /// more); returns how many.
    pub async fn fail_unfinished_jobs(&self, reason: &str) -> Result<usize, ApiError> {
        let reason = reason.to_owned();
        self.run(move |conn| {
            let count = diesel::update(jobs::table.filter(jobs::state.eq_any(UNFINISHED)))
                .set((
                    jobs::state.eq(JobState::Failed.as_str()),
                    jobs::error.eq(reason),
                    jobs::updated_at.eq(now()),
                ))
                .execute(conn)?;
            Ok(count)
        })
        .await
    }
}
