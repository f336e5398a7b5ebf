//! An in-memory table of numbers with missing values, and the pure cleaning
//! steps the tabular pipeline applies to it: cell coercion, imputation, casting,
//! de-duplication and concatenation.
//!
//! Values are stored column-major as `f64` with NaN meaning "missing", as pandas
//! does: coercion never produces a non-finite number, so NaN is unambiguous and
//! a cell costs 8 bytes instead of 16 for `Option<f64>`.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use super::DatasetError;
use super::schema::Dtype;

/// Cell contents that mean "no value": the empty string and pandas' default
/// `na_values`, compared case-insensitively.
const NA_MARKERS: &[&str] = &[
    "#n/a", "#n/a n/a", "#na", "-1.#ind", "-1.#qnan", "-nan", "1.#ind", "1.#qnan", "<na>", "n/a",
    "na", "null", "nan", "none",
];

/// Quote characters stripped from both ends of a cell, straight and curly.
const QUOTES: &[char] = &['"', '\'', '“', '”', '‘', '’', '„', '«', '»'];

/// What a raw CSV cell turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell {
    /// Blank or an NA marker.
    Empty,
    /// A finite number.
    Number(f64),
    /// Text that is not a number (or a non-finite one): missing, but worth
    /// reporting when a whole column is like this.
    Junk,
}

/// Coerces a raw cell to a number: trims whitespace and quotes (`“1”` -> 1),
/// reads `true`/`false` as 1/0, and treats blanks and NA markers as empty.
pub(crate) fn parse_cell(raw: &str) -> Cell {
    let s = raw.trim_matches(|c: char| c.is_whitespace() || QUOTES.contains(&c));
    if s.is_empty() || NA_MARKERS.iter().any(|m| s.eq_ignore_ascii_case(m)) {
        return Cell::Empty;
    }
    if s.eq_ignore_ascii_case("true") {
        return Cell::Number(1.0);
    }
    if s.eq_ignore_ascii_case("false") {
        return Cell::Number(0.0);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Cell::Number(positive_zero(v)),
        _ => Cell::Junk,
    }
}

/// `-0.0` -> `0.0`, so that equal values hash, compare and print alike.
fn positive_zero(v: f64) -> f64 {
    if v == 0.0 { 0.0 } else { v }
}

/// How a column is imputed, cast and encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Integer,
    Float,
    Category,
    Bool,
}

impl Kind {
    /// `None` for `object`, which holds no numbers.
    pub(crate) fn of(dtype: Dtype) -> Option<Kind> {
        match dtype {
            Dtype::Int32 | Dtype::Int64 => Some(Kind::Integer),
            Dtype::Float32 | Dtype::Float64 => Some(Kind::Float),
            Dtype::Category => Some(Kind::Category),
            Dtype::Bool => Some(Kind::Bool),
            Dtype::Object => None,
        }
    }

    fn rounds(self) -> bool {
        !matches!(self, Kind::Float)
    }

    fn imputes_with_mode(self) -> bool {
        matches!(self, Kind::Category | Kind::Bool)
    }

    /// The kind two sources' columns share, if they can be combined: integers
    /// widen to floats, anything else must agree.
    fn merge(self, other: Kind) -> Option<Kind> {
        match (self, other) {
            (a, b) if a == b => Some(a),
            (Kind::Integer, Kind::Float) | (Kind::Float, Kind::Integer) => Some(Kind::Float),
            _ => None,
        }
    }
}

/// One column and where its dtype was declared (for conflict messages).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub kind: Kind,
    pub dtype: Dtype,
    pub schema: PathBuf,
    /// One value per row; NaN is missing.
    pub values: Vec<f64>,
}

/// A table with a mandatory `target` column and any number of features.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    pub rows: usize,
    pub target: Column,
    pub features: BTreeMap<String, Column>,
}

