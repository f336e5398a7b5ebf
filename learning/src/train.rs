//! One participant's local training for one round (FedAvg/FedProx, reference
//! §5.1): start from the global weights, run `epochs` passes over the local
//! data with the plan's optimizer, and minimise the criterion plus the
//! FedProx proximal term and the L1/L2 penalties.
//!
//! Everything lives in a fresh `VarStore` per call; the only process-wide
//! libtorch state touched is the manual seed (for dropout), so calls from
//! several threads do not share models. Batches are shuffled by a small
//! generator seeded from (seed, round, epoch), independent of libtorch's.

use tch::nn::{self, OptimizerConfig, VarStore};
use tch::{Device, Kind, TchError, Tensor};

use crate::hyper::{OptimizerKind, TrainingPlan};
use crate::loss::{criterion_loss, prepare_targets};
use crate::model::{Model, ModelError};
use crate::rng::{mix, permutation};
use crate::spec::ModelSpec;
use crate::weights::{WeightsError, load_weights, named_tensors};

/// A participant's rows for one task.
///
/// `x` is f32 of shape `(N, F)` (or `(N, C, H, W)` for images). `y` holds
/// class indices, i64 of shape `(N,)`, for CrossEntropyLoss/NLLLoss; and f32
/// of shape `(N, 1)` (0/1 labels for the BCE losses, targets for regression)
/// otherwise. Other kinds are converted; a 1-D float `y` is read as `(N, 1)`.
#[derive(Debug)]
pub struct LocalData {
    pub x: Tensor,
    pub y: Tensor,
}

/// The result of one round of local training.
#[derive(Debug)]
pub struct LocalOutcome {
    /// Every model variable, sorted by name.
    pub weights: Vec<(String, Tensor)>,
    /// Training rows used: the participant's weight in the average.
    pub sample_count: usize,
    /// Mean batch loss (criterion plus penalties) of the last epoch.
    pub loss: f64,
    pub epochs_run: u32,
}

