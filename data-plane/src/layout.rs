//! Feature alignment across participants: the shared column layout every
//! worker maps its data onto, the Synergos spacer indexes, and the shared
//! min-max ranges. Pure functions over the polled summaries.
//!
//! Synergos runs a pairwise Needleman-Wunsch alignment over *sorted* header
//! lists and reports the sorted union as the superset; for sorted inputs the
//! result is the sorted union with gaps where a participant lacks a column,
//! which is what this module computes directly.

use std::collections::{BTreeMap, BTreeSet};

use ttp_proto::v1::{ColumnRange, FeatureLayout, MetaSummary};

/// The meta whose value ranges define the shared min-max scaling.
pub const TRAIN_META: &str = "train";

/// One participant's polled data: meta -> summary.
pub type Polled = BTreeMap<String, MetaSummary>;

/// The aligned layout over every participant and every meta.
pub fn compute_layout(polled: &BTreeMap<String, Polled>) -> FeatureLayout {
    let mut x: BTreeSet<&str> = BTreeSet::new();
    let mut y: BTreeSet<&str> = BTreeSet::new();
    let mut ranges: BTreeMap<String, ColumnRange> = BTreeMap::new();
    for metas in polled.values() {
        for (meta, summary) in metas {
            x.extend(summary.x_headers.iter().map(String::as_str));
            y.extend(summary.y_headers.iter().map(String::as_str));
            if meta != TRAIN_META {
                continue;
            }
            // Ranges come from training data only: evaluation data must not shape
            // the model's input scaling.
            for (column, range) in &summary.ranges {
                if !(range.min.is_finite() && range.max.is_finite()) {
                    continue;
                }
                ranges
                    .entry(column.clone())
                    .and_modify(|r| {
                        r.min = r.min.min(range.min);
                        r.max = r.max.max(range.max);
                    })
                    .or_insert(*range);
            }
        }
    }
    FeatureLayout {
        x_headers: x.into_iter().map(str::to_owned).collect(),
        y_headers: y.into_iter().map(str::to_owned).collect(),
        ranges: ranges.into_iter().collect(),
    }
}

/// Positions of `layout` that `have` lacks (Synergos spacer indexes).
pub fn spacers(layout: &[String], have: &[String]) -> Vec<u32> {
    let have: BTreeSet<&str> = have.iter().map(String::as_str).collect();
    layout
        .iter()
        .enumerate()
        .filter(|(_, h)| !have.contains(h.as_str()))
        .map(|(i, _)| i as u32)
        .collect()
}

/// Output width of a model for this layout: one unit for regression and
/// binary classification, one per class otherwise.
pub fn output_width(layout: &FeatureLayout) -> usize {
    if layout.y_headers.len() <= 2 {
        1
    } else {
        layout.y_headers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn summary(x: &[&str], y: &[&str], ranges: &[(&str, f64, f64)]) -> MetaSummary {
        MetaSummary {
            x_headers: x.iter().map(|s| s.to_string()).collect(),
            y_headers: y.iter().map(|s| s.to_string()).collect(),
            rows: 10,
            ranges: ranges
                .iter()
                .map(|(c, min, max)| {
                    (
                        c.to_string(),
                        ColumnRange {
                            min: *min,
                            max: *max,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn missing_columns_become_spacers_and_ranges_merge() {
        let mut polled = BTreeMap::new();
        polled.insert(
            "p1".to_string(),
            Polled::from([(
                "train".to_string(),
                summary(
                    &["age", "exang_0", "exang_1"],
                    &["target_0", "target_1"],
                    &[("age", 30.0, 60.0)],
                ),
            )]),
        );
        polled.insert(
            "p2".to_string(),
            Polled::from([
                (
                    "train".to_string(),
                    summary(&["age"], &["target_0", "target_2"], &[("age", 20.0, 50.0)]),
                ),
                (
                    "evaluate".to_string(),
                    summary(&["age"], &["target_0"], &[("age", 0.0, 99.0)]),
                ),
            ]),
        );
        let layout = compute_layout(&polled);
        assert_eq!(layout.x_headers, ["age", "exang_0", "exang_1"]);
        assert_eq!(layout.y_headers, ["target_0", "target_1", "target_2"]);
        let age = layout.ranges["age"];
        assert_eq!(
            (age.min, age.max),
            (20.0, 60.0),
            "evaluate ranges are ignored"
        );
        assert_eq!(spacers(&layout.x_headers, &["age".to_string()]), [1, 2]);
        assert_eq!(output_width(&layout), 3);
    }

    proptest! {
        #[test]
        fn spacers_plus_own_columns_cover_the_layout(
            cols in proptest::collection::btree_set("[a-z]{1,4}", 1..20),
            keep in proptest::collection::vec(any::<bool>(), 20),
        ) {
            let layout: Vec<String> = cols.iter().cloned().collect();
            let have: Vec<String> = layout.iter().zip(&keep).filter(|(_, k)| **k).map(|(c, _)| c.clone()).collect();
            let gaps = spacers(&layout, &have);
            prop_assert_eq!(gaps.len() + have.len(), layout.len());
            for g in gaps {
                prop_assert!(!have.contains(&layout[g as usize]));
            }
        }
    }
}
