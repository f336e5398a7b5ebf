//! The Synergos document model: record kinds, composite keys, relations and
//! the JSON shape of a record (`key`, `relations`, `doc_id`, `kind`,
//! `created_at` around the stored fields).
//!
//! Relations and cascades match the parent's *full* composite key, never a
//! single id field (a deliberate fix of Synergos bug 8.1: the same
//! `project_id` in two collaborations must not collide).

use serde_json::{Map, Value, json};

/// The Synergos tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
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
}

/// One identifier of a composite key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Collab,
    Project,
    Expt,
    Run,
    Participant,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Field::Collab => "collab_id",
            Field::Project => "project_id",
            Field::Expt => "expt_id",
            Field::Run => "run_id",
            Field::Participant => "participant_id",
        }
    }
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::Collaboration,
        Kind::Project,
        Kind::Experiment,
        Kind::Run,
        Kind::Participant,
        Kind::Registration,
        Kind::Tag,
        Kind::Alignment,
        Kind::Model,
        Kind::Validation,
        Kind::Prediction,
    ];

    /// The table name, as stored and as shown in `kind` and `relations`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Collaboration => "Collaboration",
            Kind::Project => "Project",
            Kind::Experiment => "Experiment",
            Kind::Run => "Run",
            Kind::Participant => "Participant",
            Kind::Registration => "Registration",
            Kind::Tag => "Tag",
            Kind::Alignment => "Alignment",
            Kind::Model => "Model",
            Kind::Validation => "Validation",
            Kind::Prediction => "Prediction",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The identifiers that make up this kind's composite key.
    pub fn key_fields(self) -> &'static [Field] {
        use Field::*;
        match self {
            Kind::Collaboration => &[Collab],
            Kind::Project => &[Collab, Project],
            Kind::Experiment => &[Collab, Project, Expt],
            Kind::Run | Kind::Model => &[Collab, Project, Expt, Run],
            Kind::Participant => &[Participant],
            Kind::Registration | Kind::Tag | Kind::Alignment => &[Collab, Project, Participant],
            Kind::Validation | Kind::Prediction => &[Participant, Collab, Project, Expt, Run],
        }
    }

    /// Records attached under `relations` on read and deleted with this one.
    /// Each related kind's key contains all of this kind's key fields.
    pub fn relations(self) -> &'static [Kind] {
        use Kind::*;
        match self {
            Collaboration => &[
                Project,
                Experiment,
                Run,
                Registration,
                Tag,
                Alignment,
                Model,
                Validation,
                Prediction,
            ],
            Project => &[
                Experiment,
                Run,
                Registration,
                Tag,
                Alignment,
                Model,
                Validation,
                Prediction,
            ],
            Experiment => &[Run, Model, Validation, Prediction],
            Run => &[Model, Validation, Prediction],
            Participant => &[Registration, Tag, Alignment, Validation, Prediction],
            Registration => &[Tag, Alignment],
            Tag => &[Alignment],
            Model => &[Validation, Prediction],
            Alignment | Validation | Prediction => &[],
        }
    }

    /// Records that must exist before one of this kind is created, checked in
    /// this order (so the first missing one names the real problem).
    pub fn parents(self) -> &'static [Kind] {
        use Kind::*;
        match self {
            Collaboration | Participant => &[],
            Project => &[Collaboration],
            Experiment => &[Collaboration, Project],
            Run => &[Collaboration, Project, Experiment],
            Registration => &[Collaboration, Project, Participant],
            Tag | Alignment => &[Registration],
            Model => &[Run],
            Validation | Prediction => &[Model],
        }
    }

    /// The `link` object of a newly created association record, if the kind
    /// has one: `(id name, inherited from)`.
    pub fn link_id(self) -> Option<(&'static str, Option<Kind>)> {
        match self {
            Kind::Registration => Some(("registration_id", None)),
            Kind::Tag => Some(("tag_id", Some(Kind::Registration))),
            Kind::Alignment => Some(("alignment_id", Some(Kind::Tag))),
            Kind::Model => Some(("model_id", None)),
            Kind::Validation => Some(("val_id", None)),
            Kind::Prediction => Some(("pred_id", None)),
            _ => None,
        }
    }
}

/// A composite natural key. An empty string means "not part of the key" (or,
/// in a filter, "any").
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Key {
    pub collab_id: String,
    pub project_id: String,
    pub expt_id: String,
    pub run_id: String,
    pub participant_id: String,
}

impl Key {
    pub fn collaboration(collab_id: &str) -> Key {
        Key {
            collab_id: collab_id.to_owned(),
            ..Key::default()
        }
    }

    pub fn project(collab_id: &str, project_id: &str) -> Key {
        Key {
            project_id: project_id.to_owned(),
            ..Key::collaboration(collab_id)
        }
    }

    pub fn participant(participant_id: &str) -> Key {
        Key {
            participant_id: participant_id.to_owned(),
            ..Key::default()
        }
    }

    pub fn get(&self, field: Field) -> &str {
        match field {
            Field::Collab => &self.collab_id,
            Field::Project => &self.project_id,
            Field::Expt => &self.expt_id,
            Field::Run => &self.run_id,
            Field::Participant => &self.participant_id,
        }
    }

