//! Inference of given weights on one participant's rows: the criterion's loss
//! and the Synergos statistics (reference §5.5). Runs in eval mode without
//! gradients, in fixed-size batches so memory stays bounded by the batch.

use std::collections::BTreeMap;

use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::hyper::{Action, Criterion};
use crate::loss::{criterion_loss, prepare_targets};
use crate::metrics::{Metric, classification_statistics, regression_statistics};
use crate::model::Model;
use crate::spec::ModelSpec;
use crate::train::{LocalData, TrainError, check_rows};
use crate::weights::load_weights;

/// Rows per inference batch.
const BATCH_ROWS: i64 = 4096;

/// The outcome of evaluating a model on one participant's rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub sample_count: usize,
    /// The criterion's mean loss (no FedProx or L1/L2 terms).
    pub loss: f64,
    pub statistics: BTreeMap<String, Metric>,
}

/// Evaluates `weights` (every variable of the model, strictly) on `data`.
///
/// For `classify`, the scores fed to the statistics are probabilities: the
/// output is used as is when the model already ends in softmax or sigmoid,
/// exponentiated after log_softmax, and put through softmax (several outputs)
/// or sigmoid (one output) otherwise. One output is read as P(class 1) and
/// expanded to `[1 - p, p]`, with labels >= 0.5 counted as class 1.
pub fn evaluate(
    spec: &ModelSpec,
    weights: &[(String, Tensor)],
    data: &LocalData,
    criterion: Criterion,
    action: Action,
) -> Result<Evaluation, TrainError> {
    let rows = check_rows(data)?;
    let device = data.x.device();
    let x = data.x.f_to_kind(Kind::Float)?;
    let y = prepare_targets(criterion, &data.y)?.f_to_device(device)?;
    let mut vs = VarStore::new(device);
    let model = Model::new(&vs.root(), spec)?;
    load_weights(&mut vs, weights)?;

    let (output, loss) = tch::no_grad(|| -> Result<(Tensor, f64), TrainError> {
        let mut outputs = Vec::new();
        let mut start = 0i64;
        while start < rows as i64 {
            let len = BATCH_ROWS.min(rows as i64 - start);
            outputs.push(model.f_forward_t(&x.f_narrow(0, start, len)?, false)?);
            start += len;
        }
        let output = Tensor::f_cat(&outputs, 0)?;
        let loss = criterion_loss(criterion, &output, &y)?.f_double_value(&[])?;
        Ok((output, loss))
    })?;

    let statistics = match action {
        Action::Classify => {
            let (labels, scores) = class_scores(spec, &output, &y)?;
            classification_statistics(&labels, &scores)
        }
        Action::Regress => {
            let flat = |t: &Tensor| -> Result<Vec<f64>, TrainError> {
                Ok(Vec::<f64>::try_from(
                    &t.f_to_device(Device::Cpu)?.f_flatten(0, -1)?,
                )?)
            };
            regression_statistics(&flat(&y)?, &flat(&output)?)
        }
    };
    Ok(Evaluation {
        sample_count: rows,
        loss,
        statistics,
    })
}

