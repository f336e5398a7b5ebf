//! The two JSON descriptors of a tabular dataset: `metadata.json` (which
//! pipeline applies) and `schema.json` (the pandas dtype of every CSV column).
//!
//! `metadata.operations` is ignored for tabular data, as in Synergos.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::DatasetError;
use super::tags::METADATA;

/// The dtype strings a schema may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dtype {
    Int32,
    Int64,
    Float32,
    Float64,
    Category,
    Object,
    Bool,
}

impl Dtype {
    fn parse(s: &str) -> Option<Dtype> {
        Some(match s {
            "int32" => Dtype::Int32,
            "int64" => Dtype::Int64,
            "float32" => Dtype::Float32,
            "float64" => Dtype::Float64,
            "category" => Dtype::Category,
            "object" => Dtype::Object,
            "bool" => Dtype::Bool,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            Dtype::Int32 => "int32",
            Dtype::Int64 => "int64",
            Dtype::Float32 => "float32",
            Dtype::Float64 => "float64",
            Dtype::Category => "category",
            Dtype::Object => "object",
            Dtype::Bool => "bool",
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed `schema.json`: column name to dtype.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Schema {
    pub columns: BTreeMap<String, Dtype>,
}

/// Reads `dir/metadata.json` and checks the dataset is tabular. `shown` is how
/// the directory appears in messages.
pub(crate) fn ensure_tabular(dir: &Path, shown: &Path) -> Result<(), DatasetError> {
    let path = dir.join(METADATA);
    let shown = shown.join(METADATA);
    let value = read_json(&path, &shown)?;
    let bad = |reason: &str| DatasetError::BadMetadata {
        path: shown.clone(),
        reason: reason.to_owned(),
    };
    let object = value
        .as_object()
        .ok_or_else(|| bad("expected a JSON object"))?;
    let datatype = match object.get("datatype") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(bad("`datatype` must be a string")),
        None => return Err(bad("`datatype` is missing")),
    };
    match datatype {
        "tabular" => Ok(()),
        "image" | "text" => Err(DatasetError::UnsupportedDatatype {
            datatype: datatype.to_owned(),
            path: shown,
        }),
        other => Err(bad(&format!(
            "datatype `{other}` is unknown; expected `tabular`, `image` or `text`"
        ))),
    }
}

/// Reads a `schema.json`. `shown` is how the file appears in messages.
pub(crate) fn read_schema(path: &Path, shown: &Path) -> Result<Schema, DatasetError> {
    parse_schema(&read_json(path, shown)?, shown)
}

fn parse_schema(value: &Value, shown: &Path) -> Result<Schema, DatasetError> {
    let object = value.as_object().ok_or_else(|| DatasetError::BadSchema {
        path: shown.to_path_buf(),
        reason: "expected a JSON object mapping column names to dtypes".to_owned(),
    })?;
    let mut columns = BTreeMap::new();
    for (column, dtype) in object {
        let dtype_str = dtype.as_str().ok_or_else(|| DatasetError::BadSchema {
            path: shown.to_path_buf(),
            reason: format!("the dtype of column `{column}` must be a string, not `{dtype}`"),
        })?;
        let parsed = Dtype::parse(dtype_str).ok_or_else(|| DatasetError::UnknownDtype {
            column: column.clone(),
            dtype: dtype_str.to_owned(),
            schema: shown.to_path_buf(),
        })?;
        columns.insert(column.trim().to_owned(), parsed);
    }
    if !columns.contains_key("target") {
        return Err(DatasetError::SchemaLacksTarget {
            schema: shown.to_path_buf(),
        });
    }
    Ok(Schema { columns })
}

fn read_json(path: &Path, shown: &Path) -> Result<Value, DatasetError> {
    let text = fs::read_to_string(path).map_err(|source| DatasetError::Io {
        path: PathBuf::from(shown),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| DatasetError::BadJson {
        path: PathBuf::from(shown),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(json: &str) -> Result<Schema, DatasetError> {
        let value: Value = serde_json::from_str(json).expect("test json");
        parse_schema(&value, Path::new("d/schema.json"))
    }

    #[test]
    fn heart_disease_schema_parses() {
        let s =
            schema(r#"{"age": "int32", "sex": "category", "target": "category"}"#).expect("valid");
        assert_eq!(s.columns["age"], Dtype::Int32);
        assert_eq!(s.columns["target"], Dtype::Category);
    }

    #[test]
    fn schema_without_target_is_refused() {
        let err = schema(r#"{"age": "int32"}"#).expect_err("no target");
        assert_eq!(err.to_string(), "`d/schema.json` has no `target` column");
    }

    #[test]
    fn unknown_dtype_is_named() {
        let err = schema(r#"{"age": "int8", "target": "category"}"#).expect_err("dtype");
        let msg = err.to_string();
        assert!(
            msg.contains("column `age`") && msg.contains("`int8`"),
            "{msg}"
        );
    }

    #[test]
    fn metadata_datatypes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |text: &str| fs::write(dir.path().join(METADATA), text).expect("write");
        let shown = Path::new("ds");

        write(r#"{"datatype": "tabular", "operations": {}}"#);
        ensure_tabular(dir.path(), shown).expect("tabular");

        write(r#"{"datatype": "image", "operations": {}}"#);
        let err = ensure_tabular(dir.path(), shown).expect_err("image");
        assert!(
            err.to_string()
                .starts_with("datatype `image` is not supported yet"),
            "{err}"
        );

        write(r#"{"datatype": "tabular", "#);
        let err = ensure_tabular(dir.path(), shown).expect_err("malformed");
        assert!(
            err.to_string()
                .starts_with("`ds/metadata.json` is not valid JSON"),
            "{err}"
        );

        write(r#"{"operations": {}}"#);
        let err = ensure_tabular(dir.path(), shown).expect_err("no datatype");
        assert!(err.to_string().contains("`datatype` is missing"), "{err}");
    }
}
