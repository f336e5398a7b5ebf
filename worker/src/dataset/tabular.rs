//! The tabular pipeline: reads every CSV of a meta's tags with its
//! `schema.json`, cleans each one, combines them and one-hot encodes the result
//! into a [`TabularData`] (spec 6.2, steps 1-8 without scaling).
//!
//! Every `*.csv` below a tag's directory is read (Synergos' `**/*.csv`), in path
//! order, each against the `schema.json` beside it.
//!
//! Per CSV: all-empty columns ("NA slices") are dropped; `object` features are
//! dropped too, since they hold no numbers; every cell is coerced to a number;
//! rows without a target are dropped; gaps are imputed (median or mode); integer,
//! category and bool columns are rounded; duplicate rows are dropped. The CSVs of
//! all tags are then stacked (union of columns), the gaps that creates are
//! imputed the same way, and duplicates are dropped again. Category features
//! become one `<col>_<level>` column per level (all levels kept); headers are
//! sorted as plain strings.
//!
//! Coercion trims whitespace and straight or curly quotes, reads `true`/`false`
//! as 1/0, and treats blanks, pandas' NA markers, text and non-finite numbers as
//! missing. CSVs over 512 MiB and results over 10 000 columns (or 2^28 cells) are
//! refused before they are built. The pipeline reads everything afresh on every call:
//! there is no cache to go stale (Synergos reused its cache forever).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::frame::{Cell, Column, Frame, Kind, parse_cell};
use super::schema::{Dtype, ensure_tabular, read_schema};
use super::tags::{canonical_data_dir, resolve_tag};
use super::{Action, DatasetError, TabularData};

/// Larger CSV files are refused rather than read into memory.
const MAX_CSV_BYTES: u64 = 512 * 1024 * 1024;
/// Most columns (features after one-hot, plus labels) a meta may produce.
const MAX_COLUMNS: usize = 10_000;
/// Most cells of the encoded matrices (2 GiB of `f64`).
const MAX_CELLS: usize = 1 << 28;
/// How deep below a dataset directory CSV files are looked for.
const MAX_DEPTH: usize = 8;

const TARGET: &str = "target";

/// Loads, cleans and encodes every dataset named by `tags` into one table.
pub fn load_meta(
    data_dir: &Path,
    tags: &[Vec<String>],
    action: Action,
) -> Result<TabularData, DatasetError> {
    let root = canonical_data_dir(data_dir)?;
    let mut combined: Option<Frame> = None;
    for tokens in tags {
        let dir = resolve_tag(data_dir, tokens)?;
        let shown_dir = shown(&root, &dir);
        ensure_tabular(&dir, &shown_dir)?;
        let csvs = find_csvs(&dir, &root)?;
        if csvs.is_empty() {
            return Err(DatasetError::NoCsv { dir: shown_dir });
        }
        for csv in csvs {
            let frame = read_csv(&csv, &root)?;
            combined = Some(match combined {
                None => frame,
                Some(acc) => acc.append(frame)?,
            });
        }
    }
    let mut frame = combined.ok_or(DatasetError::NoTags)?;
    frame.impute();
    frame.cast();
    frame.dedup();
    encode(&frame, action)
}