impl Frame {
    fn columns(&self) -> impl Iterator<Item = &Column> {
        std::iter::once(&self.target).chain(self.features.values())
    }

    fn columns_mut(&mut self) -> impl Iterator<Item = &mut Column> {
        std::iter::once(&mut self.target).chain(self.features.values_mut())
    }

    /// Keeps the rows whose flag is true.
    fn retain_rows(&mut self, keep: &[bool]) {
        for column in self.columns_mut() {
            let mut flags = keep.iter();
            column
                .values
                .retain(|_| flags.next().copied().unwrap_or(false));
        }
        self.rows = keep.iter().filter(|k| **k).count();
    }

    /// Drops the rows without a target: a label is never invented.
    pub(crate) fn drop_unlabelled(&mut self) {
        let keep: Vec<bool> = self.target.values.iter().map(|v| !v.is_nan()).collect();
        self.retain_rows(&keep);
    }

    /// Fills missing feature values with the column median (numeric) or mode
    /// (category, bool). A feature with no value at all is removed; its name is
    /// returned.
    pub(crate) fn impute(&mut self) -> Vec<String> {
        let mut empty = Vec::new();
        for (name, column) in &mut self.features {
            if !column.values.iter().any(|v| v.is_nan()) {
                continue;
            }
            let present: Vec<f64> = column
                .values
                .iter()
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            let fill = if column.kind.imputes_with_mode() {
                mode(&present)
            } else {
                median(&present)
            };
            match fill {
                Some(fill) => column
                    .values
                    .iter_mut()
                    .filter(|v| v.is_nan())
                    .for_each(|v| *v = fill),
                None => empty.push(name.clone()),
            }
        }
        for name in &empty {
            self.features.remove(name);
        }
        empty
    }

    /// Rounds integer, category and bool columns to whole numbers.
    pub(crate) fn cast(&mut self) {
        for column in self.columns_mut() {
            if column.kind.rounds() {
                column
                    .values
                    .iter_mut()
                    .for_each(|v| *v = positive_zero(v.round()));
            }
        }
    }

    /// Drops rows equal to an earlier row (missing equals missing), keeping order.
    pub(crate) fn dedup(&mut self) {
        let columns: Vec<&[f64]> = self.columns().map(|c| c.values.as_slice()).collect();
        let key = |row: usize| columns.iter().map(move |c| canonical_bits(c[row]));
        let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
        let mut keep = vec![true; self.rows];
        for (row, flag) in keep.iter_mut().enumerate() {
            let mut hasher = DefaultHasher::new();
            key(row).for_each(|bits| bits.hash(&mut hasher));
            let bucket = seen.entry(hasher.finish()).or_default();
            if bucket.iter().any(|&earlier| key(earlier).eq(key(row))) {
                *flag = false;
            } else {
                bucket.push(row);
            }
        }
        if keep.iter().all(|k| *k) {
            return;
        }
        self.retain_rows(&keep);
    }

    /// Stacks `other` under `self`. Columns are the union; a column absent from
    /// one side is missing (NaN) on those rows.
    pub(crate) fn append(mut self, other: Frame) -> Result<Frame, DatasetError> {
        merge_column("target", &mut self.target, &other.target)?;
        self.target.values.extend(other.target.values);
        let (before, added) = (self.rows, other.rows);
        let mut other_features = other.features;
        for (name, column) in &mut self.features {
            match other_features.remove(name) {
                Some(theirs) => {
                    merge_column(name, column, &theirs)?;
                    column.values.extend(theirs.values);
                }
                None => column.values.extend(std::iter::repeat_n(f64::NAN, added)),
            }
        }
        for (name, mut column) in other_features {
            let mut values = vec![f64::NAN; before];
            values.append(&mut column.values);
            column.values = values;
            self.features.insert(name, column);
        }
        self.rows = before + added;
        Ok(self)
    }
}

