//! Tabular datasets on the participant's disk: tag resolution, the CSV +
//! `schema.json` pipeline that turns them into numbers, and alignment onto the
//! federation's shared feature layout.
//!
//! The flow is `resolve_tag` -> [`load_meta`] (one [`TabularData`] per meta:
//! train, evaluate or predict) -> [`TabularData::summary`] (what the worker
//! reports for alignment) -> [`apply_layout`] (the layout the orchestrator sends
//! back) -> [`AlignedData`] ready for training.
//!
//! Deliberate differences from Synergos (spec section 6), each chosen because the
//! original behaviour loses data or hides mistakes:
//! - tags match the path components *relative to the data directory* (Synergos
//!   matched the absolute path, so a token like `data` matched everything), an
//!   exact relative path wins, and a tag matching several datasets is an error
//!   instead of silently taking the first;
//! - values wrapped in quotes, including curly quotes (`“1”`), are recovered as
//!   numbers (Synergos coerced them to NaN and imputed them);
//! - missing values are imputed with the column median (numeric columns) or mode
//!   (`category` and `bool` columns, ties broken towards the smallest level)
//!   instead of a local CatBoost model; rows with a missing `target` are dropped,
//!   never imputed;
//! - integer-like columns are rounded, not truncated, when cast;
//! - `object` feature columns are dropped (they cannot be numbers); an `object`
//!   target is an error;
//! - scaling is not local: [`apply_layout`] min-max scales with the ranges of the
//!   shared layout, so train and evaluate data of every party use one scale.

mod frame;
mod layout;
mod schema;
mod tabular;
mod tags;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use layout::apply_layout;
pub use tabular::load_meta;
pub use tags::resolve_tag;

/// The learning task a dataset is prepared for; it decides how `target` is
/// encoded. The same type the model and training code use.
pub use ttp_learning::hyper::Action;

/// One meta (all tags of train, evaluate or predict) after cleaning and one-hot
/// encoding, before scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct TabularData {
    /// Feature headers, sorted lexicographically; categories are `<col>_<level>`.
    pub x_headers: Vec<String>,
    /// `target_<level>` headers (classify, sorted) or `["target"]` (regress).
    pub y_headers: Vec<String>,
    pub rows: usize,
    /// Row-major, `rows x x_headers.len()`.
    pub x: Vec<f64>,
    /// Row-major, `rows x y_headers.len()`.
    pub y: Vec<f64>,
}

/// What a worker reports about one meta so the orchestrator can build a layout.
#[derive(Debug, Clone, PartialEq)]
pub struct MetaSummary {
    pub x_headers: Vec<String>,
    pub y_headers: Vec<String>,
    pub rows: u64,
    /// `(min, max)` of every x column before scaling.
    pub ranges: BTreeMap<String, (f64, f64)>,
}

impl TabularData {
    /// Headers, row count and per-column ranges: everything alignment needs, no rows.
    pub fn summary(&self) -> MetaSummary {
        let cols = self.x_headers.len();
        let mut ranges = BTreeMap::new();
        if self.rows > 0 && cols > 0 {
            for (c, header) in self.x_headers.iter().enumerate() {
                let (min, max) = self
                    .x
                    .iter()
                    .skip(c)
                    .step_by(cols)
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                        (lo.min(v), hi.max(v))
                    });
                ranges.insert(header.clone(), (min, max));
            }
        }
        MetaSummary {
            x_headers: self.x_headers.clone(),
            y_headers: self.y_headers.clone(),
            rows: self.rows as u64,
            ranges,
        }
    }
}

/// The shared feature layout every party aligns to (the result of multiple
/// feature alignment), with the ranges used for min-max scaling.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub x_headers: Vec<String>,
    pub y_headers: Vec<String>,
    pub ranges: BTreeMap<String, (f64, f64)>,
}

/// A party's own layout: what local-only training and tests align to.
impl From<MetaSummary> for Layout {
    fn from(summary: MetaSummary) -> Self {
        Layout {
            x_headers: summary.x_headers,
            y_headers: summary.y_headers,
            ranges: summary.ranges,
        }
    }
}

/// Labels condensed for the loss function (spec 6.2 step 10).
#[derive(Debug, Clone, PartialEq)]
pub enum Labels {
    /// Class index per row, when the layout has more than two classes.
    Classes(Vec<i64>),
    /// 0.0 or 1.0 per row, when the layout has at most two classes.
    Binary(Vec<f32>),
    /// Regression targets.
    Values(Vec<f32>),
}

/// Data in the shared layout, scaled, ready to become tensors.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignedData {
    pub rows: usize,
    pub cols: usize,
    /// Row-major, `rows x cols`, min-max scaled with the layout's ranges.
    pub x: Vec<f32>,
    pub labels: Labels,
}

