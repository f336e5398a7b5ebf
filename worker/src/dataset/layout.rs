//! Alignment of one party's [`TabularData`] onto the federation's shared
//! [`Layout`]: columns reordered to the layout, zero "spacer" columns for layout
//! headers this party lacks, min-max scaling with the layout's ranges, and the
//! labels condensed to what the loss function takes (spec 6.2 steps 9-10).
//!
//! A column the party has but the layout lacks is refused as feature drift: the
//! layout was computed from what the party reported, so the data has changed
//! since, and silently dropping the column would train on a different problem.
//! Values outside the layout's range scale outside `[0, 1]`; they are not
//! clamped, so evaluation data keeps its distance from the training range.

use std::collections::{BTreeMap, HashMap};

use super::{Action, AlignedData, DatasetError, Labels, Layout, TabularData};

/// Builds the model's input from `data` in the order and scale of `layout`.
pub fn apply_layout(
    data: &TabularData,
    layout: &Layout,
    action: Action,
) -> Result<AlignedData, DatasetError> {
    check_shape("x", data.x.len(), data.rows, data.x_headers.len())?;
    check_shape("y", data.y.len(), data.rows, data.y_headers.len())?;
    let x_index = index(&layout.x_headers, "x")?;
    let y_index = index(&layout.y_headers, "y")?;
    check_ranges(&layout.ranges)?;

    // Where each of the party's columns goes, and how it is scaled.
    let placement: Vec<(usize, Option<(f64, f64)>)> = data
        .x_headers
        .iter()
        .map(|h| match x_index.get(h.as_str()) {
            Some(&j) => Ok((j, layout.ranges.get(h).copied())),
            None => Err(DatasetError::FeatureDrift { column: h.clone() }),
        })
        .collect::<Result<_, _>>()?;

    let cols = layout.x_headers.len();
    let mut x = vec![0.0f32; data.rows * cols];
    if !placement.is_empty() {
        for (src, dst) in data
            .x
            .chunks_exact(placement.len())
            .zip(x.chunks_exact_mut(cols.max(1)))
        {
            for (&v, &(j, range)) in src.iter().zip(&placement) {
                dst[j] = scale(v, range);
            }
        }
    }

    Ok(AlignedData {
        rows: data.rows,
        cols,
        x,
        labels: labels(data, layout, &y_index, action)?,
    })
}

/// Min-max scaling into `[0, 1]` for values inside the range; a constant or
/// unknown range gives 0.
fn scale(v: f64, range: Option<(f64, f64)>) -> f32 {
    match range {
        Some((min, max)) if max > min => ((v - min) / (max - min)) as f32,
        _ => 0.0,
    }
}

fn labels(
    data: &TabularData,
    layout: &Layout,
    y_index: &HashMap<&str, usize>,
    action: Action,
) -> Result<Labels, DatasetError> {
    let mismatch = || DatasetError::ActionMismatch {
        wanted: action,
        headers: data.y_headers.join(", "),
    };
    match action {
        Action::Regress => {
            if data.y_headers != ["target"] {
                return Err(mismatch());
            }
            if !y_index.contains_key("target") {
                return Err(DatasetError::LabelDrift {
                    column: "target".to_owned(),
                });
            }
            Ok(Labels::Values(data.y.iter().map(|&v| v as f32).collect()))
        }
        Action::Classify => {
            if data.y_headers.is_empty() || data.y_headers.iter().any(|h| !h.starts_with("target_"))
            {
                return Err(mismatch());
            }
            let classes: Vec<usize> = data
                .y_headers
                .iter()
                .map(|h| {
                    y_index
                        .get(h.as_str())
                        .copied()
                        .ok_or_else(|| DatasetError::LabelDrift { column: h.clone() })
                })
                .collect::<Result<_, _>>()?;
            let mut index = Vec::with_capacity(data.rows);
            for (row, one_hot) in data.y.chunks_exact(classes.len()).enumerate() {
                let mut set = one_hot.iter().zip(&classes).filter(|(v, _)| **v != 0.0);
                match (set.next(), set.next()) {
                    (Some((1.0, &class)), None) => index.push(class),
                    _ => return Err(DatasetError::BadOneHot { row }),
                }
            }
            Ok(if layout.y_headers.len() > 2 {
                Labels::Classes(index.into_iter().map(|c| c as i64).collect())
            } else {
                Labels::Binary(index.into_iter().map(|c| c as f32).collect())
            })
        }
    }
}

fn check_shape(
    what: &'static str,
    len: usize,
    rows: usize,
    cols: usize,
) -> Result<(), DatasetError> {
    if rows.checked_mul(cols) == Some(len) {
        Ok(())
    } else {
        Err(DatasetError::Shape {
            what,
            len,
            rows,
            cols,
        })
    }
}

