//! Record operations independent of the transport: which kinds clients may
//! write, each kind's validation, and read/write/delete with the Synergos
//! not-found messages. Both `rest::Resource` and the gRPC API call these.

use serde_json::{Map, Value};

use crate::db::Db;
use crate::error::ApiError;
use crate::record::{Key, Kind, RecordView, not_found_message};
use crate::validate;

/// The job that writes `kind`'s records, for the kinds clients cannot write.
pub fn written_by(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Alignment => Some("Align"),
        Kind::Model => Some("Train"),
        Kind::Validation => Some("Validate"),
        Kind::Prediction => Some("Predict"),
        Kind::Collaboration
        | Kind::Project
        | Kind::Experiment
        | Kind::Run
        | Kind::Participant
        | Kind::Registration
        | Kind::Tag => None,
    }
}

/// Refuses writes to the kinds only jobs write (REST has no route for them).
fn writable(kind: Kind, verb: &str) -> Result<(), ApiError> {
    match written_by(kind) {
        Some(operation) => Err(ApiError::invalid(format!(
            "field `kind`: {} records are written by the {operation} operation and cannot be {verb} directly",
            kind.as_str()
        ))),
        None => Ok(()),
    }
}

/// The validation of a `kind` body (on create) or merged record (on update).
pub fn check(kind: Kind, key: &Key, fields: &Map<String, Value>) -> Result<(), ApiError> {
    match kind {
        Kind::Collaboration => validate::collaboration(fields),
        Kind::Project => validate::project(fields),
        Kind::Experiment => validate::experiment(fields),
        Kind::Run => validate::run(fields),
        Kind::Participant => validate::participant(&key.participant_id, fields),
        Kind::Registration => validate::registration(fields),
        Kind::Tag => validate::tags(fields),
        Kind::Alignment | Kind::Model | Kind::Validation | Kind::Prediction => {
            writable(kind, "written")
        }
    }
}

/// One record with its relations; a missing one is a 404 with the Synergos
/// message.
pub async fn get(db: &Db, kind: Kind, key: Key) -> Result<RecordView, ApiError> {
    if kind == Kind::Tag {
        // A missing registration is the more useful 404 (as REST answers).
        db.existing_record(Kind::Registration, key.clone()).await?;
    }
    db.record(kind, key.clone())
        .await?
        .ok_or_else(|| ApiError::not_found(not_found_message(kind, &key)))
}

/// Every `kind` record matching the non-empty identifiers of `filter`.
pub async fn list(db: &Db, kind: Kind, filter: Key) -> Result<Vec<RecordView>, ApiError> {
    db.list_records(kind, filter).await
}

/// Creates the record or shallow-merges `body` into it (Synergos POST); the
/// body alone is validated, as REST does.
pub async fn upsert(
    db: &Db,
    kind: Kind,
    key: Key,
    body: Map<String, Value>,
) -> Result<RecordView, ApiError> {
    let fields = validate::strip_derived(body)?;
    create(db, kind, key, fields).await
}

/// Creates (upserts) the record at `key` with fields already stripped of
/// what the server derives (`validate::strip_derived`), after validating them.
pub async fn create(
    db: &Db,
    kind: Kind,
    key: Key,
    fields: Map<String, Value>,
) -> Result<RecordView, ApiError> {
    writable(kind, "written")?;
    check(kind, &key, &fields)?;
    db.upsert_record(kind, key, fields).await
}

/// Shallow-merges `body` into an existing record after validating the
/// merged fields (Synergos PUT).
pub async fn update(
    db: &Db,
    kind: Kind,
    key: Key,
    body: Map<String, Value>,
) -> Result<RecordView, ApiError> {
    writable(kind, "updated")?;
    let changes = validate::strip_derived(body)?;
    let check_key = key.clone();
    // The merged record holds the server's `link`; the validators accept it
    // there (a client's `link` was refused by `strip_derived`).
    let check_merged = move |merged: &Map<String, Value>| check(kind, &check_key, merged);
    db.update_record(kind, key.clone(), changes, Box::new(check_merged))
        .await?
        .ok_or_else(|| ApiError::not_found(not_found_message(kind, &key)))
}

/// Deletes the record and, in the same transaction, its relations; returns
/// it as it was (Synergos DELETE). Job outputs go with their parents.
pub async fn delete(db: &Db, kind: Kind, key: Key) -> Result<RecordView, ApiError> {
    writable(kind, "deleted")?;
    db.delete_record(kind, key.clone())
        .await?
        .ok_or_else(|| ApiError::not_found(not_found_message(kind, &key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn job_outputs_are_refused_naming_the_operation() {
        let error = check(Kind::Model, &Key::default(), &Map::new()).unwrap_err();
        assert_eq!(error.code(), crate::Code::InvalidArgument);
        assert!(error.public_message().contains("Train"), "{error}");
    }

    #[test]
    fn participant_id_comes_from_the_key() {
        let fields = json!({"id": "alice"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert!(check(Kind::Participant, &Key::participant("alice"), &fields).is_ok());
        let error = check(Kind::Participant, &Key::participant("bob"), &fields).unwrap_err();
        assert!(error.public_message().contains("`id`"), "{error}");
    }
}