/// Class labels and per-class probability rows from the model output.
fn class_scores(
    spec: &ModelSpec,
    output: &Tensor,
    target: &Tensor,
) -> Result<(Vec<usize>, Vec<Vec<f64>>), TrainError> {
    let width = match output.size().as_slice() {
        [_, width] => *width,
        shape => {
            return Err(TrainError::Data(format!(
                "classification needs model output of shape (rows, classes), got {shape:?}"
            )));
        }
    };
    let last = spec.last_activation();
    let probabilities = if width == 1 {
        let p = if last == Some("sigmoid") {
            output.shallow_clone()
        } else {
            output.f_sigmoid()?
        };
        Tensor::f_cat(&[p.f_neg()?.f_add_scalar(1.0)?, p], 1)?
    } else {
        match last {
            Some("softmax" | "sigmoid") => output.shallow_clone(),
            Some("log_softmax") => output.f_exp()?,
            _ => output.f_softmax(1, None::<Kind>)?,
        }
    };
    let scores = Vec::<Vec<f64>>::try_from(
        &probabilities
            .f_to_device(Device::Cpu)?
            .f_to_kind(Kind::Double)?,
    )?;
    let target = target.f_to_device(Device::Cpu)?.f_flatten(0, -1)?;
    let labels = if target.is_floating_point() {
        Vec::<f64>::try_from(&target)?
            .into_iter()
            .map(|v| usize::from(v >= 0.5))
            .collect()
    } else {
        // prepare_targets made these i64 and criterion_loss checked the range.
        Vec::<i64>::try_from(&target)?
            .into_iter()
            .map(|v| usize::try_from(v).unwrap_or(0))
            .collect()
    };
    Ok((labels, scores))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::init_weights;
    use serde_json::json;

    fn spec(value: serde_json::Value) -> ModelSpec {
        ModelSpec::from_json(&value).expect("valid spec")
    }

    /// A one-layer model whose weights make the output equal to the input.
    fn identity(activation: Option<&str>, width: i64) -> (ModelSpec, Vec<(String, Tensor)>) {
        let s = spec(json!([{"l_type": "Linear", "activation": activation,
            "structure": {"in_features": width, "out_features": width}}]));
        let weights = vec![
            (
                "nnl_0_linear.bias".to_string(),
                Tensor::zeros([width], (Kind::Float, Device::Cpu)),
            ),
            (
                "nnl_0_linear.weight".to_string(),
                Tensor::eye(width, (Kind::Float, Device::Cpu)),
            ),
        ];
        (s, weights)
    }

    fn per_class(e: &Evaluation, name: &str) -> Vec<f64> {
        match e.statistics.get(name) {
            Some(Metric::PerClass(v)) => v.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn binary_output_is_expanded_to_two_classes() {
        let (s, w) = identity(Some("sigmoid"), 1);
        // Logits whose sigmoid is above / below 0.5.
        let data = LocalData {
            x: Tensor::from_slice(&[2.0f32, -1.0, 0.5, -3.0]).unsqueeze(1),
            y: Tensor::from_slice(&[1.0f32, 0.0, 0.0, 0.0]).unsqueeze(1),
        };
        let e = evaluate(&s, &w, &data, Criterion::BceLoss, Action::Classify).expect("ok");
        assert_eq!(e.sample_count, 4);
        assert_eq!(per_class(&e, "TPs"), [2.0, 1.0]);
        assert_eq!(per_class(&e, "FPs"), [0.0, 1.0]);
        assert_eq!(
            e.statistics.get("top1_accuracy"),
            Some(&Metric::Scalar(0.75))
        );
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let expected = -(sig(2.0).ln()
            + (1.0 - sig(-1.0)).ln()
            + (1.0 - sig(0.5)).ln()
            + (1.0 - sig(-3.0)).ln())
            / 4.0;
        assert!((e.loss - expected).abs() < 1e-5, "{} vs {expected}", e.loss);
    }

    #[test]
    fn scores_are_probabilities_whatever_the_last_activation() {
        let x = Tensor::from_slice(&[3.0f32, 0.0, 0.0, 0.0, 0.0, 2.0]).reshape([2, 3]);
        let y = Tensor::from_slice(&[0i64, 2]);
        let data = LocalData { x, y };
        let mut tops = Vec::new();
        for (activation, criterion) in [
            (None, Criterion::CrossEntropyLoss),
            (Some("log_softmax"), Criterion::NllLoss),
        ] {
            let (s, w) = identity(activation, 3);
            let e = evaluate(&s, &w, &data, criterion, Action::Classify).expect("ok");
            tops.push(e.statistics.get("top1_accuracy").cloned());
            assert_eq!(per_class(&e, "roc_auc_score"), [1.0, 0.0, 1.0]);
            // Both criteria see the same log-probabilities, so the same loss.
            let expected = ((3f64.exp() + 2.0).ln() - 3.0 + (2f64.exp() + 2.0).ln() - 2.0) / 2.0;
            assert!((e.loss - expected).abs() < 1e-5);
        }
        assert_eq!(tops, vec![Some(Metric::Scalar(1.0)); 2]);
    }

    #[test]
    fn regression_reports_r2_mse_mae_in_batches() {
        let (s, w) = identity(None, 1);
        // More rows than one inference batch.
        let n = 5000i64;
        let x = Tensor::arange(n, (Kind::Float, Device::Cpu)).unsqueeze(1);
        let y = (&x + 1.0).squeeze_dim(1);
        let data = LocalData { x, y };
        let e = evaluate(&s, &w, &data, Criterion::MseLoss, Action::Regress).expect("ok");
        assert_eq!(e.sample_count, 5000);
        assert!((e.loss - 1.0).abs() < 1e-6);
        assert_eq!(e.statistics.get("MSE"), Some(&Metric::Scalar(1.0)));
        assert_eq!(e.statistics.get("MAE"), Some(&Metric::Scalar(1.0)));
        let Some(Metric::Scalar(r2)) = e.statistics.get("R2") else {
            panic!("no R2");
        };
        assert!(*r2 > 0.99);
    }

    #[test]
    fn weights_that_do_not_fit_are_refused() {
        let (s, _) = identity(None, 3);
        let other = init_weights(
            &spec(
                json!([{"l_type": "Linear", "structure": {"in_features": 2, "out_features": 3}}]),
            ),
            1,
        )
        .expect("builds");
        let data = LocalData {
            x: Tensor::zeros([2, 3], (Kind::Float, Device::Cpu)),
            y: Tensor::from_slice(&[0i64, 1]),
        };
        let err = evaluate(
            &s,
            &other,
            &data,
            Criterion::CrossEntropyLoss,
            Action::Classify,
        )
        .expect_err("shape");
        assert!(err.to_string().contains("nnl_0_linear.weight"), "{err}");
    }
}
