//! The record rpcs: `GetRecord`, `ListRecords`, `UpsertRecord`,
//! `UpdateRecord` and `DeleteRecord`, over the operations of
//! [`crate::records`].

use serde_json::{Map, Value};
use ttp_proto::control::v1 as pb;

use super::convert::{json_object, kind, record_filter, record_key};
use crate::error::ApiError;
use crate::record::{Key, Kind};
use crate::records;
use crate::state::AppState;
use crate::validate;

/// One record, named by kind and complete key.
struct RecordRef {
    kind: Kind,
    key: Key,
}

impl TryFrom<pb::GetRecordRequest> for RecordRef {
    type Error = ApiError;

    fn try_from(request: pb::GetRecordRequest) -> Result<Self, ApiError> {
        let kind = kind(request.kind)?;
        let key = record_key(kind, "key", request.key)?;
        Ok(RecordRef { kind, key })
    }
}

impl TryFrom<pb::DeleteRecordRequest> for RecordRef {
    type Error = ApiError;

    fn try_from(request: pb::DeleteRecordRequest) -> Result<Self, ApiError> {
        let kind = kind(request.kind)?;
        let key = record_key(kind, "key", request.key)?;
        Ok(RecordRef { kind, key })
    }
}

/// Records of one kind under a partial key.
struct RecordFilter {
    kind: Kind,
    filter: Key,
}

impl TryFrom<pb::ListRecordsRequest> for RecordFilter {
    type Error = ApiError;

    fn try_from(request: pb::ListRecordsRequest) -> Result<Self, ApiError> {
        let kind = kind(request.kind)?;
        let filter = record_filter(kind, "filter", request.filter)?;
        Ok(RecordFilter { kind, filter })
    }
}

/// Fields to write into the record at `key`.
struct RecordWrite {
    kind: Kind,
    key: Key,
    fields: Map<String, Value>,
}

impl RecordWrite {
    fn parse(
        raw_kind: i32,
        key: Option<pb::RecordKey>,
        fields_json: &str,
    ) -> Result<Self, ApiError> {
        let kind = kind(raw_kind)?;
        let key = record_key(kind, "key", key)?;
        let mut fields = json_object("fields_json", fields_json)?;
        // Identifiers live in the key; a copy in the body (as a REST body
        // carries one) must agree and is not stored twice.
        for field in kind.key_fields() {
            let name = field.name();
            if let Some(value) = fields.remove(name)
                && value.as_str() != Some(key.get(*field))
            {
                return Err(ApiError::invalid(format!(
                    "field `fields_json.{name}` must equal `key.{name}` (identifiers belong in `key`)"
                )));
            }
        }
        Ok(RecordWrite { kind, key, fields })
    }
}

impl TryFrom<pb::UpsertRecordRequest> for RecordWrite {
    type Error = ApiError;

    fn try_from(request: pb::UpsertRecordRequest) -> Result<Self, ApiError> {
        let mut write = RecordWrite::parse(request.kind, request.key, &request.fields_json)?;
        // The identifiers of a new record become output folder names.
        for field in write.kind.key_fields() {
            validate::identifier(&format!("key.{}", field.name()), write.key.get(*field))?;
        }
        if write.kind == Kind::Participant && !write.fields.contains_key("id") {
            write
                .fields
                .insert("id".into(), Value::String(write.key.participant_id.clone()));
        }
        Ok(write)
    }
}

impl TryFrom<pb::UpdateRecordRequest> for RecordWrite {
    type Error = ApiError;

    fn try_from(request: pb::UpdateRecordRequest) -> Result<Self, ApiError> {
        RecordWrite::parse(request.kind, request.key, &request.fields_json)
    }
}

pub async fn get(state: &AppState, request: pb::GetRecordRequest) -> Result<pb::Record, ApiError> {
    let RecordRef { kind, key } = request.try_into()?;
    let view = records::get(state.db(), kind, key).await?;
    Ok((&view).into())
}

pub async fn list(
    state: &AppState,
    request: pb::ListRecordsRequest,
) -> Result<pb::ListRecordsResponse, ApiError> {
    let RecordFilter { kind, filter } = request.try_into()?;
    let views = records::list(state.db(), kind, filter).await?;
    Ok(pb::ListRecordsResponse {
        records: views.iter().map(Into::into).collect(),
    })
}

pub async fn upsert(
    state: &AppState,
    request: pb::UpsertRecordRequest,
) -> Result<pb::Record, ApiError> {
    let RecordWrite { kind, key, fields } = request.try_into()?;
    let view = records::upsert(state.db(), kind, key, fields).await?;
    Ok((&view).into())
}

pub async fn update(
    state: &AppState,
    request: pb::UpdateRecordRequest,
) -> Result<pb::Record, ApiError> {
    let RecordWrite { kind, key, fields } = request.try_into()?;
    let view = records::update(state.db(), kind, key, fields).await?;
    Ok((&view).into())
}

pub async fn delete(
    state: &AppState,
    request: pb::DeleteRecordRequest,
) -> Result<pb::Record, ApiError> {
    let RecordRef { kind, key } = request.try_into()?;
    let view = records::delete(state.db(), kind, key).await?;
    Ok((&view).into())
}
