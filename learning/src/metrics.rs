//! Worker-side evaluation statistics with the Synergos `Benchmarker` names
//! (reference §5.5): one-vs-rest per-class lists for classification, `R2`,
//! `MSE` and `MAE` for regression. Pure: plain slices in, a sorted map out.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use ttp_proto::v1::{MetricValue, PerClass, metric_value};

/// One reported statistic.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    Scalar(f64),
    /// Indexed by class.
    PerClass(Vec<f64>),
}

/// A `MetricValue` that carried no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metric value is empty")]
pub struct EmptyMetric;

impl From<Metric> for MetricValue {
    fn from(metric: Metric) -> Self {
        let value = match metric {
            Metric::Scalar(x) => metric_value::Value::Scalar(x),
            Metric::PerClass(values) => metric_value::Value::PerClass(PerClass { values }),
        };
        MetricValue { value: Some(value) }
    }
}

impl TryFrom<MetricValue> for Metric {
    type Error = EmptyMetric;

    fn try_from(pb: MetricValue) -> Result<Self, EmptyMetric> {
        match pb.value.ok_or(EmptyMetric)? {
            metric_value::Value::Scalar(x) => Ok(Metric::Scalar(x)),
            metric_value::Value::PerClass(p) => Ok(Metric::PerClass(p.values)),
        }
    }
}

/// Classification statistics for `y_true` (class indices) against `y_score`
/// (one row of per-class probabilities per sample; callers expand a binary
/// N x 1 output into `[1 - p, p]`). The prediction is the arg-max (first
/// maximum on ties; NaN scores never win).
///
/// Per class, one-vs-rest, as lists indexed by class: `accuracy`,
/// `roc_auc_score`, `pr_auc_score`, `f_score`, `TPs`, `TNs`, `FPs`, `FNs`,
/// `TPRs`, `TNRs`, `PPVs`, `NPVs`, `FPRs`, `FNRs`, `FDRs`; plus the scalar
/// `top1_accuracy` = ΣTP / N, which Synergos does not report.
///
/// Rates with a zero denominator are 0. `roc_auc_score` and `pr_auc_score` are
/// 0 for a class that is absent from `y_true` or is all of it (sklearn raises
/// there; Synergos reports 0 for ROC).
///
/// The number of classes is the widest score row, widened to cover every
/// label; missing scores count as 0. Only the first `min(len)` samples of the
/// two slices are used. Empty input gives an empty map.
pub fn classification_statistics(
    y_true: &[usize],
    y_score: &[Vec<f64>],
) -> BTreeMap<String, Metric> {
    let n = y_true.len().min(y_score.len());
    let (y_true, y_score) = (&y_true[..n], &y_score[..n]);
    let mut out = BTreeMap::new();
    if n == 0 {
        return out;
    }
    let classes = y_score
        .iter()
        .map(Vec::len)
        .chain(y_true.iter().map(|&y| y.saturating_add(1)))
        .max()
        .unwrap_or(0);
    let score = |row: &[f64], c: usize| row.get(c).copied().unwrap_or(0.0);
    let predicted: Vec<usize> = y_score.iter().map(|row| argmax(row)).collect();

    let mut lists: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut push = |name: &'static str, value: f64| lists.entry(name).or_default().push(value);
    let total = n as f64;
    let mut true_positives = 0.0;
    for c in 0..classes {
        let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
        for (&y, &p) in y_true.iter().zip(&predicted) {
            match (y == c, p == c) {
                (true, true) => tp += 1.0,
                (false, true) => fp += 1.0,
                (true, false) => fn_ += 1.0,
                (false, false) => {}
            }
        }
        let tn = total - tp - fp - fn_;
        true_positives += tp;
        let positives: Vec<bool> = y_true.iter().map(|&y| y == c).collect();
        let scores: Vec<f64> = y_score.iter().map(|row| score(row, c)).collect();
        push("accuracy", (tp + tn) / total);
        push("roc_auc_score", roc_auc(&positives, &scores));
        push("pr_auc_score", pr_auc(&positives, &scores));
        push("f_score", ratio(2.0 * tp, 2.0 * tp + fp + fn_));
        push("TPs", tp);
        push("TNs", tn);
        push("FPs", fp);
        push("FNs", fn_);
        push("TPRs", ratio(tp, tp + fn_));
        push("TNRs", ratio(tn, tn + fp));
        push("PPVs", ratio(tp, tp + fp));
        push("NPVs", ratio(tn, tn + fn_));
        push("FPRs", ratio(fp, fp + tn));
        push("FNRs", ratio(fn_, fn_ + tp));
        push("FDRs", ratio(fp, fp + tp));
    }
    for (name, values) in lists {
        out.insert(name.to_string(), Metric::PerClass(values));
    }
    out.insert(
        "top1_accuracy".to_string(),
        Metric::Scalar(true_positives / total),
    );
    out
}