/// Header -> position; a header listed twice makes the layout ambiguous.
fn index<'a>(headers: &'a [String], which: &str) -> Result<HashMap<&'a str, usize>, DatasetError> {
    let mut index = HashMap::with_capacity(headers.len());
    for (i, h) in headers.iter().enumerate() {
        if index.insert(h.as_str(), i).is_some() {
            return Err(DatasetError::InvalidLayout {
                reason: format!("{which} header `{h}` is listed twice"),
            });
        }
    }
    Ok(index)
}

fn check_ranges(ranges: &BTreeMap<String, (f64, f64)>) -> Result<(), DatasetError> {
    for (h, &(min, max)) in ranges {
        if !(min.is_finite() && max.is_finite() && min <= max) {
            return Err(DatasetError::InvalidLayout {
                reason: format!("the range of `{h}` is ({min}, {max})"),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::load_meta;
    use proptest::prelude::*;
    use std::fs;
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

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn heart_layout() -> Layout {
        let iid_1 = load_meta(
            &datasets().join("heart_disease"),
            &[tag(&["data1", "iid_1"])],
            Action::Classify,
        )
        .expect("loads");
        Layout::from(iid_1.summary())
    }

    fn small(x_headers: &[&str], x: Vec<f64>, y_headers: &[&str], y: Vec<f64>) -> TabularData {
        let rows = if x_headers.is_empty() {
            y.len() / y_headers.len()
        } else {
            x.len() / x_headers.len()
        };
        TabularData {
            x_headers: strings(x_headers),
            y_headers: strings(y_headers),
            rows,
            x,
            y,
        }
    }

    #[test]
    fn misaligned_party_gets_exang_spacers() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("edge_test_misalign");
        fs::create_dir(&dir).expect("mkdir");
        let src = datasets().join("edge_cases/edge_test_misalign");
        for f in [
            "datapipeline_edgetest_dataset_missing_feature.csv",
            "schema.json",
        ] {
            fs::copy(src.join(f), dir.join(f)).expect("copy");
        }
        fs::write(dir.join("metadata.json"), r#"{"datatype": "tabular"}"#).expect("write");
        let data = load_meta(
            tmp.path(),
            &[tag(&["edge_test_misalign"])],
            Action::Classify,
        )
        .expect("loads");

        let layout = heart_layout();
        let aligned = apply_layout(&data, &layout, Action::Classify).expect("aligns");
        assert_eq!((aligned.rows, aligned.cols), (19, 28));
        assert_eq!(layout.x_headers[10], "exang_0");
        assert_eq!(layout.x_headers[11], "exang_1");
        let column = |j: usize| aligned.x.iter().skip(j).step_by(28).copied();
        let spacers: Vec<usize> = (0..28).filter(|&j| column(j).all(|v| v == 0.0)).collect();
        // exang is absent; this party also never saw ca 2/3 or cp 1, so those
        // one-hot columns are spacers too.
        assert_eq!(spacers, vec![3, 4, 6, 10, 11]);
        assert!(aligned.x.iter().all(|v| (0.0..=1.0).contains(v)));
        // First row: age 59 on the iid_1 range (25, 78); target 4.
        assert!((aligned.x[0] - (59.0 - 25.0) / (78.0 - 25.0)).abs() < 1e-6);
        match &aligned.labels {
            Labels::Classes(c) => {
                assert_eq!(c.len(), 19);
                assert_eq!(&c[..4], &[4, 0, 0, 4]);
            }
            other => panic!("expected classes, got {other:?}"),
        }
    }

    #[test]
    fn feature_drift_is_refused() {
        let layout = heart_layout();
        let data = small(
            &["age", "smoker"],
            vec![50.0, 1.0],
            &["target_0"],
            vec![1.0],
        );
        let err = apply_layout(&data, &layout, Action::Classify).expect_err("drift");
        assert_eq!(
            err.to_string(),
            "feature drift: column `smoker` is not in the aligned layout"
        );
        let data = small(&["age"], vec![50.0], &["target_9"], vec![1.0]);
        let err = apply_layout(&data, &layout, Action::Classify).expect_err("label drift");
        assert!(err.to_string().contains("`target_9`"), "{err}");
    }

    #[test]
    fn two_classes_condense_to_binary_and_regression_to_values() {
        let layout = Layout {
            x_headers: strings(&["a"]),
            y_headers: strings(&["target_0", "target_1"]),
            ranges: BTreeMap::from([("a".to_owned(), (0.0, 4.0))]),
        };
        let data = small(&["a"], vec![1.0, 4.0], &["target_1"], vec![1.0, 1.0]);
        let aligned = apply_layout(&data, &layout, Action::Classify).expect("aligns");
        assert_eq!(aligned.x, vec![0.25, 1.0]);
        assert_eq!(aligned.labels, Labels::Binary(vec![1.0, 1.0]));

        let layout = Layout {
            y_headers: strings(&["target"]),
            ..layout
        };
        let data = small(&["a"], vec![2.0], &["target"], vec![7.5]);
        let aligned = apply_layout(&data, &layout, Action::Regress).expect("aligns");
        assert_eq!(aligned.labels, Labels::Values(vec![7.5]));
        let err = apply_layout(&data, &layout, Action::Classify).expect_err("mismatch");
        assert!(matches!(err, DatasetError::ActionMismatch { .. }), "{err}");
    }

    #[test]
    fn constant_or_unknown_ranges_scale_to_zero() {
        let layout = Layout {
            x_headers: strings(&["a", "b", "c"]),
            y_headers: strings(&["target"]),
            ranges: BTreeMap::from([("a".to_owned(), (3.0, 3.0))]),
        };
        let data = small(&["a", "b"], vec![3.0, 9.0], &["target"], vec![0.0]);
        let aligned = apply_layout(&data, &layout, Action::Regress).expect("aligns");
        assert_eq!(aligned.x, vec![0.0, 0.0, 0.0]);
    }

    #[test]
    fn inconsistent_one_hot_is_refused() {
        let layout = Layout {
            x_headers: vec![],
            y_headers: strings(&["target_0", "target_1", "target_2"]),
            ranges: BTreeMap::new(),
        };
        let data = small(
            &[],
            vec![],
            &["target_0", "target_1"],
            vec![1.0, 0.0, 0.0, 0.0],
        );
        let err = apply_layout(&data, &layout, Action::Classify).expect_err("row 1");
        assert_eq!(
            err.to_string(),
            "row 1 does not have exactly one class set in its one-hot label"
        );
    }

    #[test]
    fn bad_layouts_are_refused() {
        let data = small(&["a"], vec![1.0], &["target"], vec![0.0]);
        let twice = Layout {
            x_headers: strings(&["a", "a"]),
            y_headers: strings(&["target"]),
            ranges: BTreeMap::new(),
        };
        assert!(matches!(
            apply_layout(&data, &twice, Action::Regress),
            Err(DatasetError::InvalidLayout { .. })
        ));
        let inverted = Layout {
            x_headers: strings(&["a"]),
            y_headers: strings(&["target"]),
            ranges: BTreeMap::from([("a".to_owned(), (2.0, 1.0))]),
        };
        assert!(matches!(
            apply_layout(&data, &inverted, Action::Regress),
            Err(DatasetError::InvalidLayout { .. })
        ));
    }

    /// A party's columns, a superset layout in shuffled order, and ranges that
    /// cover the data (possibly wider, as when several parties are merged).
    fn party_and_layout() -> impl Strategy<Value = (TabularData, Layout)> {
        (1usize..6, 0usize..4, 1usize..20)
            .prop_flat_map(|(own, extra, rows)| {
                (
                    proptest::collection::vec(-1e6f64..1e6, own * rows),
                    proptest::collection::vec((0f64..10.0, 0f64..10.0), own),
                    Just((0..own + extra).collect::<Vec<usize>>()).prop_shuffle(),
                    Just((own, rows)),
                )
            })
            .prop_map(|(x, widen, order, (own, rows))| {
                let x_headers: Vec<String> = (0..own).map(|i| format!("f{i}")).collect();
                let mut ranges = BTreeMap::new();
                for (c, h) in x_headers.iter().enumerate() {
                    let (lo, hi) = x
                        .iter()
                        .skip(c)
                        .step_by(own)
                        .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
                    ranges.insert(h.clone(), (lo - widen[c].0, hi + widen[c].1));
                }
                let layout = Layout {
                    x_headers: order
                        .iter()
                        .map(|&i| {
                            if i < own {
                                format!("f{i}")
                            } else {
                                format!("spacer{i}")
                            }
                        })
                        .collect(),
                    y_headers: strings(&["target"]),
                    ranges,
                };
                let data = TabularData {
                    x_headers,
                    y_headers: strings(&["target"]),
                    rows,
                    x,
                    y: vec![0.0; rows],
                };
                (data, layout)
            })
    }

    proptest! {
        #[test]
        fn scaled_values_stay_in_unit_range((data, layout) in party_and_layout()) {
            let aligned = apply_layout(&data, &layout, Action::Regress).expect("aligns");
            prop_assert_eq!(aligned.cols, layout.x_headers.len());
            prop_assert_eq!(aligned.x.len(), data.rows * aligned.cols);
            prop_assert!(aligned.x.iter().all(|v| (0.0..=1.0).contains(v)));
            for (j, h) in layout.x_headers.iter().enumerate() {
                let column = aligned.x.iter().skip(j).step_by(aligned.cols);
                match data.x_headers.iter().position(|d| d == h) {
                    None => prop_assert!(column.copied().all(|v| v == 0.0)),
                    Some(k) => {
                        let (min, max) = layout.ranges[h];
                        for (r, v) in column.enumerate() {
                            let raw = data.x[r * data.x_headers.len() + k];
                            let expected = if max > min { ((raw - min) / (max - min)) as f32 } else { 0.0 };
                            prop_assert_eq!(*v, expected);
                        }
                    }
                }
            }
        }
    }
}
