//! Between the wire types of `control.proto` and the domain types: checked
//! conversions for what clients send, plain ones for what they receive.

use serde_json::{Map, Value};
use ttp_proto::control::v1 as pb;

use crate::error::ApiError;
use crate::jobs::{EventType, Job, JobEvent, JobKind, JobState, Progress};
use crate::record::{Field, Key, Kind, Record, RecordView};

const FIELDS: [Field; 5] = [
    Field::Collab,
    Field::Project,
    Field::Expt,
    Field::Run,
    Field::Participant,
];

/// The record kind a request names in its `kind` field.
pub fn kind(raw: i32) -> Result<Kind, ApiError> {
    use pb::RecordKind as K;
    let kind = match K::try_from(raw).unwrap_or(K::Unspecified) {
        K::Collaboration => Kind::Collaboration,
        K::Project => Kind::Project,
        K::Experiment => Kind::Experiment,
        K::Run => Kind::Run,
        K::Participant => Kind::Participant,
        K::Registration => Kind::Registration,
        K::Tag => Kind::Tag,
        K::Alignment => Kind::Alignment,
        K::Model => Kind::Model,
        K::Validation => Kind::Validation,
        K::Prediction => Kind::Prediction,
        K::Unspecified => {
            return Err(ApiError::invalid(format!(
                "field `kind` must name a record kind (RECORD_KIND_COLLABORATION ... RECORD_KIND_PREDICTION), got {raw}"
            )));
        }
    };
    Ok(kind)
}

impl From<Kind> for pb::RecordKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Collaboration => pb::RecordKind::Collaboration,
            Kind::Project => pb::RecordKind::Project,
            Kind::Experiment => pb::RecordKind::Experiment,
            Kind::Run => pb::RecordKind::Run,
            Kind::Participant => pb::RecordKind::Participant,
            Kind::Registration => pb::RecordKind::Registration,
            Kind::Tag => pb::RecordKind::Tag,
            Kind::Alignment => pb::RecordKind::Alignment,
            Kind::Model => pb::RecordKind::Model,
            Kind::Validation => pb::RecordKind::Validation,
            Kind::Prediction => pb::RecordKind::Prediction,
        }
    }
}

impl From<pb::RecordKey> for Key {
    fn from(key: pb::RecordKey) -> Self {
        Key {
            collab_id: key.collab_id,
            project_id: key.project_id,
            expt_id: key.expt_id,
            run_id: key.run_id,
            participant_id: key.participant_id,
        }
    }
}

impl From<&Key> for pb::RecordKey {
    fn from(key: &Key) -> Self {
        pb::RecordKey {
            collab_id: key.collab_id.clone(),
            project_id: key.project_id.clone(),
            expt_id: key.expt_id.clone(),
            run_id: key.run_id.clone(),
            participant_id: key.participant_id.clone(),
        }
    }
}

/// Refuses identifiers of `key` that `allowed` does not hold.
fn only(
    key: &Key,
    name: &str,
    allowed: &[Field],
    why: impl Fn(Field) -> String,
) -> Result<(), ApiError> {
    match FIELDS
        .into_iter()
        .find(|f| !allowed.contains(f) && !key.get(*f).is_empty())
    {
        Some(extra) => Err(ApiError::invalid(format!(
            "field `{name}.{}` {}",
            extra.name(),
            why(extra)
        ))),
        None => Ok(()),
    }
}

fn missing(name: &str, field: Field) -> ApiError {
    ApiError::invalid(format!("missing required field `{name}.{}`", field.name()))
}

/// The complete key of one `kind` record, in the request field `name`.
pub fn record_key(kind: Kind, name: &str, key: Option<pb::RecordKey>) -> Result<Key, ApiError> {
    let key = Key::from(key.unwrap_or_default());
    if let Some(field) = kind.key_fields().iter().find(|f| key.get(**f).is_empty()) {
        return Err(missing(name, *field));
    }
    only(&key, name, kind.key_fields(), |_| {
        format!("is not part of a {} key", kind.as_str())
    })?;
    Ok(key)
}