/// Regression statistics (sklearn semantics): `R2`, `MSE`, `MAE`. When the
/// targets are constant, `R2` is 1 for a perfect fit and 0 otherwise (sklearn's
/// `force_finite`). Only the first `min(len)` pairs are used; empty input gives
/// an empty map.
pub fn regression_statistics(y_true: &[f64], y_pred: &[f64]) -> BTreeMap<String, Metric> {
    let n = y_true.len().min(y_pred.len());
    let mut out = BTreeMap::new();
    if n == 0 {
        return out;
    }
    let (y_true, y_pred) = (&y_true[..n], &y_pred[..n]);
    let count = n as f64;
    let mean = y_true.iter().sum::<f64>() / count;
    let (mut ss_res, mut ss_tot, mut abs) = (0.0, 0.0, 0.0);
    for (&t, &p) in y_true.iter().zip(y_pred) {
        ss_res += (t - p) * (t - p);
        ss_tot += (t - mean) * (t - mean);
        abs += (t - p).abs();
    }
    let r2 = if ss_tot == 0.0 {
        if ss_res == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - ss_res / ss_tot
    };
    out.insert("R2".to_string(), Metric::Scalar(r2));
    out.insert("MSE".to_string(), Metric::Scalar(ss_res / count));
    out.insert("MAE".to_string(), Metric::Scalar(abs / count));
    out
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

/// NaN sorts below everything so it never wins an arg-max nor outranks a score.
fn cmp_scores(a: f64, b: f64) -> Ordering {
    let key = |x: f64| if x.is_nan() { f64::NEG_INFINITY } else { x };
    key(a).total_cmp(&key(b))
}

fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate().skip(1) {
        if cmp_scores(x, row[best]) == Ordering::Greater {
            best = i;
        }
    }
    best
}

/// Indices sorted by score, highest first.
fn by_score_desc(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| cmp_scores(scores[b], scores[a]));
    order
}

/// Area under the ROC curve via the Mann-Whitney statistic, tied scores
/// sharing their average rank (equal to sklearn's trapezoidal ROC AUC).
fn roc_auc(positives: &[bool], scores: &[f64]) -> f64 {
    let n_pos = positives.iter().filter(|&&p| p).count();
    let n_neg = positives.len() - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return 0.0;
    }
    let mut order = by_score_desc(scores);
    order.reverse();
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len()
            && cmp_scores(scores[order[j + 1]], scores[order[i]]) == Ordering::Equal
        {
            j += 1;
        }
        // Ranks i+1 ..= j+1 shared by the tie group.
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += average_rank * order[i..=j].iter().filter(|&&k| positives[k]).count() as f64;
        i = j + 1;
    }
    let n_pos = n_pos as f64;
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg as f64)
}

