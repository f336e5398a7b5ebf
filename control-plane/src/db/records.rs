//! Synergos records: upsert, shallow merge, reads with relations and
//! cascading deletes, all matched on full composite keys.

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::schema::records;
use super::{Backend, Conn, Db, now, write_transaction};
use crate::error::ApiError;
use crate::record::{Field, Key, Kind, Record, RecordView, not_found_message};

#[derive(Queryable, Selectable)]
#[diesel(table_name = records)]
#[diesel(check_for_backend(Backend))]
struct RecordRow {
    doc_id: i64,
    kind: String,
    collab_id: String,
    project_id: String,
    expt_id: String,
    run_id: String,
    participant_id: String,
    body: String,
    created_at: String,
}

impl RecordRow {
    fn into_record(self) -> Result<Record, ApiError> {
        let kind = Kind::parse(&self.kind).ok_or_else(|| {
            ApiError::internal(format!(
                "record {} has unknown kind `{}`",
                self.doc_id, self.kind
            ))
        })?;
        let fields = match serde_json::from_str(&self.body) {
            Ok(Value::Object(fields)) => fields,
            _ => {
                return Err(ApiError::internal(format!(
                    "record {} has a body that is not a JSON object",
                    self.doc_id
                )));
            }
        };
        Ok(Record {
            doc_id: self.doc_id,
            kind,
            key: Key {
                collab_id: self.collab_id,
                project_id: self.project_id,
                expt_id: self.expt_id,
                run_id: self.run_id,
                participant_id: self.participant_id,
            },
            fields,
            created_at: self.created_at,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = records)]
struct NewRecord<'a> {
    kind: &'a str,
    collab_id: &'a str,
    project_id: &'a str,
    expt_id: &'a str,
    run_id: &'a str,
    participant_id: &'a str,
    body: String,
    created_at: &'a str,
    updated_at: &'a str,
}

const FIELDS: [Field; 5] = [
    Field::Collab,
    Field::Project,
    Field::Expt,
    Field::Run,
    Field::Participant,
];

/// Records of `kind` matching `key`: every identifier when `exact`, else only
/// the non-empty ones.
fn matching(kind: Kind, key: &Key, exact: bool) -> records::BoxedQuery<'static, Backend> {
    let mut query = records::table
        .filter(records::kind.eq(kind.as_str()))
        .into_boxed();
    for field in FIELDS {
        let value = key.get(field).to_owned();
        if !exact && value.is_empty() {
            continue;
        }
        query = match field {
            Field::Collab => query.filter(records::collab_id.eq(value)),
            Field::Project => query.filter(records::project_id.eq(value)),
            Field::Expt => query.filter(records::expt_id.eq(value)),
            Field::Run => query.filter(records::run_id.eq(value)),
            Field::Participant => query.filter(records::participant_id.eq(value)),
        };
    }
    query
}

fn find(conn: &mut Conn, kind: Kind, filter: &Key) -> Result<Vec<Record>, ApiError> {
    matching(kind, filter, false)
        .order(records::doc_id.asc())
        .select(RecordRow::as_select())
        .load(conn)?
        .into_iter()
        .map(RecordRow::into_record)
        .collect()
}

fn get(conn: &mut Conn, kind: Kind, key: &Key) -> Result<Option<Record>, ApiError> {
    matching(kind, &key.project_onto(kind), true)
        .select(RecordRow::as_select())
        .first(conn)
        .optional()?
        .map(RecordRow::into_record)
        .transpose()
}

fn view(conn: &mut Conn, record: Record) -> Result<RecordView, ApiError> {
    let own_key = record.key.project_onto(record.kind);
    let mut relations = Vec::new();
    for related in record.kind.relations() {
        relations.push((*related, find(conn, *related, &own_key)?));
    }
    let mut links = Vec::new();
    if record.kind == Kind::Registration {
        for (name, kind) in [
            ("collaboration", Kind::Collaboration),
            ("project", Kind::Project),
            ("participant", Kind::Participant),
        ] {
            if let Some(linked) = get(conn, kind, &record.key)? {
                links.push((name, linked));
            }
        }
    }
    Ok(RecordView {
        record,
        relations,
        links,
    })
}

fn check_parents(conn: &mut Conn, kind: Kind, key: &Key) -> Result<(), ApiError> {
    for parent in kind.parents() {
        if get(conn, *parent, key)?.is_none() {
            return Err(ApiError::not_found(not_found_message(*parent, key)));
        }
    }
    Ok(())
}

/// The `link` of a new association record: the inherited link plus a new id.
fn new_link(conn: &mut Conn, kind: Kind, key: &Key) -> Result<Option<Value>, ApiError> {
    let Some((id_name, inherit)) = kind.link_id() else {
        return Ok(None);
    };
    let mut link = Map::new();
    for source in inherit.into_iter().chain([Kind::Registration]) {
        if let Some(record) = get(conn, source, key)?
            && let Some(Value::Object(inherited)) = record.fields.get("link")
        {
            link = inherited.clone();
            break;
        }
    }
    link.insert(
        id_name.to_owned(),
        Value::String(uuid::Uuid::new_v4().simple().to_string()),
    );
    Ok(Some(Value::Object(link)))
}

fn write_body(conn: &mut Conn, doc_id: i64, fields: &Map<String, Value>) -> Result<(), ApiError> {
    let body = serde_json::to_string(fields).map_err(ApiError::internal)?;
    diesel::update(records::table.filter(records::doc_id.eq(doc_id)))
        .set((records::body.eq(body), records::updated_at.eq(now())))
        .execute(conn)?;
    Ok(())
}