/// `path` relative to the data directory, for messages.
fn shown(root: &Path, path: &Path) -> PathBuf {
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

/// Every `*.csv` under `dir`, sorted by path. Symlinked files are read,
/// symlinked directories are not descended.
fn find_csvs(dir: &Path, root: &Path) -> Result<Vec<PathBuf>, DatasetError> {
    let mut found = Vec::new();
    let mut frontier = vec![dir.to_path_buf()];
    for _ in 0..MAX_DEPTH {
        let mut next = Vec::new();
        for current in &frontier {
            let io = |source| DatasetError::Io {
                path: shown(root, current),
                source,
            };
            for entry in fs::read_dir(current).map_err(io)? {
                let entry = entry.map_err(io)?;
                let path = entry.path();
                let kind = entry.file_type().map_err(io)?;
                if kind.is_dir() {
                    next.push(path);
                } else if path.extension().is_some_and(|e| e == "csv") && path.is_file() {
                    found.push(path);
                }
            }
        }
        frontier = next;
    }
    found.sort();
    Ok(found)
}

/// Reads one CSV against its sibling `schema.json` and cleans it.
fn read_csv(path: &Path, root: &Path) -> Result<Frame, DatasetError> {
    let csv_shown = shown(root, path);
    let schema_path = path.with_file_name("schema.json");
    let schema_shown = shown(root, &schema_path);
    if !schema_path.is_file() {
        return Err(DatasetError::MissingSchema { csv: csv_shown });
    }
    let io = |source| DatasetError::Io {
        path: csv_shown.clone(),
        source,
    };
    let size = fs::metadata(path).map_err(io)?.len();
    if size > MAX_CSV_BYTES {
        return Err(DatasetError::CsvTooLarge {
            path: csv_shown,
            size,
            limit: MAX_CSV_BYTES,
        });
    }
    let schema = read_schema(&schema_path, &schema_shown)?;

    let csv_err = |source| DatasetError::Csv {
        path: csv_shown.clone(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(BufReader::new(File::open(path).map_err(io)?));
    let headers: Vec<String> = reader
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_owned())
        .collect();
    if headers.iter().all(String::is_empty) {
        return Err(DatasetError::EmptyCsv { csv: csv_shown });
    }
    if headers.len() > MAX_COLUMNS {
        return Err(DatasetError::TooManyColumns {
            what: format!("`{}`", csv_shown.display()),
            count: headers.len(),
            limit: MAX_COLUMNS,
        });
    }
    let dtypes = match_schema(&headers, &schema.columns, &csv_shown, &schema_shown)?;
    if schema.columns.get(TARGET) == Some(&Dtype::Object) {
        return Err(DatasetError::ObjectTarget {
            schema: schema_shown,
        });
    }

    // One accumulator per header; `object` columns are skipped while reading.
    let mut columns: Vec<Option<Raw>> = dtypes.iter().map(|d| Kind::of(*d).map(Raw::new)).collect();
    let mut record = csv::StringRecord::new();
    let mut rows = 0usize;
    while reader.read_record(&mut record).map_err(csv_err)? {
        rows += 1;
        for (raw, field) in columns.iter_mut().zip(record.iter()) {
            if let Some(raw) = raw {
                raw.push(field);
            }
        }
    }
    if rows == 0 {
        return Err(DatasetError::EmptyCsv { csv: csv_shown });
    }

    let mut target = None;
    let mut features = BTreeMap::new();
    for ((name, raw), dtype) in headers.into_iter().zip(columns).zip(dtypes) {
        let Some(raw) = raw else {
            tracing::info!(csv = %csv_shown.display(), column = %name, "dropping `object` column: not a numeric feature");
            continue;
        };
        if !raw.any_number {
            if let Some(example) = raw.junk_example {
                return Err(DatasetError::NotNumeric {
                    column: name,
                    csv: csv_shown,
                    example,
                });
            }
            if name == TARGET {
                return Err(DatasetError::TargetEmpty { csv: csv_shown });
            }
            tracing::info!(csv = %csv_shown.display(), column = %name, "dropping all-empty column");
            continue;
        }
        let column = Column {
            kind: raw.kind,
            dtype,
            schema: schema_shown.clone(),
            values: raw.values,
        };
        if name == TARGET {
            target = Some(column);
        } else {
            features.insert(name, column);
        }
    }
    // `match_schema` guarantees the target header, and an empty target has returned.
    let target = target.ok_or_else(|| DatasetError::TargetEmpty {
        csv: csv_shown.clone(),
    })?;

    let mut frame = Frame {
        rows,
        target,
        features,
    };
    frame.drop_unlabelled();
    if frame.rows == 0 {
        return Err(DatasetError::NoLabelledRows { csv: csv_shown });
    }
    for dropped in frame.impute() {
        tracing::info!(csv = %csv_shown.display(), column = %dropped, "dropping column empty on every labelled row");
    }
    frame.cast();
    frame.dedup();
    Ok(frame)
}

/// Checks that the CSV header and the schema name the same columns, each once,
/// and returns the dtype of every header, in header order.
fn match_schema(
    headers: &[String],
    schema: &BTreeMap<String, Dtype>,
    csv: &Path,
    schema_path: &Path,
) -> Result<Vec<Dtype>, DatasetError> {
    let mut seen = BTreeSet::new();
    let mut dtypes = Vec::with_capacity(headers.len());
    for header in headers {
        let Some(dtype) = schema.get(header) else {
            return Err(DatasetError::CsvColumnNotInSchema {
                column: header.clone(),
                csv: csv.to_path_buf(),
                schema: schema_path.to_path_buf(),
            });
        };
        dtypes.push(*dtype);
        if !seen.insert(header.as_str()) {
            return Err(DatasetError::DuplicateColumn {
                column: header.clone(),
                csv: csv.to_path_buf(),
            });
        }
    }
    // Report the target first: it is the column users most often forget.
    let missing = std::iter::once(TARGET)
        .chain(schema.keys().map(String::as_str))
        .find(|c| !seen.contains(c));
    if let Some(column) = missing {
        return Err(DatasetError::SchemaColumnNotInCsv {
            column: column.to_owned(),
            schema: schema_path.to_path_buf(),
            csv: csv.to_path_buf(),
        });
    }
    Ok(dtypes)
}

/// A column while it is being read.
struct Raw {
    kind: Kind,
    values: Vec<f64>,
    any_number: bool,
    junk_example: Option<String>,
}

impl Raw {
    fn new(kind: Kind) -> Raw {
        Raw {
            kind,
            values: Vec::new(),
            any_number: false,
            junk_example: None,
        }
    }

    fn push(&mut self, field: &str) {
        let value = match parse_cell(field) {
            Cell::Number(v) => {
                self.any_number = true;
                v
            }
            Cell::Empty => f64::NAN,
            Cell::Junk => {
                if self.junk_example.is_none() {
                    self.junk_example = Some(field.chars().take(40).collect());
                }
                f64::NAN
            }
        };
        self.values.push(value);
    }
}

/// Where an encoded feature column takes its values from.
enum Source<'a> {
    Numeric(&'a [f64]),
    Level(&'a [f64], f64),
}

/// One-hot encodes category features and the classification target.
fn encode(frame: &Frame, action: Action) -> Result<TabularData, DatasetError> {
    let mut x_cols: Vec<(String, Source)> = Vec::new();
    for (name, column) in &frame.features {
        if column.kind == Kind::Category {
            for level in levels(&column.values) {
                x_cols.push((
                    format!("{name}_{}", fmt_level(level)),
                    Source::Level(&column.values, level),
                ));
            }
        } else {
            x_cols.push((name.clone(), Source::Numeric(&column.values)));
        }
    }
    let target = &frame.target.values;
    let mut y_cols: Vec<(String, Source)> = match action {
        Action::Classify => levels(target)
            .into_iter()
            .map(|level| {
                (
                    format!("{TARGET}_{}", fmt_level(level)),
                    Source::Level(target, level),
                )
            })
            .collect(),
        Action::Regress => vec![(TARGET.to_owned(), Source::Numeric(target))],
    };

    let cols = x_cols.len() + y_cols.len();
    if cols > MAX_COLUMNS {
        return Err(DatasetError::TooManyColumns {
            what: "the data after one-hot encoding".to_owned(),
            count: cols,
            limit: MAX_COLUMNS,
        });
    }
    if frame.rows.saturating_mul(cols) > MAX_CELLS {
        return Err(DatasetError::TooManyCells {
            rows: frame.rows,
            cols,
            limit: MAX_CELLS,
        });
    }

    let (x_headers, x) = matrix(&mut x_cols, frame.rows)?;
    let (y_headers, y) = matrix(&mut y_cols, frame.rows)?;
    Ok(TabularData {
        x_headers,
        y_headers,
        rows: frame.rows,
        x,
        y,
    })
}

/// Sorts the columns by header and lays them out row-major.
fn matrix(
    cols: &mut [(String, Source)],
    rows: usize,
) -> Result<(Vec<String>, Vec<f64>), DatasetError> {
    cols.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(pair) = cols.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(DatasetError::HeaderCollision {
            header: pair[0].0.clone(),
        });
    }
    let width = cols.len();
    let mut data = vec![0.0; rows * width];
    for (c, (_, source)) in cols.iter().enumerate() {
        let cells = data.iter_mut().skip(c).step_by(width.max(1));
        match source {
            Source::Numeric(values) => cells.zip(*values).for_each(|(cell, v)| *cell = *v),
            Source::Level(values, level) => cells
                .zip(*values)
                .for_each(|(cell, v)| *cell = if v == level { 1.0 } else { 0.0 }),
        }
    }
    let headers = cols.iter().map(|(h, _)| h.clone()).collect();
    Ok((headers, data))
}

/// The distinct values of a column without gaps, ascending.
fn levels(values: &[f64]) -> Vec<f64> {
    let mut levels: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    levels
}

/// A level as it appears in a header: whole numbers without a fraction (`1.0` -> `1`).
fn fmt_level(level: f64) -> String {
    if level.fract() == 0.0 && level.abs() < 9.0e15 {
        format!("{}", level as i64)
    } else {
        format!("{level}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn datasets() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/datasets"
        ))
    }

    fn tag(tokens: &[&str]) -> Vec<String> {
        tokens.iter().map(|t| t.to_string()).collect()
    }

    /// The 28 heart-disease features of spec 7.2, sorted.
    pub(crate) const HEART_X: [&str; 28] = [
        "age",
        "ca_0",
        "ca_1",
        "ca_2",
        "ca_3",
        "chol",
        "cp_1",
        "cp_2",
        "cp_3",
        "cp_4",
        "exang_0",
        "exang_1",
        "fbs_0",
        "fbs_1",
        "oldpeak",
        "restecg_0",
        "restecg_1",
        "restecg_2",
        "sex_0",
        "sex_1",
        "slope_1",
        "slope_2",
        "slope_3",
        "thal_3",
        "thal_6",
        "thal_7",
        "thalach",
        "trestbps",
    ];
    const HEART_Y: [&str; 5] = ["target_0", "target_1", "target_2", "target_3", "target_4"];

    fn col<'a>(data: &'a TabularData, header: &str) -> impl Iterator<Item = f64> + 'a {
        let c = data
            .x_headers
            .iter()
            .position(|h| h == header)
            .expect("header present");
        data.x.iter().skip(c).step_by(data.x_headers.len()).copied()
    }

    /// Copies an edge-case folder into a temp data dir and adds a metadata.json.
    fn edge_case(folder: &str, files: &[&str]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dest = tmp.path().join(folder);
        fs::create_dir(&dest).expect("mkdir");
        let src = datasets().join("edge_cases").join(folder);
        for file in files {
            fs::copy(src.join(file), dest.join(file)).expect("copy");
        }
        fs::write(
            dest.join("metadata.json"),
            r#"{"datatype": "tabular", "operations": {}}"#,
        )
        .expect("write");
        tmp
    }

    /// A temp data dir `ds/` with one CSV, a schema and tabular metadata.
    fn custom(csv: &str, schema: &str) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("ds");
        fs::create_dir(&dir).expect("mkdir");
        fs::write(dir.join("data.csv"), csv).expect("write");
        fs::write(dir.join("schema.json"), schema).expect("write");
        fs::write(dir.join("metadata.json"), r#"{"datatype": "tabular"}"#).expect("write");
        tmp
    }

    fn load_custom(csv: &str, schema: &str, action: Action) -> Result<TabularData, DatasetError> {
        let tmp = custom(csv, schema);
        load_meta(tmp.path(), &[tag(&["ds"])], action)
    }

    #[test]
    fn heart_disease_iid_1_has_the_28_features() {
        // The CSV has 771 rows and no duplicates (checked with a script), so none drop.
        let data = load_meta(
            &datasets().join("heart_disease"),
            &[tag(&["data1", "iid_1"])],
            Action::Classify,
        )
        .expect("loads");
        assert_eq!(data.rows, 771);
        assert_eq!(data.x_headers, HEART_X);
        assert_eq!(data.y_headers, HEART_Y);
        assert_eq!(data.x.len(), 771 * 28);
        assert_eq!(data.y.len(), 771 * 5);
        // Every row has exactly one class; class counts match spec 7.2.
        let counts: Vec<f64> = (0..5)
            .map(|c| data.y.iter().skip(c).step_by(5).sum())
            .collect();
        assert_eq!(counts, vec![328.0, 163.0, 124.0, 123.0, 33.0]);
        // First row: 64,0.0,4,200,0,0,0,140,1,1.0,2,0,3,3.0
        let first = &data.x[..28];
        let at = |h: &str| first[HEART_X.iter().position(|x| *x == h).expect("header")];
        assert_eq!(
            (at("age"), at("trestbps"), at("oldpeak")),
            (64.0, 200.0, 1.0)
        );
        assert_eq!(
            (at("sex_0"), at("sex_1"), at("cp_4"), at("exang_1")),
            (1.0, 0.0, 1.0, 1.0)
        );
        assert_eq!(&data.y[..5], &[0.0, 0.0, 0.0, 1.0, 0.0]);
        let summary = data.summary();
        assert_eq!(summary.rows, 771);
        assert_eq!(summary.ranges["chol"], (0.0, 603.0));
        assert_eq!(summary.ranges["oldpeak"], (-3.0, 6.2));
        assert_eq!(summary.ranges["cp_1"], (0.0, 1.0));
    }

    #[test]
    fn heart_disease_validation_has_172_rows() {
        let data = load_meta(
            &datasets().join("heart_disease"),
            &[tag(&["validation"])],
            Action::Classify,
        )
        .expect("loads");
        assert_eq!(data.rows, 172);
        assert_eq!(data.x_headers, HEART_X);
    }

    #[test]
    fn two_tags_combine() {
        let data = load_meta(
            &datasets().join("heart_disease"),
            &[tag(&["data1", "iid_1"]), tag(&["data2", "iid_2"])],
            Action::Classify,
        )
        .expect("loads");
        // Disjoint splits: 771 + 771 unique rows (spec 7.2: 1542).
        assert_eq!(data.rows, 1542);
        assert_eq!(data.x_headers, HEART_X);
        // The same tag twice adds nothing: duplicates are dropped.
        let twice = load_meta(
            &datasets().join("heart_disease"),
            &[tag(&["iid_1"]), tag(&["data1", "iid_1"])],
            Action::Classify,
        )
        .expect("loads");
        assert_eq!(twice.rows, 771);
    }

    #[test]
    fn regression_keeps_the_target_value() {
        let data = load_meta(
            &datasets().join("abalone"),
            &[tag(&["data1", "train"])],
            Action::Regress,
        )
        .expect("loads");
        assert_eq!(data.y_headers, vec!["target"]);
        assert_eq!(data.rows, 1308);
        assert_eq!(data.y[0], 15.0);
        assert!(data.x_headers.contains(&"length".to_owned()));
        assert!(data.x_headers.iter().any(|h| h.starts_with("sex_")));
    }

    #[test]
    fn image_dataset_is_not_supported_yet() {
        let err = load_meta(
            &datasets().join("berry_flower"),
            &[tag(&["data1", "train"])],
            Action::Classify,
        )
        .expect_err("image");
        assert!(
            err.to_string()
                .starts_with("datatype `image` is not supported yet"),
            "{err}"
        );
    }

    #[test]
    fn misaligned_party_lacks_exang() {
        let tmp = edge_case(
            "edge_test_misalign",
            &[
                "datapipeline_edgetest_dataset_missing_feature.csv",
                "schema.json",
            ],
        );
        let data = load_meta(
            tmp.path(),
            &[tag(&["edge_test_misalign"])],
            Action::Classify,
        )
        .expect("loads");
        assert_eq!(data.rows, 19);
        assert!(!data.x_headers.iter().any(|h| h.starts_with("exang")));
        assert_eq!(data.y_headers, HEART_Y);
    }

    #[test]
    fn na_slice_drops_fbs() {
        let tmp = edge_case(
            "edge_test_na_slices",
            &["datapipeline_edgetest_dataset_na_slice.csv", "schema.json"],
        );
        let data = load_meta(
            tmp.path(),
            &[tag(&["edge_test_na_slices"])],
            Action::Classify,
        )
        .expect("loads");
        assert_eq!(data.rows, 10);
        assert!(!data.x_headers.iter().any(|h| h.starts_with("fbs")));
        assert!(data.x_headers.contains(&"exang_0".to_owned()));
    }

    #[test]
    fn curly_quotes_are_recovered_and_blanks_imputed() {
        let tmp = edge_case(
            "edge_test_missing_coecerable_vals",
            &["wrong_formatted_dataset.csv", "schema.json"],
        );
        let data = load_meta(
            tmp.path(),
            &[tag(&["edge_test_missing_coecerable_vals"])],
            Action::Classify,
        )
        .expect("loads");
        assert_eq!(data.rows, 716);
        let restecg: Vec<&str> = data
            .x_headers
            .iter()
            .filter(|h| h.starts_with("restecg"))
            .map(String::as_str)
            .collect();
        assert_eq!(restecg, ["restecg_0", "restecg_1", "restecg_2"]);
        // Rows 0-7 are blank: imputed with the mode, 0 (383 of 708 values).
        let zero: Vec<f64> = col(&data, "restecg_0").take(8).collect();
        assert_eq!(zero, vec![1.0; 8]);
        // Row 8 is `“1”`.
        assert_eq!(col(&data, "restecg_1").nth(8), Some(1.0));
        // Every row has exactly one restecg level.
        let sums: Vec<f64> = (0..data.rows)
            .map(|r| {
                ["restecg_0", "restecg_1", "restecg_2"]
                    .iter()
                    .map(|h| col(&data, h).nth(r).unwrap_or(0.0))
                    .sum()
            })
            .collect();
        assert!(sums.iter().all(|s| *s == 1.0));
    }

    #[test]
    fn union_of_columns_imputes_what_one_source_lacks() {
        let tmp = edge_case(
            "edge_test_misalign",
            &[
                "datapipeline_edgetest_dataset_missing_feature.csv",
                "schema.json",
            ],
        );
        let src = datasets().join("heart_disease/validation");
        let dest = tmp.path().join("validation");
        fs::create_dir(&dest).expect("mkdir");
        for f in [
            "unified_dataset_validation_1000.csv",
            "schema.json",
            "metadata.json",
        ] {
            fs::copy(src.join(f), dest.join(f)).expect("copy");
        }
        let data = load_meta(
            tmp.path(),
            &[tag(&["edge_test_misalign"]), tag(&["validation"])],
            Action::Classify,
        )
        .expect("loads");
        assert_eq!(data.rows, 19 + 172);
        assert_eq!(data.x_headers, HEART_X);
        // Every row got an exang level, the misaligned rows by imputation.
        let set: Vec<f64> = col(&data, "exang_0")
            .zip(col(&data, "exang_1"))
            .map(|(a, b)| a + b)
            .collect();
        assert!(set.iter().all(|s| *s == 1.0));
    }

    const SCHEMA: &str = r#"{"a": "float64", "c": "category", "target": "category"}"#;

    #[test]
    fn schema_and_csv_must_name_the_same_columns() {
        let err = load_custom("a,target\n1,0\n", SCHEMA, Action::Classify).expect_err("missing");
        assert_eq!(
            err.to_string(),
            "column `c` in `ds/schema.json` is not in `ds/data.csv`"
        );
        let err =
            load_custom("a,c,d,target\n1,1,1,0\n", SCHEMA, Action::Classify).expect_err("extra");
        assert_eq!(
            err.to_string(),
            "column `d` in `ds/data.csv` is not in `ds/schema.json`"
        );
        let err =
            load_custom("a,c,c,target\n1,1,1,0\n", SCHEMA, Action::Classify).expect_err("dup");
        assert!(err.to_string().contains("appears twice"), "{err}");
        let err = load_custom(
            "a,c\n1,1\n",
            r#"{"a": "float64", "c": "category"}"#,
            Action::Classify,
        )
        .expect_err("no target");
        assert_eq!(err.to_string(), "`ds/schema.json` has no `target` column");
        let err = load_custom(
            "a,target\n1,0\n",
            r#"{"a": "decimal", "target": "int64"}"#,
            Action::Classify,
        )
        .expect_err("dtype");
        assert!(err.to_string().contains("dtype `decimal`"), "{err}");
    }

    #[test]
    fn empty_and_malformed_csvs_are_refused() {
        let err = load_custom("", SCHEMA, Action::Classify).expect_err("empty");
        assert_eq!(err.to_string(), "`ds/data.csv` has no data rows");
        let err = load_custom("a,c,target\n", SCHEMA, Action::Classify).expect_err("header only");
        assert_eq!(err.to_string(), "`ds/data.csv` has no data rows");
        let err = load_custom("a,c,target\n1,2\n", SCHEMA, Action::Classify).expect_err("ragged");
        assert!(
            err.to_string()
                .starts_with("`ds/data.csv` is not a valid CSV"),
            "{err}"
        );
        let err = load_custom("a,c,target\n1,1,\n2,1,\n", SCHEMA, Action::Classify)
            .expect_err("no target");
        assert!(err.to_string().contains("`target`"), "{err}");
        let err =
            load_custom("a,c,target\nx,1,0\ny,1,1\n", SCHEMA, Action::Classify).expect_err("junk");
        assert_eq!(
            err.to_string(),
            "column `a` in `ds/data.csv` has no numeric value (e.g. `x`)"
        );
    }

    #[test]
    fn oversized_csv_is_refused_unread() {
        let tmp = custom("a,c,target\n1,1,0\n", SCHEMA);
        let file = fs::OpenOptions::new()
            .write(true)
            .open(tmp.path().join("ds/data.csv"))
            .expect("open");
        // Sparse: no 512 MiB are written.
        file.set_len(MAX_CSV_BYTES + 1).expect("grow");
        let err = load_meta(tmp.path(), &[tag(&["ds"])], Action::Classify).expect_err("too large");
        assert!(matches!(err, DatasetError::CsvTooLarge { .. }), "{err}");
    }

    #[test]
    fn a_meta_needs_a_tag() {
        let err = load_meta(&datasets(), &[], Action::Classify).expect_err("no tags");
        assert!(matches!(err, DatasetError::NoTags), "{err}");
    }

    #[test]
    fn missing_schema_json_is_named() {
        let tmp = custom("a,c,target\n1,1,0\n", SCHEMA);
        fs::remove_file(tmp.path().join("ds/schema.json")).expect("rm");
        let err = load_meta(tmp.path(), &[tag(&["ds"])], Action::Classify).expect_err("schema");
        assert_eq!(
            err.to_string(),
            "`ds/data.csv` has no schema.json next to it"
        );
    }

    #[test]
    fn cleaning_steps_on_a_small_table() {
        let csv = "a,c,note,target\n\
                   1.5,2,x,1\n\
                   ,2,y,0\n\
                   3.5,,z,1\n\
                   9,1,w,\n\
                   1.5,2,x,1\n\
                   4,7,v,2.0\n";
        let schema = r#"{"a": "float64", "c": "category", "note": "object", "target": "category"}"#;
        let data = load_custom(csv, schema, Action::Classify).expect("loads");
        // Row 4 (no target) is dropped, row 5 duplicates row 1, `note` is dropped.
        assert_eq!(data.rows, 4);
        assert_eq!(data.x_headers, ["a", "c_2", "c_7"]);
        assert_eq!(data.y_headers, ["target_0", "target_1", "target_2"]);
        // Imputation runs before duplicates drop: `a` blank -> median of 1.5,
        // 3.5, 1.5, 4 = 2.5; `c` blank -> mode 2.
        assert_eq!(
            data.x,
            vec![1.5, 1.0, 0.0, 2.5, 1.0, 0.0, 3.5, 1.0, 0.0, 4.0, 0.0, 1.0]
        );
        let regress = load_custom(csv, schema, Action::Regress).expect("loads");
        assert_eq!(regress.y, vec![1.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn integer_columns_are_rounded_and_levels_print_without_fraction() {
        let csv = "n,c,target\n2.6,1.0,0.0\n3,-1,1\n";
        let schema = r#"{"n": "int32", "c": "category", "target": "category"}"#;
        let data = load_custom(csv, schema, Action::Classify).expect("loads");
        assert_eq!(data.x_headers, ["c_-1", "c_1", "n"]);
        assert_eq!(data.x, vec![0.0, 1.0, 3.0, 1.0, 0.0, 3.0]);
        assert_eq!(data.y_headers, ["target_0", "target_1"]);
    }

    #[test]
    fn all_empty_target_is_an_error() {
        let err = load_custom("a,c,target\n1,1,\n2,2,NA\n", SCHEMA, Action::Classify)
            .expect_err("empty target");
        assert_eq!(
            err.to_string(),
            "column `target` in `ds/data.csv` is entirely empty"
        );
    }

    #[test]
    fn headers_may_collide_after_one_hot() {
        let csv = "c,c_1,target\n1,5,0\n";
        let schema = r#"{"c": "category", "c_1": "float64", "target": "category"}"#;
        let err = load_custom(csv, schema, Action::Classify).expect_err("collision");
        assert!(err.to_string().contains("`c_1`"), "{err}");
    }

    #[test]
    fn too_many_levels_are_refused() {
        let mut csv = String::from("c,target\n");
        for i in 0..10_001 {
            csv.push_str(&format!("{i},0\n"));
        }
        let schema = r#"{"c": "category", "target": "category"}"#;
        let err = load_custom(&csv, schema, Action::Classify).expect_err("too wide");
        assert!(matches!(err, DatasetError::TooManyColumns { .. }), "{err}");
    }

    #[test]
    fn level_formatting() {
        assert_eq!(fmt_level(1.0), "1");
        assert_eq!(fmt_level(-3.0), "-3");
        assert_eq!(fmt_level(2.5), "2.5");
    }
}