/// sklearn's `auc(recall, precision)` over `precision_recall_curve`: one point
/// per distinct score threshold down to the one reaching full recall, plus the
/// (recall 0, precision 1) end point, integrated with the trapezoid rule.
fn pr_auc(positives: &[bool], scores: &[f64]) -> f64 {
    let n_pos = positives.iter().filter(|&&p| p).count();
    if n_pos == 0 || n_pos == positives.len() {
        return 0.0;
    }
    let order = by_score_desc(scores);
    // (recall, precision) at each distinct threshold, highest threshold first.
    let mut points = Vec::new();
    let (mut tp, mut fp) = (0usize, 0usize);
    for (k, &i) in order.iter().enumerate() {
        if positives[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        let last_of_tie = order
            .get(k + 1)
            .is_none_or(|&next| cmp_scores(scores[next], scores[i]) != Ordering::Equal);
        if last_of_tie {
            points.push((tp as f64 / n_pos as f64, tp as f64 / (tp + fp) as f64));
            if tp == n_pos {
                break;
            }
        }
    }
    let mut area = 0.0;
    let mut previous = (0.0, 1.0);
    for point in points {
        area += (point.0 - previous.0) * (point.1 + previous.1) / 2.0;
        previous = point;
    }
    area
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn per_class(stats: &BTreeMap<String, Metric>, name: &str) -> Vec<f64> {
        match stats.get(name) {
            Some(Metric::PerClass(v)) => v.clone(),
            other => panic!("{name} is {other:?}"),
        }
    }

    fn scalar(stats: &BTreeMap<String, Metric>, name: &str) -> f64 {
        match stats.get(name) {
            Some(Metric::Scalar(v)) => *v,
            other => panic!("{name} is {other:?}"),
        }
    }

    fn close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len(), "{a:?} vs {b:?}");
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn three_class_example_matches_hand_computation() {
        // Predictions (argmax): 0, 1, 1, 2, 0, 2.
        let y_true = [0, 0, 1, 2, 1, 2];
        let y_score = vec![
            vec![0.7, 0.2, 0.1],
            vec![0.3, 0.6, 0.1],
            vec![0.1, 0.8, 0.1],
            vec![0.2, 0.2, 0.6],
            vec![0.5, 0.4, 0.1],
            vec![0.1, 0.3, 0.6],
        ];
        let s = classification_statistics(&y_true, &y_score);
        close(&per_class(&s, "TPs"), &[1.0, 1.0, 2.0]);
        close(&per_class(&s, "FPs"), &[1.0, 1.0, 0.0]);
        close(&per_class(&s, "FNs"), &[1.0, 1.0, 0.0]);
        close(&per_class(&s, "TNs"), &[3.0, 3.0, 4.0]);
        close(&per_class(&s, "accuracy"), &[4.0 / 6.0, 4.0 / 6.0, 1.0]);
        close(&per_class(&s, "f_score"), &[0.5, 0.5, 1.0]);
        close(&per_class(&s, "TPRs"), &[0.5, 0.5, 1.0]);
        close(&per_class(&s, "TNRs"), &[0.75, 0.75, 1.0]);
        close(&per_class(&s, "PPVs"), &[0.5, 0.5, 1.0]);
        close(&per_class(&s, "NPVs"), &[0.75, 0.75, 1.0]);
        close(&per_class(&s, "FPRs"), &[0.25, 0.25, 0.0]);
        close(&per_class(&s, "FNRs"), &[0.5, 0.5, 0.0]);
        close(&per_class(&s, "FDRs"), &[0.5, 0.5, 0.0]);
        assert!((scalar(&s, "top1_accuracy") - 4.0 / 6.0).abs() < 1e-12);
        // Class 0 scores: positives {0.7, 0.3}, negatives {0.1, 0.2, 0.5, 0.1}:
        // pairs won 4 + 3 = 7 of 8. Class 2: perfectly separated, with a tie at 0.6.
        // Class 1 scores: positives {0.8, 0.4}, negatives {0.2, 0.6, 0.2, 0.3}:
        // 4 + 3 = 7 of 8.
        close(
            &per_class(&s, "roc_auc_score"),
            &[7.0 / 8.0, 7.0 / 8.0, 1.0],
        );
        // Class 0 PR points (recall, precision): (0.5, 1), (0.5, 0.5), (1, 2/3);
        // area from (0, 1): 0.5 + 0 + 0.5 * (0.5 + 2/3) / 2.
        let class0 = 0.5 + 0.25 * (0.5 + 2.0 / 3.0);
        // Class 1: (0.5, 1) at 0.8, (0.5, 0.5) at 0.6, (1, 2/3) at 0.4.
        close(&per_class(&s, "pr_auc_score"), &[class0, class0, 1.0]);
        assert_eq!(s.len(), 16);
    }

    #[test]
    fn ties_in_scores_share_rank_and_threshold() {
        // Every score equal: ROC AUC is 0.5; the single PR point is (1, 0.5).
        let y_true = [1, 0, 1, 0];
        let y_score = vec![vec![0.5, 0.5]; 4];
        let s = classification_statistics(&y_true, &y_score);
        close(&per_class(&s, "roc_auc_score"), &[0.5, 0.5]);
        close(&per_class(&s, "pr_auc_score"), &[0.75, 0.75]);
        // argmax picks class 0 on ties.
        close(&per_class(&s, "TPs"), &[2.0, 0.0]);
    }

    #[test]
    fn absent_class_gets_zero_auc_and_zero_rates() {
        let y_true = [0, 0, 0];
        let y_score = vec![vec![0.9, 0.1], vec![0.4, 0.6], vec![0.8, 0.2]];
        let s = classification_statistics(&y_true, &y_score);
        close(&per_class(&s, "roc_auc_score"), &[0.0, 0.0]);
        close(&per_class(&s, "pr_auc_score"), &[0.0, 0.0]);
        close(&per_class(&s, "TPRs"), &[2.0 / 3.0, 0.0]);
        close(&per_class(&s, "PPVs"), &[1.0, 0.0]);
    }

    #[test]
    fn empty_or_ragged_input_does_not_panic() {
        assert!(classification_statistics(&[], &[]).is_empty());
        let s = classification_statistics(&[0, 3], &[vec![0.2, 0.8], vec![0.9]]);
        assert_eq!(per_class(&s, "TPs").len(), 4);
        let s = classification_statistics(&[0, 1], &[vec![f64::NAN, 0.1], vec![0.3, 0.7]]);
        assert_eq!(scalar(&s, "top1_accuracy"), 0.5);
        assert!(regression_statistics(&[], &[1.0]).is_empty());
    }

    #[test]
    fn regression_matches_sklearn() {
        let y_true = [3.0, -0.5, 2.0, 7.0];
        let y_pred = [2.5, 0.0, 2.0, 8.0];
        let s = regression_statistics(&y_true, &y_pred);
        // sklearn's r2_score docstring example: 0.948...
        assert!((scalar(&s, "R2") - 0.948_608_137_044_967_9).abs() < 1e-12);
        assert!((scalar(&s, "MSE") - 0.375).abs() < 1e-12);
        assert!((scalar(&s, "MAE") - 0.5).abs() < 1e-12);
        let constant = regression_statistics(&[1.0, 1.0], &[1.0, 1.0]);
        assert_eq!(scalar(&constant, "R2"), 1.0);
        let constant = regression_statistics(&[1.0, 1.0], &[1.0, 2.0]);
        assert_eq!(scalar(&constant, "R2"), 0.0);
    }

    #[test]
    fn metric_round_trips_through_the_wire_type() {
        for metric in [Metric::Scalar(0.25), Metric::PerClass(vec![1.0, 2.0])] {
            let pb = MetricValue::from(metric.clone());
            assert_eq!(Metric::try_from(pb), Ok(metric));
        }
        assert_eq!(
            Metric::try_from(MetricValue { value: None }),
            Err(EmptyMetric)
        );
    }

    /// Quadratic reference: fraction of (positive, negative) pairs ordered right,
    /// ties counting half.
    fn pairwise_auc(positives: &[bool], scores: &[f64]) -> f64 {
        let (mut won, mut pairs) = (0.0, 0.0);
        for (i, &pi) in positives.iter().enumerate() {
            for (j, &pj) in positives.iter().enumerate() {
                if pi && !pj {
                    pairs += 1.0;
                    won += match scores[i].partial_cmp(&scores[j]) {
                        Some(Ordering::Greater) => 1.0,
                        Some(Ordering::Equal) => 0.5,
                        _ => 0.0,
                    };
                }
            }
        }
        if pairs == 0.0 { 0.0 } else { won / pairs }
    }

    fn arb_problem() -> impl Strategy<Value = (Vec<usize>, Vec<Vec<f64>>)> {
        (2usize..5, 1usize..40).prop_flat_map(|(classes, n)| {
            (
                proptest::collection::vec(0..classes, n),
                // Coarse scores so ties are common.
                proptest::collection::vec(proptest::collection::vec(0u8..5, classes), n),
            )
                .prop_map(|(y, s)| {
                    let s = s
                        .into_iter()
                        .map(|row| row.into_iter().map(|v| f64::from(v) / 4.0).collect())
                        .collect();
                    (y, s)
                })
        })
    }

    proptest! {
        #[test]
        fn confusion_counts_are_consistent((y_true, y_score) in arb_problem()) {
            let n = y_true.len() as f64;
            let s = classification_statistics(&y_true, &y_score);
            let (tp, tn, fp, fnn) = (
                per_class(&s, "TPs"), per_class(&s, "TNs"),
                per_class(&s, "FPs"), per_class(&s, "FNs"),
            );
            for c in 0..tp.len() {
                prop_assert_eq!(tp[c] + tn[c] + fp[c] + fnn[c], n);
                let in_class = y_true.iter().filter(|&&y| y == c).count() as f64;
                prop_assert_eq!(tp[c] + fnn[c], in_class);
            }
            // Every sample is predicted as exactly one class.
            prop_assert_eq!(tp.iter().sum::<f64>() + fp.iter().sum::<f64>(), n);
            let top1 = scalar(&s, "top1_accuracy");
            prop_assert!((0.0..=1.0).contains(&top1));
            for (name, metric) in &s {
                if let Metric::PerClass(values) = metric {
                    prop_assert_eq!(values.len(), y_score[0].len());
                    if !["TPs", "TNs", "FPs", "FNs"].contains(&name.as_str()) {
                        prop_assert!(values.iter().all(|v| (0.0..=1.0 + 1e-12).contains(v)), "{name}: {values:?}");
                    }
                }
            }
        }

        #[test]
        fn roc_auc_matches_pairwise_definition((y_true, y_score) in arb_problem()) {
            let s = classification_statistics(&y_true, &y_score);
            let auc = per_class(&s, "roc_auc_score");
            for (c, &got) in auc.iter().enumerate() {
                let positives: Vec<bool> = y_true.iter().map(|&y| y == c).collect();
                let scores: Vec<f64> = y_score.iter().map(|r| r[c]).collect();
                prop_assert!((got - pairwise_auc(&positives, &scores)).abs() < 1e-9);
            }
        }
    }
}