/// Why local training or evaluation failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("global weights do not fit the model: {0}")]
    Weights(#[from] WeightsError),
    #[error("invalid data: {0}")]
    Data(String),
    #[error("training was cancelled")]
    Cancelled,
    #[error("training diverged: the loss became NaN or infinite in epoch {epoch}, batch {batch}")]
    Diverged { epoch: u32, batch: usize },
    #[error("libtorch: {}", crate::torch_message(.0))]
    Torch(#[from] TchError),
}

/// Runs one round of local training from the `global` weights.
///
/// `should_stop` is polled before every batch (so at least once per epoch,
/// and promptly even when an epoch is long); when it returns true the round
/// ends with [`TrainError::Cancelled`].
pub fn train_local(
    spec: &ModelSpec,
    plan: &TrainingPlan,
    global: &[(String, Tensor)],
    data: &LocalData,
    round: u32,
    should_stop: &dyn Fn() -> bool,
) -> Result<LocalOutcome, TrainError> {
    let rows = check_rows(data)?;
    let device = data.x.device();
    let x = data.x.f_to_kind(Kind::Float)?;
    let y = prepare_targets(plan.criterion, &data.y)?.f_to_device(device)?;

    // Seeds dropout; two participants with the same seed would drop the same
    // units, which is harmless, and each round gets fresh masks.
    tch::manual_seed(mix(&[plan.seed, u64::from(round)]) as i64);
    let mut vs = VarStore::new(device);
    let model = Model::new(&vs.root(), spec)?;
    load_weights(&mut vs, global)?;

    // The proximal anchor: the global values of every trainable variable.
    // (`trainable_variables` returns the live variables; `named_tensors` would
    // give detached views that no gradient flows through.)
    let anchored = vs
        .trainable_variables()
        .into_iter()
        .map(|var| {
            let mut anchor = var.f_zeros_like()?;
            tch::no_grad(|| anchor.f_copy_(&var))?;
            Ok((var, anchor))
        })
        .collect::<Result<Vec<_>, TchError>>()?;
    let mut optimizer = build_optimizer(plan, &vs)?;
    let batch = plan
        .batch_size
        .map_or(rows, |b| (b as usize).min(rows))
        .max(1);

    let mut last_loss = f64::NAN;
    for epoch in 0..plan.epochs {
        // A single full batch needs no shuffling: the gradient is the same.
        let order = (batch < rows)
            .then(|| permutation(rows, mix(&[plan.seed, u64::from(round), u64::from(epoch)])));
        let mut total = 0.0;
        let mut batches = 0usize;
        for start in (0..rows).step_by(batch) {
            if should_stop() {
                return Err(TrainError::Cancelled);
            }
            let (xb, yb) = match &order {
                None => (x.shallow_clone(), y.shallow_clone()),
                Some(order) => {
                    let end = (start + batch).min(rows);
                    let index = Tensor::from_slice(&order[start..end]).f_to_device(device)?;
                    (x.f_index_select(0, &index)?, y.f_index_select(0, &index)?)
                }
            };
            let output = model.f_forward_t(&xb, true)?;
            let loss = criterion_loss(plan.criterion, &output, &yb)?
                .f_add(&penalty(plan, &anchored, device)?)?;
            let value = loss.f_double_value(&[])?;
            if !value.is_finite() {
                return Err(TrainError::Diverged {
                    epoch,
                    batch: batches,
                });
            }
            optimizer.zero_grad();
            loss.f_backward()?;
            optimizer.step();
            total += value;
            batches += 1;
        }
        last_loss = total / batches as f64;
    }
    Ok(LocalOutcome {
        weights: named_tensors(&vs),
        sample_count: rows,
        loss: last_loss,
        epochs_run: plan.epochs,
    })
}

/// Rows in `data`, checking that `x` and `y` agree and are not empty.
pub(crate) fn check_rows(data: &LocalData) -> Result<usize, TrainError> {
    let x_rows = data.x.size().first().copied().unwrap_or(0);
    let y_rows = data.y.size().first().copied().unwrap_or(0);
    if data.x.dim() < 2 {
        return Err(TrainError::Data(format!(
            "features must have shape (rows, features...), got {:?}",
            data.x.size()
        )));
    }
    if x_rows != y_rows {
        return Err(TrainError::Data(format!(
            "features have {x_rows} rows but labels have {y_rows}"
        )));
    }
    if x_rows <= 0 {
        return Err(TrainError::Data("there are no rows".to_string()));
    }
    Ok(x_rows as usize)
}

/// μ/2·Σ‖w − w_global‖² + λ1·Σ|w| + λ2/2·Σw² over the trainable variables,
/// each term computed only when its coefficient is non-zero.
fn penalty(
    plan: &TrainingPlan,
    anchored: &[(Tensor, Tensor)],
    device: Device,
) -> Result<Tensor, TchError> {
    let mut total = Tensor::f_zeros([], (Kind::Float, device))?;
    for (w, anchor) in anchored {
        if plan.mu > 0.0 {
            let prox = w.f_sub(anchor)?.f_square()?.f_sum(Kind::Float)?;
            total = total.f_add(&prox.f_mul_scalar(plan.mu / 2.0)?)?;
        }
        if plan.l1_lambda > 0.0 {
            let l1 = w.f_abs()?.f_sum(Kind::Float)?;
            total = total.f_add(&l1.f_mul_scalar(plan.l1_lambda)?)?;
        }
        if plan.l2_lambda > 0.0 {
            let l2 = w.f_square()?.f_sum(Kind::Float)?;
            total = total.f_add(&l2.f_mul_scalar(plan.l2_lambda / 2.0)?)?;
        }
    }
    Ok(total)
}

/// The plan's optimizer with PyTorch's default betas/alpha/eps.
fn build_optimizer(plan: &TrainingPlan, vs: &VarStore) -> Result<nn::Optimizer, TchError> {
    let wd = plan.weight_decay;
    match plan.optimizer {
        OptimizerKind::Sgd => nn::Sgd {
            momentum: plan.momentum,
            dampening: 0.0,
            wd,
            nesterov: false,
        }
        .build(vs, plan.lr),
        OptimizerKind::Adam => nn::adam(0.9, 0.999, wd).build(vs, plan.lr),
        OptimizerKind::AdamW => nn::adamw(0.9, 0.999, wd).build(vs, plan.lr),
        OptimizerKind::RmsProp => {
            nn::rms_prop(0.99, 1e-8, wd, plan.momentum, false).build(vs, plan.lr)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::evaluate;
    use crate::hyper::{Action, Algorithm, Criterion};
    use crate::metrics::Metric;
    use crate::model::init_weights;
    use serde_json::json;
    use std::cell::Cell;

    fn spec(value: serde_json::Value) -> ModelSpec {
        ModelSpec::from_json(&value).expect("valid spec")
    }

    /// Three well separated Gaussian blobs in 2-D.
    fn blobs(per_class: usize, seed: u64) -> LocalData {
        let centres = [(-4.0f32, 0.0f32), (4.0, 0.0), (0.0, 5.0)];
        let mut state = crate::rng::SplitMix::new(seed);
        let mut noise = || (state.next_u64() % 2000) as f32 / 1000.0 - 1.0;
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for (class, (cx, cy)) in centres.iter().enumerate() {
            for _ in 0..per_class {
                xs.push(cx + noise());
                xs.push(cy + noise());
                ys.push(class as i64);
            }
        }
        let n = ys.len() as i64;
        LocalData {
            x: Tensor::from_slice(&xs).reshape([n, 2]),
            y: Tensor::from_slice(&ys),
        }
    }

    fn logistic() -> ModelSpec {
        spec(json!([{"l_type": "Linear", "structure": {"in_features": 2, "out_features": 3}}]))
    }

    fn plan(algorithm: Algorithm, mu: f64, epochs: u32) -> TrainingPlan {
        TrainingPlan {
            algorithm,
            epochs,
            batch_size: Some(16),
            lr: 0.1,
            mu,
            optimizer: OptimizerKind::Sgd,
            criterion: Criterion::CrossEntropyLoss,
            ..TrainingPlan::default()
        }
    }

    fn never() -> bool {
        false
    }

    #[test]
    fn logistic_regression_learns_separable_classes() {
        let s = logistic();
        let global = init_weights(&s, 42).expect("builds");
        let data = blobs(50, 1);
        let p = plan(Algorithm::FedAvg, 0.0, 5);
        let before =
            evaluate(&s, &global, &data, p.criterion, Action::Classify).expect("evaluates");
        let outcome = train_local(&s, &p, &global, &data, 0, &never).expect("trains");
        assert_eq!(outcome.sample_count, 150);
        assert_eq!(outcome.epochs_run, 5);
        assert!(outcome.loss.is_finite());
        let after = evaluate(&s, &outcome.weights, &data, p.criterion, Action::Classify)
            .expect("evaluates");
        assert!(
            after.loss < before.loss,
            "{} !< {}",
            after.loss,
            before.loss
        );
        let Some(Metric::Scalar(top1)) = after.statistics.get("top1_accuracy") else {
            panic!("no top1_accuracy");
        };
        assert!(*top1 > 0.9, "top1 accuracy {top1}");
        // Held-out rows from the same blobs.
        let test = blobs(30, 99);
        let held = evaluate(&s, &outcome.weights, &test, p.criterion, Action::Classify)
            .expect("evaluates");
        let Some(Metric::Scalar(top1)) = held.statistics.get("top1_accuracy") else {
            panic!("no top1_accuracy");
        };
        assert!(*top1 > 0.9, "held-out top1 accuracy {top1}");
    }

    fn distance(a: &[(String, Tensor)], b: &[(String, Tensor)]) -> f64 {
        a.iter()
            .zip(b)
            .map(|((_, x), (_, y))| (x - y).square().sum(Kind::Double).double_value(&[]))
            .sum::<f64>()
            .sqrt()
    }

    #[test]
    fn fedprox_term_keeps_weights_closer_to_global() {
        let s = logistic();
        let global = init_weights(&s, 3).expect("builds");
        let data = blobs(40, 2);
        let free = train_local(
            &s,
            &plan(Algorithm::FedProx, 0.0, 20),
            &global,
            &data,
            1,
            &never,
        )
        .expect("trains");
        let prox = train_local(
            &s,
            &plan(Algorithm::FedProx, 1.0, 20),
            &global,
            &data,
            1,
            &never,
        )
        .expect("trains");
        let (d_free, d_prox) = (
            distance(&free.weights, &global),
            distance(&prox.weights, &global),
        );
        assert!(d_prox < 0.8 * d_free, "prox {d_prox} vs free {d_free}");
    }

    #[test]
    fn training_is_reproducible_and_leaves_global_untouched() {
        let s = logistic();
        let global = init_weights(&s, 5).expect("builds");
        let snapshot: Vec<Tensor> = global.iter().map(|(_, t)| t.copy()).collect();
        let data = blobs(20, 3);
        let p = plan(Algorithm::FedProx, 0.1, 3);
        let a = train_local(&s, &p, &global, &data, 2, &never).expect("trains");
        let b = train_local(&s, &p, &global, &data, 2, &never).expect("trains");
        assert_eq!(distance(&a.weights, &b.weights), 0.0);
        assert_eq!(a.loss, b.loss);
        for ((_, now), then) in global.iter().zip(&snapshot) {
            assert!(now.equal(then));
        }
    }

    #[test]
    fn every_optimizer_and_binary_criterion_runs() {
        let s = spec(json!([{"l_type": "Linear", "activation": "sigmoid",
            "structure": {"in_features": 2, "out_features": 1}}]));
        let global = init_weights(&s, 1).expect("builds");
        let blobs = blobs(10, 4);
        let binary = LocalData {
            x: blobs.x.shallow_clone(),
            y: blobs.y.eq(1).to_kind(Kind::Float).unsqueeze(1),
        };
        for optimizer in OptimizerKind::ALL {
            let p = TrainingPlan {
                optimizer: *optimizer,
                criterion: Criterion::BceLoss,
                epochs: 2,
                batch_size: None,
                momentum: 0.5,
                weight_decay: 0.01,
                l1_lambda: 0.01,
                l2_lambda: 0.01,
                ..TrainingPlan::default()
            };
            let out = train_local(&s, &p, &global, &binary, 0, &never).expect("trains");
            assert!(out.loss.is_finite(), "{optimizer}");
        }
    }

    #[test]
    fn cancellation_is_checked_before_every_batch() {
        let s = logistic();
        let global = init_weights(&s, 1).expect("builds");
        let calls = Cell::new(0);
        let stop = || {
            calls.set(calls.get() + 1);
            // 60 rows in batches of 16: 4 batches per epoch, so this stops
            // in the middle of the second epoch.
            calls.get() > 5
        };
        let err = train_local(
            &s,
            &plan(Algorithm::FedAvg, 0.0, 10),
            &global,
            &blobs(20, 1),
            0,
            &stop,
        )
        .expect_err("cancelled");
        assert!(matches!(err, TrainError::Cancelled));
        assert_eq!(calls.get(), 6);
    }

    #[test]
    fn divergence_and_bad_data_are_errors() {
        let s =
            spec(json!([{"l_type": "Linear", "structure": {"in_features": 2, "out_features": 1}}]));
        let global = init_weights(&s, 1).expect("builds");
        let data = LocalData {
            x: Tensor::from_slice(&[1e30f32, -1e30, 1e30, 1e30]).reshape([2, 2]),
            y: Tensor::from_slice(&[1e30f32, -1e30]).unsqueeze(1),
        };
        let p = TrainingPlan {
            criterion: Criterion::MseLoss,
            lr: 1.0,
            epochs: 50,
            ..TrainingPlan::default()
        };
        let err = train_local(&s, &p, &global, &data, 0, &never).expect_err("diverges");
        assert!(matches!(err, TrainError::Diverged { .. }), "{err}");

        let mismatched = LocalData {
            x: Tensor::zeros([3, 2], (Kind::Float, Device::Cpu)),
            y: Tensor::zeros([2, 1], (Kind::Float, Device::Cpu)),
        };
        let err = train_local(&s, &p, &global, &mismatched, 0, &never).expect_err("rows");
        assert_eq!(
            err.to_string(),
            "invalid data: features have 3 rows but labels have 2"
        );
        let wide = LocalData {
            x: Tensor::zeros([3, 5], (Kind::Float, Device::Cpu)),
            y: Tensor::zeros([3, 1], (Kind::Float, Device::Cpu)),
        };
        let err = train_local(&s, &p, &global, &wide, 0, &never).expect_err("width");
        assert!(err.to_string().starts_with("layer 0 (Linear):"), "{err}");
        let err = train_local(&s, &p, &global[..1], &wide, 0, &never).expect_err("weights");
        assert!(err.to_string().contains("is missing"), "{err}");
    }
}