/// A filter over `kind` records: any subset of the kind's identifiers.
pub fn record_filter(kind: Kind, name: &str, key: Option<pb::RecordKey>) -> Result<Key, ApiError> {
    let key = Key::from(key.unwrap_or_default());
    only(&key, name, kind.key_fields(), |_| {
        format!("is not part of a {} key", kind.as_str())
    })?;
    Ok(key)
}

/// The scope of an operation: `required` identifiers, then `narrowing` ones,
/// each of which needs the one before it.
pub fn job_scope(
    operation: &str,
    name: &str,
    key: Option<pb::RecordKey>,
    required: &[Field],
    narrowing: &[Field],
) -> Result<Key, ApiError> {
    let key = Key::from(key.unwrap_or_default());
    if let Some(field) = required.iter().find(|f| key.get(**f).is_empty()) {
        return Err(missing(name, *field));
    }
    let allowed: Vec<Field> = required.iter().chain(narrowing).copied().collect();
    only(&key, name, &allowed, |_| {
        format!("is not used by {operation}")
    })?;
    for pair in narrowing.windows(2) {
        if key.get(pair[0]).is_empty() && !key.get(pair[1]).is_empty() {
            return Err(ApiError::invalid(format!(
                "field `{name}.{}` needs `{name}.{}`",
                pair[1].name(),
                pair[0].name()
            )));
        }
    }
    Ok(key)
}

/// The JSON object in a `fields_json` field; empty means `{}`.
pub fn json_object(name: &str, text: &str) -> Result<Map<String, Value>, ApiError> {
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid(format!(
            "field `{name}` must be a JSON object"
        ))),
        Err(error) => Err(ApiError::invalid(format!(
            "field `{name}` is not valid JSON: {error}"
        ))),
    }
}

/// A stored `YYYY-MM-DD HH:MM:SS` (UTC) as RFC 3339.
fn rfc3339(stored: &str) -> String {
    match stored.split_once(' ') {
        Some((date, time)) => format!("{date}T{time}Z"),
        None => stored.to_owned(),
    }
}

fn json_text(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|error| {
        tracing::error!(%error, "cannot encode JSON for a gRPC answer");
        String::new()
    })
}

impl From<&Record> for pb::Record {
    fn from(record: &Record) -> Self {
        pb::Record {
            kind: pb::RecordKind::from(record.kind).into(),
            key: Some((&record.key.project_onto(record.kind)).into()),
            doc_id: record.doc_id,
            created_at: rfc3339(&record.created_at),
            fields_json: json_text(&Value::Object(record.fields.clone())),
            relations: Vec::new(),
            links: Vec::new(),
        }
    }
}

impl From<&RecordView> for pb::Record {
    fn from(view: &RecordView) -> Self {
        let mut record = pb::Record::from(&view.record);
        record.relations = view
            .relations
            .iter()
            .map(|(kind, records)| pb::Relation {
                kind: pb::RecordKind::from(*kind).into(),
                records: records.iter().map(Into::into).collect(),
            })
            .collect();
        record.links = view
            .links
            .iter()
            .map(|(name, linked)| pb::Link {
                name: (*name).to_owned(),
                record: Some(linked.into()),
            })
            .collect();
        record
    }
}

impl From<JobKind> for pb::JobKind {
    fn from(kind: JobKind) -> Self {
        match kind {
            JobKind::Align => pb::JobKind::Align,
            JobKind::Train => pb::JobKind::Train,
            JobKind::Validate => pb::JobKind::Validate,
            JobKind::Predict => pb::JobKind::Predict,
        }
    }
}

impl From<JobState> for pb::JobState {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Queued => pb::JobState::Queued,
            JobState::Running => pb::JobState::Running,
            JobState::Succeeded => pb::JobState::Succeeded,
            JobState::Failed => pb::JobState::Failed,
            JobState::Cancelled => pb::JobState::Cancelled,
        }
    }
}

impl From<&Progress> for pb::Progress {
    fn from(progress: &Progress) -> Self {
        pb::Progress {
            round: progress.round,
            rounds: progress.rounds,
            combination: progress.combination,
            combinations: progress.combinations,
            participants_done: progress.participants_done,
            message: progress.message.clone(),
        }
    }
}