/// Inserts the record, or shallow-merges `fields` into the existing one.
fn upsert(
    conn: &mut Conn,
    kind: Kind,
    key: &Key,
    fields: Map<String, Value>,
) -> Result<Record, ApiError> {
    let key = key.project_onto(kind);
    if !key.is_complete_for(kind) {
        return Err(ApiError::internal(format!(
            "incomplete {kind:?} key {key:?}"
        )));
    }
    check_parents(conn, kind, &key)?;
    if let Some(mut existing) = get(conn, kind, &key)? {
        existing.fields.extend(fields);
        write_body(conn, existing.doc_id, &existing.fields)?;
        return Ok(existing);
    }
    let mut fields = fields;
    if let Some(link) = new_link(conn, kind, &key)? {
        fields.insert("link".into(), link);
    }
    let created_at = now();
    diesel::insert_into(records::table)
        .values(NewRecord {
            kind: kind.as_str(),
            collab_id: &key.collab_id,
            project_id: &key.project_id,
            expt_id: &key.expt_id,
            run_id: &key.run_id,
            participant_id: &key.participant_id,
            body: serde_json::to_string(&fields).map_err(ApiError::internal)?,
            created_at: &created_at,
            updated_at: &created_at,
        })
        .execute(conn)?;
    get(conn, kind, &key)?.ok_or_else(|| ApiError::internal("inserted record vanished"))
}

/// Ids bound per `DELETE`, well under every backend's parameter limit.
const DELETE_CHUNK: usize = 500;

/// Checks the merged fields of an update before they are written.
pub type MergeCheck = Box<dyn FnOnce(&Map<String, Value>) -> Result<(), ApiError> + Send>;

impl Db {
    /// Every `kind` record whose key matches the non-empty identifiers of
    /// `filter`, with relations, oldest first.
    pub async fn list_records(&self, kind: Kind, filter: Key) -> Result<Vec<RecordView>, ApiError> {
        self.run(move |conn| {
            find(conn, kind, &filter)?
                .into_iter()
                .map(|record| view(conn, record))
                .collect()
        })
        .await
    }

    /// Like [`Db::list_records`] without relations (for orchestration).
    pub async fn list_plain_records(
        &self,
        kind: Kind,
        filter: Key,
    ) -> Result<Vec<Record>, ApiError> {
        self.run(move |conn| find(conn, kind, &filter)).await
    }

    /// One record with relations.
    pub async fn record(&self, kind: Kind, key: Key) -> Result<Option<RecordView>, ApiError> {
        self.run(move |conn| get(conn, kind, &key)?.map(|r| view(conn, r)).transpose())
            .await
    }

    /// A record that must exist: 404 with the Synergos message otherwise.
    pub async fn existing_record(&self, kind: Kind, key: Key) -> Result<Record, ApiError> {
        let message = not_found_message(kind, &key);
        self.run(move |conn| get(conn, kind, &key))
            .await?
            .ok_or_else(|| ApiError::not_found(message))
    }

    /// Synergos POST: creates the record (its parents must exist) or
    /// shallow-merges `fields` into the existing one.
    pub async fn upsert_record(
        &self,
        kind: Kind,
        key: Key,
        fields: Map<String, Value>,
    ) -> Result<RecordView, ApiError> {
        self.run(move |conn| {
            let record = write_transaction(conn, |conn| upsert(conn, kind, &key, fields))?;
            view(conn, record)
        })
        .await
    }

    /// Synergos PUT: shallow-merges `changes` into an existing record after
    /// `check` accepted the merged fields. `None` if the record is missing.
    pub async fn update_record(
        &self,
        kind: Kind,
        key: Key,
        changes: Map<String, Value>,
        check: MergeCheck,
    ) -> Result<Option<RecordView>, ApiError> {
        self.run(move |conn| {
            let updated = write_transaction(conn, |conn| {
                let Some(mut record) = get(conn, kind, &key)? else {
                    return Ok(None);
                };
                record.fields.extend(changes);
                check(&record.fields)?;
                write_body(conn, record.doc_id, &record.fields)?;
                Ok(Some(record))
            })?;
            updated.map(|r| view(conn, r)).transpose()
        })
        .await
    }

    /// Synergos DELETE: removes the record and, in the same transaction, every
    /// related record under its full key. Returns it as it was before.
    pub async fn delete_record(
        &self,
        kind: Kind,
        key: Key,
    ) -> Result<Option<RecordView>, ApiError> {
        self.run(move |conn| {
            write_transaction(conn, |conn| {
                let Some(record) = get(conn, kind, &key)? else {
                    return Ok(None);
                };
                let before = view(conn, record)?;
                let own_key = before.record.key.project_onto(kind);
                if !own_key.is_complete_for(kind) {
                    return Err(ApiError::internal(format!(
                        "incomplete {kind:?} key {own_key:?}"
                    )));
                }
                // The view read every related record under the full key,
                // and the writer lock keeps new ones out until commit.
                let doomed: Vec<i64> = before
                    .relations
                    .iter()
                    .flat_map(|(_, related)| related.iter().map(|r| r.doc_id))
                    .chain([before.record.doc_id])
                    .collect();
                for ids in doomed.chunks(DELETE_CHUNK) {
                    diesel::delete(records::table.filter(records::doc_id.eq_any(ids)))
                        .execute(conn)?;
                }
                Ok(Some(before))
            })
        })
        .await
    }

    /// Upserts several records of one kind in one transaction (alignment
    /// results, one per participant).
    pub async fn upsert_records(
        &self,
        kind: Kind,
        entries: Vec<(Key, Map<String, Value>)>,
    ) -> Result<Vec<Record>, ApiError> {
        self.run(move |conn| {
            write_transaction(conn, |conn| {
                entries
                    .into_iter()
                    .map(|(key, fields)| upsert(conn, kind, &key, fields))
                    .collect()
            })
        })
        .await
    }
}