/// Why a dataset could not be resolved, loaded or aligned. Every message names
/// the file, column or tag at fault; paths inside the data directory are shown
/// relative to it.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("a tag needs at least one token")]
    EmptyTag,
    #[error("a meta needs at least one tag")]
    NoTags,
    #[error("tag token `{token}` is not allowed: {reason}")]
    BadTagToken { token: String, reason: &'static str },
    #[error("data directory `{path}` cannot be read: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no dataset matches tag {tag} under `{data_dir}`")]
    TagNotFound { tag: String, data_dir: PathBuf },
    #[error("no dataset matches tag {tag}: `{dir}` has no metadata.json")]
    NoMetadata { tag: String, dir: PathBuf },
    #[error("tag {tag} is ambiguous: matches {matches}")]
    AmbiguousTag { tag: String, matches: String },
    #[error("tag {tag} resolves to `{path}`, which is outside the data directory")]
    OutsideDataDir { tag: String, path: PathBuf },
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not valid JSON: {source}")]
    BadJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("`{path}` is not a valid metadata.json: {reason}")]
    BadMetadata { path: PathBuf, reason: String },
    #[error("datatype `{datatype}` is not supported yet (`{path}`)")]
    UnsupportedDatatype { datatype: String, path: PathBuf },
    #[error("`{dir}` holds no CSV file")]
    NoCsv { dir: PathBuf },
    #[error("`{csv}` has no schema.json next to it")]
    MissingSchema { csv: PathBuf },
    #[error("`{path}` is not a valid schema: {reason}")]
    BadSchema { path: PathBuf, reason: String },
    #[error("`{schema}` has no `target` column")]
    SchemaLacksTarget { schema: PathBuf },
    #[error(
        "column `{column}` in `{schema}` has dtype `{dtype}`; expected one of int32, int64, \
         float32, float64, category, object, bool"
    )]
    UnknownDtype {
        column: String,
        dtype: String,
        schema: PathBuf,
    },
    #[error("column `{column}` in `{schema}` is not in `{csv}`")]
    SchemaColumnNotInCsv {
        column: String,
        schema: PathBuf,
        csv: PathBuf,
    },
    #[error("column `{column}` in `{csv}` is not in `{schema}`")]
    CsvColumnNotInSchema {
        column: String,
        csv: PathBuf,
        schema: PathBuf,
    },
    #[error("column `{column}` appears twice in `{csv}`")]
    DuplicateColumn { column: String, csv: PathBuf },
    #[error("`{csv}` has no data rows")]
    EmptyCsv { csv: PathBuf },
    #[error("`{path}` is not a valid CSV: {source}")]
    Csv { path: PathBuf, source: csv::Error },
    #[error("`{path}` is {size} bytes; CSV files over {limit} bytes are refused")]
    CsvTooLarge {
        path: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{what} has {count} columns; at most {limit} are supported")]
    TooManyColumns {
        what: String,
        count: usize,
        limit: usize,
    },
    #[error("the data has {rows} rows x {cols} columns; at most {limit} cells are supported")]
    TooManyCells {
        rows: usize,
        cols: usize,
        limit: usize,
    },
    #[error("column `target` in `{csv}` is entirely empty")]
    TargetEmpty { csv: PathBuf },
    #[error("column `target` in `{schema}` has dtype `object`; the target must be numeric")]
    ObjectTarget { schema: PathBuf },
    #[error("column `{column}` in `{csv}` has no numeric value (e.g. `{example}`)")]
    NotNumeric {
        column: String,
        csv: PathBuf,
        example: String,
    },
    #[error("every row of `{csv}` lacks a `target` value")]
    NoLabelledRows { csv: PathBuf },
    #[error(
        "column `{column}` is `{first}` in `{first_schema}` but `{second}` in `{second_schema}`"
    )]
    DtypeConflict {
        column: String,
        first: String,
        first_schema: PathBuf,
        second: String,
        second_schema: PathBuf,
    },
    #[error("header `{header}` is produced twice after one-hot encoding; rename a column")]
    HeaderCollision { header: String },
    #[error("feature drift: column `{column}` is not in the aligned layout")]
    FeatureDrift { column: String },
    #[error("label drift: label `{column}` is not in the aligned layout")]
    LabelDrift { column: String },
    #[error("invalid layout: {reason}")]
    InvalidLayout { reason: String },
    #[error(
        "labels [{headers}] do not fit action `{wanted}`: classify needs `target_<level>` \
         columns, regress one `target` column"
    )]
    ActionMismatch { wanted: Action, headers: String },
    #[error("the {what} matrix holds {len} values, not {rows} rows x {cols} columns")]
    Shape {
        what: &'static str,
        len: usize,
        rows: usize,
        cols: usize,
    },
    #[error("row {row} does not have exactly one class set in its one-hot label")]
    BadOneHot { row: usize },
}

/// `[a, b]`: how tags appear in messages.
fn fmt_tag(tokens: &[String]) -> String {
    format!("[{}]", tokens.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reports_column_ranges() {
        let data = TabularData {
            x_headers: vec!["a".to_owned(), "b".to_owned()],
            y_headers: vec!["target".to_owned()],
            rows: 3,
            x: vec![1.0, -2.0, 5.0, 0.0, 3.0, 7.0],
            y: vec![0.0; 3],
        };
        let summary = data.summary();
        assert_eq!(summary.rows, 3);
        assert_eq!(summary.ranges["a"], (1.0, 5.0));
        assert_eq!(summary.ranges["b"], (-2.0, 7.0));
        let layout = Layout::from(summary);
        assert_eq!(layout.x_headers, data.x_headers);
    }
}