impl From<&Job> for pb::Job {
    fn from(job: &Job) -> Self {
        pb::Job {
            id: job.id.clone(),
            kind: pb::JobKind::from(job.kind).into(),
            state: pb::JobState::from(job.state).into(),
            scope: Some((&job.scope).into()),
            progress: Some((&job.progress).into()),
            error: job.error.clone(),
            result_json: job.result.as_ref().map(json_text).unwrap_or_default(),
            created_at: rfc3339(&job.created_at),
            updated_at: rfc3339(&job.updated_at),
        }
    }
}

impl From<EventType> for pb::JobEventType {
    fn from(kind: EventType) -> Self {
        match kind {
            EventType::Progress => pb::JobEventType::Progress,
            EventType::Round => pb::JobEventType::Round,
            EventType::Evaluated => pb::JobEventType::Evaluated,
            EventType::Completed => pb::JobEventType::Completed,
            EventType::Failed => pb::JobEventType::Failed,
        }
    }
}

impl From<JobEvent> for pb::JobEvent {
    fn from(event: JobEvent) -> Self {
        pb::JobEvent {
            r#type: pb::JobEventType::from(event.kind).into(),
            job_id: event.job_id,
            state: pb::JobState::from(event.state).into(),
            progress: Some((&event.progress).into()),
            detail_json: json_text(&Value::Object(event.detail)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(collab: &str, project: &str, expt: &str, run: &str, participant: &str) -> pb::RecordKey {
        pb::RecordKey {
            collab_id: collab.into(),
            project_id: project.into(),
            expt_id: expt.into(),
            run_id: run.into(),
            participant_id: participant.into(),
        }
    }

    fn message(result: Result<Key, ApiError>) -> String {
        match result {
            Ok(key) => panic!("accepted {key:?}"),
            Err(error) => error.public_message().to_owned(),
        }
    }

    #[test]
    fn record_keys_must_be_complete_and_exact() {
        let ok = record_key(Kind::Project, "key", Some(key("c", "p", "", "", "")));
        assert_eq!(ok.ok(), Some(Key::project("c", "p")));
        let short = message(record_key(
            Kind::Run,
            "key",
            Some(key("c", "p", "e", "", "")),
        ));
        assert!(short.contains("`key.run_id`"), "{short}");
        let extra = message(record_key(
            Kind::Project,
            "key",
            Some(key("c", "p", "e", "", "")),
        ));
        assert!(
            extra.contains("`key.expt_id` is not part of a Project key"),
            "{extra}"
        );
        let extra = message(record_filter(
            Kind::Collaboration,
            "filter",
            Some(key("", "p", "", "", "")),
        ));
        assert!(extra.contains("`filter.project_id`"), "{extra}");
    }

    #[test]
    fn job_scopes_narrow_in_order() {
        use Field::*;
        let scope = |k| {
            job_scope(
                "Validate",
                "scope",
                Some(k),
                &[Collab, Project],
                &[Expt, Run, Participant],
            )
        };
        assert!(scope(key("c", "p", "e", "r", "x")).is_ok());
        assert!(scope(key("c", "p", "", "", "")).is_ok());
        let gap = message(scope(key("c", "p", "", "r", "")));
        assert!(
            gap.contains("`scope.run_id` needs `scope.expt_id`"),
            "{gap}"
        );
        let unused = message(job_scope(
            "Align",
            "project",
            Some(key("c", "p", "e", "", "")),
            &[Collab, Project],
            &[],
        ));
        assert!(
            unused.contains("`project.expt_id` is not used by Align"),
            "{unused}"
        );
    }

    #[test]
    fn kinds_and_json_bodies_are_checked() {
        assert!(kind(0).is_err());
        assert!(kind(99).is_err());
        assert_eq!(kind(pb::RecordKind::Tag as i32).ok(), Some(Kind::Tag));
        assert!(json_object("fields_json", "").is_ok_and(|m| m.is_empty()));
        let list = json_object("fields_json", "[1]").map(|_| ()).unwrap_err();
        assert!(list.public_message().contains("JSON object"));
        assert_eq!(rfc3339("2024-01-02 03:04:05"), "2024-01-02T03:04:05Z");
    }
}