fn merge_column(name: &str, ours: &mut Column, theirs: &Column) -> Result<(), DatasetError> {
    let kind = ours
        .kind
        .merge(theirs.kind)
        .ok_or_else(|| DatasetError::DtypeConflict {
            column: name.to_owned(),
            first: ours.dtype.to_string(),
            first_schema: ours.schema.clone(),
            second: theirs.dtype.to_string(),
            second_schema: theirs.schema.clone(),
        })?;
    ours.kind = kind;
    Ok(())
}

/// Bits that are equal exactly when two cells should count as equal.
fn canonical_bits(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else {
        positive_zero(v).to_bits()
    }
}

/// The median of `values` (mean of the middle two for an even count).
pub(crate) fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

/// The most frequent of `values`; ties go to the smallest.
pub(crate) fn mode(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut best: Option<(f64, usize)> = None;
    for run in sorted.chunk_by(|a, b| a == b) {
        // Runs come in ascending order, so `>` keeps the smallest of a tie.
        if best.is_none_or(|(_, count)| run.len() > count) {
            best = Some((run[0], run.len()));
        }
    }
    best.map(|(value, _)| value)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn column(kind: Kind, values: Vec<f64>) -> Column {
        let dtype = match kind {
            Kind::Integer => Dtype::Int64,
            Kind::Float => Dtype::Float64,
            Kind::Category => Dtype::Category,
            Kind::Bool => Dtype::Bool,
        };
        Column {
            kind,
            dtype,
            schema: PathBuf::from("schema.json"),
            values,
        }
    }

    fn frame(target: Vec<f64>, features: Vec<(&str, Kind, Vec<f64>)>) -> Frame {
        Frame {
            rows: target.len(),
            target: column(Kind::Category, target),
            features: features
                .into_iter()
                .map(|(n, k, v)| (n.to_owned(), column(k, v)))
                .collect(),
        }
    }

    #[test]
    fn cells_are_coerced() {
        assert_eq!(parse_cell("“1”"), Cell::Number(1.0));
        assert_eq!(parse_cell(" ‘2.5’ "), Cell::Number(2.5));
        assert_eq!(parse_cell("\"3\""), Cell::Number(3.0));
        assert_eq!(parse_cell("1.0"), Cell::Number(1.0));
        assert_eq!(parse_cell("-0"), Cell::Number(0.0));
        assert!(parse_cell("-0.0") == Cell::Number(0.0));
        assert_eq!(parse_cell("True"), Cell::Number(1.0));
        for empty in ["", "  ", "NA", "nan", "NaN", "null", "\"\"", "“”"] {
            assert_eq!(parse_cell(empty), Cell::Empty, "{empty:?}");
        }
        for junk in ["abc", "1,2", "inf", "1e999", "?"] {
            assert_eq!(parse_cell(junk), Cell::Junk, "{junk:?}");
        }
    }

    #[test]
    fn median_and_mode() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(mode(&[2.0, 1.0, 2.0, 1.0, 3.0]), Some(1.0));
        assert_eq!(mode(&[0.0, 2.0, 2.0]), Some(2.0));
        assert_eq!(mode(&[]), None);
    }

    #[test]
    fn impute_uses_median_for_numbers_and_mode_for_categories() {
        let nan = f64::NAN;
        let mut f = frame(
            vec![0.0; 5],
            vec![
                ("num", Kind::Integer, vec![1.0, 2.0, nan, 10.0, nan]),
                ("cat", Kind::Category, vec![1.0, 3.0, 3.0, nan, 1.0]),
                ("gone", Kind::Float, vec![nan; 5]),
            ],
        );
        assert_eq!(f.impute(), vec!["gone".to_owned()]);
        assert_eq!(f.features["num"].values, vec![1.0, 2.0, 2.0, 10.0, 2.0]);
        assert_eq!(f.features["cat"].values, vec![1.0, 3.0, 3.0, 1.0, 1.0]);
        assert!(!f.features.contains_key("gone"));
    }

    #[test]
    fn unlabelled_rows_are_dropped_not_imputed() {
        let mut f = frame(
            vec![1.0, f64::NAN, 0.0],
            vec![("a", Kind::Float, vec![1.0, 2.0, 3.0])],
        );
        f.drop_unlabelled();
        assert_eq!(f.rows, 2);
        assert_eq!(f.features["a"].values, vec![1.0, 3.0]);
    }

    #[test]
    fn append_takes_the_union_of_columns() {
        let a = frame(vec![0.0], vec![("x", Kind::Integer, vec![1.0])]);
        let b = frame(vec![1.0], vec![("y", Kind::Float, vec![2.0])]);
        let c = a.append(b).expect("compatible");
        assert_eq!(c.rows, 2);
        assert!(c.features["x"].values[1].is_nan());
        assert!(c.features["y"].values[0].is_nan());
        assert_eq!(c.target.values, vec![0.0, 1.0]);
    }

    #[test]
    fn append_refuses_category_against_number() {
        let a = frame(vec![0.0], vec![("x", Kind::Category, vec![1.0])]);
        let b = frame(vec![1.0], vec![("x", Kind::Float, vec![2.0])]);
        let err = a.append(b).expect_err("conflict");
        assert!(err.to_string().contains("`category`"), "{err}");
        // Integers widen to floats.
        let a = frame(vec![0.0], vec![("x", Kind::Integer, vec![1.0])]);
        let b = frame(vec![1.0], vec![("x", Kind::Float, vec![2.5])]);
        assert_eq!(a.append(b).expect("widens").features["x"].kind, Kind::Float);
    }

    fn cell() -> impl Strategy<Value = f64> {
        prop_oneof![Just(f64::NAN), (0u8..4).prop_map(f64::from)]
    }

    proptest! {
        #[test]
        fn dedup_leaves_distinct_rows_and_keeps_first_occurrences(
            rows in proptest::collection::vec((0u8..3, cell(), cell()), 0..40)
        ) {
            let mut f = frame(
                rows.iter().map(|r| f64::from(r.0)).collect(),
                vec![
                    ("a", Kind::Float, rows.iter().map(|r| r.1).collect()),
                    ("b", Kind::Float, rows.iter().map(|r| r.2).collect()),
                ],
            );
            f.dedup();
            let key = |t: f64, a: f64, b: f64| (canonical_bits(t), canonical_bits(a), canonical_bits(b));
            let mut expected = Vec::new();
            for r in &rows {
                let k = key(f64::from(r.0), r.1, r.2);
                if !expected.contains(&k) {
                    expected.push(k);
                }
            }
            let keys = |f: &Frame| -> Vec<_> {
                (0..f.rows)
                    .map(|i| key(f.target.values[i], f.features["a"].values[i], f.features["b"].values[i]))
                    .collect()
            };
            prop_assert_eq!(keys(&f), expected.clone());
            f.dedup();
            prop_assert_eq!(keys(&f), expected);
        }

        #[test]
        fn impute_fills_every_gap_and_keeps_present_values(
            values in proptest::collection::vec(cell(), 1..30),
            categorical in any::<bool>(),
        ) {
            let kind = if categorical { Kind::Category } else { Kind::Float };
            let mut f = frame(vec![0.0; values.len()], vec![("a", kind, values.clone())]);
            let dropped = f.impute();
            let present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
            if present.is_empty() {
                prop_assert_eq!(dropped, vec!["a".to_owned()]);
            } else {
                let filled = &f.features["a"].values;
                let (lo, hi) = present.iter().fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
                for (before, after) in values.iter().zip(filled) {
                    prop_assert!(!after.is_nan());
                    if !before.is_nan() {
                        prop_assert_eq!(before, after);
                    }
                    prop_assert!(*after >= lo && *after <= hi);
                }
                if categorical {
                    prop_assert!(filled.iter().all(|v| present.contains(v)));
                }
            }
        }
    }
}