    pub fn set(&mut self, field: Field, value: impl Into<String>) {
        let value = value.into();
        match field {
            Field::Collab => self.collab_id = value,
            Field::Project => self.project_id = value,
            Field::Expt => self.expt_id = value,
            Field::Run => self.run_id = value,
            Field::Participant => self.participant_id = value,
        }
    }

    pub fn with(mut self, field: Field, value: impl Into<String>) -> Key {
        self.set(field, value);
        self
    }

    /// This key reduced to `kind`'s identifiers.
    pub fn project_onto(&self, kind: Kind) -> Key {
        let mut key = Key::default();
        for field in kind.key_fields() {
            key.set(*field, self.get(*field));
        }
        key
    }

    /// Whether every identifier of `kind`'s key is set.
    pub fn is_complete_for(&self, kind: Kind) -> bool {
        kind.key_fields().iter().all(|f| !self.get(*f).is_empty())
    }

    /// The `key` object of a `kind` record.
    pub fn to_json(&self, kind: Kind) -> Value {
        let map: Map<String, Value> = kind
            .key_fields()
            .iter()
            .map(|f| (f.name().to_owned(), Value::String(self.get(*f).to_owned())))
            .collect();
        Value::Object(map)
    }
}

/// A stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub doc_id: i64,
    pub kind: Kind,
    pub key: Key,
    pub fields: Map<String, Value>,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub created_at: String,
}

/// Synergos (TinyDB's `TinyDate`) writes datetimes as `YYYY-MM-DD HH:MM:SS N`:
/// UTC now truncated to seconds, `N` marking a naive datetime. We store the
/// same instant and render it the same way.
pub fn synergos_datetime(stored: &str) -> String {
    format!("{stored} N")
}

impl Record {
    /// The record as Synergos shows it, without relations.
    pub fn to_json(&self) -> Value {
        let mut out = self.fields.clone();
        out.insert("key".into(), self.key.to_json(self.kind));
        out.insert("doc_id".into(), json!(self.doc_id));
        out.insert("kind".into(), json!(self.kind.as_str()));
        out.insert(
            "created_at".into(),
            json!(synergos_datetime(&self.created_at)),
        );
        Value::Object(out)
    }
}

/// A record as read through the API: with its related records and, for a
/// registration, the collaboration, project and participant it links.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordView {
    pub record: Record,
    pub relations: Vec<(Kind, Vec<Record>)>,
    pub links: Vec<(&'static str, Record)>,
}

impl RecordView {
    pub fn to_json(&self) -> Value {
        let mut out = self.record.to_json();
        let Value::Object(map) = &mut out else {
            return out;
        };
        for (name, linked) in &self.links {
            map.insert((*name).to_owned(), linked.to_json());
        }
        if !self.record.kind.relations().is_empty() {
            let relations: Map<String, Value> = self
                .relations
                .iter()
                .map(|(kind, records)| {
                    let list = records.iter().map(Record::to_json).collect();
                    (kind.as_str().to_owned(), Value::Array(list))
                })
                .collect();
            map.insert("relations".into(), Value::Object(relations));
        }
        out
    }
}

/// The Synergos 404 message for a missing `kind` record with `key`.
pub fn not_found_message(kind: Kind, key: &Key) -> String {
    match kind {
        Kind::Collaboration => format!("Collaboration '{}' does not exist!", key.collab_id),
        Kind::Project => format!("Project '{}' does not exist!", key.project_id),
        Kind::Experiment => format!("Experiment '{}' does not exist!", key.expt_id),
        Kind::Run => format!("Run '{}' does not exist!", key.run_id),
        Kind::Participant => format!("Participant '{}' does not exist!", key.participant_id),
        Kind::Registration => format!(
            "Participant '{}' has not registered for Project '{}'!",
            key.participant_id, key.project_id
        ),
        Kind::Tag => format!(
            "Participant '{}' has not declared tags for Project '{}'!",
            key.participant_id, key.project_id
        ),
        Kind::Alignment => format!(
            "MFA has not been performed for Project '{}'!",
            key.project_id
        ),
        Kind::Model => "Models do not exist for specified keyword filters!".to_owned(),
        Kind::Validation => "Validations do not exist for specified keyword filters!".to_owned(),
        Kind::Prediction => "Predictions do not exist for specified keyword filters!".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_only_point_to_kinds_whose_key_contains_ours() {
        for kind in Kind::ALL {
            for related in kind.relations() {
                for field in kind.key_fields() {
                    assert!(
                        related.key_fields().contains(field),
                        "{kind:?} -> {related:?} misses {field:?}"
                    );
                }
            }
            for parent in kind.parents() {
                for field in parent.key_fields() {
                    assert!(kind.key_fields().contains(field));
                }
            }
        }
    }

    #[test]
    fn key_json_holds_only_the_kind_fields() {
        let key = Key::project("c", "p").with(Field::Participant, "x");
        assert_eq!(
            key.to_json(Kind::Project),
            json!({"collab_id": "c", "project_id": "p"})
        );
        assert_eq!(key.project_onto(Kind::Participant), Key::participant("x"));
    }
}
