//! Run hyper-parameters: the Synergos `Arguments` read from a run's JSON fields
//! with Synergos defaults, the validated [`TrainingPlan`] a worker trains with,
//! and the check that a model, loss and task fit together. Pure: no libtorch.

use std::fmt;

use serde_json::{Map, Value};

use crate::spec::ModelSpec;

/// Why hyper-parameters were refused. Messages name the offending key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HyperError {
    #[error("`{key}` must be {expected}")]
    WrongType { key: String, expected: &'static str },
    #[error("`{key}` must be {requirement} (got {got})")]
    OutOfRange {
        key: String,
        requirement: String,
        got: String,
    },
    #[error("`{key}` `{got}` is not supported (supported: {supported})")]
    Unsupported {
        key: String,
        got: String,
        supported: String,
    },
    #[error("{0}")]
    Incompatible(String),
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $key:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The Synergos spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the Synergos spelling, ignoring ASCII case.
            pub fn parse(text: &str) -> Result<Self, HyperError> {
                $(if text.eq_ignore_ascii_case($text) { return Ok($name::$variant); })+
                Err(HyperError::Unsupported {
                    key: $key.to_string(),
                    got: text.to_string(),
                    supported: [$($text),+].join(", "),
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = HyperError;
            fn from_str(s: &str) -> Result<Self, HyperError> {
                Self::parse(s)
            }
        }
    };
}

named_enum!(
    /// Federated algorithm. FedGKT is not offered (broken at Synergos HEAD).
    Algorithm, "algorithm" { FedAvg => "FedAvg", FedProx => "FedProx" }
);
named_enum!(
    /// Local optimizer (a `torch.optim` class name).
    OptimizerKind, "optimizer" { Sgd => "SGD", Adam => "Adam", AdamW => "AdamW", RmsProp => "RMSprop" }
);
named_enum!(
    /// Loss function (a `torch.nn` loss class name).
    Criterion, "criterion" {
        BceLoss => "BCELoss",
        BceWithLogitsLoss => "BCEWithLogitsLoss",
        CrossEntropyLoss => "CrossEntropyLoss",
        NllLoss => "NLLLoss",
        MseLoss => "MSELoss",
        L1Loss => "L1Loss",
        SmoothL1Loss => "SmoothL1Loss",
    }
);
named_enum!(
    /// What the model predicts.
    Action, "action" { Classify => "classify", Regress => "regress" }
);

impl Criterion {
    /// Whether labels are class indices (i64, shape `(N,)`) rather than floats
    /// of shape `(N, 1)`.
    pub fn takes_class_indices(self) -> bool {
        matches!(self, Criterion::CrossEntropyLoss | Criterion::NllLoss)
    }
}

/// Bounds, shared by the run fields and the wire plan.
const ROUNDS: (u64, u64) = (1, 10_000);
const EPOCHS: (u64, u64) = (1, 100_000);
const BATCH_SIZE: (u64, u64) = (1, 10_000_000);
const PATIENCE_MAX: u64 = 100_000;

/// Everything one worker needs to run local training for a round.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingPlan {
    pub algorithm: Algorithm,
    pub epochs: u32,
    /// `None` = the whole local dataset as one batch.
    pub batch_size: Option<u32>,
    pub lr: f64,
    pub weight_decay: f64,
    /// FedProx proximal weight; always 0 for FedAvg.
    pub mu: f64,
    pub l1_lambda: f64,
    pub l2_lambda: f64,
    pub optimizer: OptimizerKind,
    pub criterion: Criterion,
    pub seed: u64,
    pub momentum: f64,
}

impl Default for TrainingPlan {
    /// The Synergos defaults.
    fn default() -> Self {
        TrainingPlan {
            algorithm: Algorithm::FedProx,
            epochs: 100,
            batch_size: None,
            lr: 0.001,
            weight_decay: 0.0,
            mu: 0.1,
            l1_lambda: 0.0,
            l2_lambda: 0.0,
            optimizer: OptimizerKind::Sgd,
            criterion: Criterion::BceLoss,
            seed: 42,
            momentum: 0.0,
        }
    }
}

impl TrainingPlan {
    /// Checks every bound and applies the algorithm's rule on `mu`.
    fn checked(mut self) -> Result<Self, HyperError> {
        check_range("epochs", u64::from(self.epochs), EPOCHS)?;
        if let Some(batch) = self.batch_size {
            check_range("batch_size", u64::from(batch), BATCH_SIZE)?;
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(out_of_range("lr", "a finite number > 0", self.lr));
        }
        for (key, value) in [
            ("weight_decay", self.weight_decay),
            ("mu", self.mu),
            ("l1_lambda", self.l1_lambda),
            ("l2_lambda", self.l2_lambda),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(out_of_range(key, "a finite number >= 0", value));
            }
        }
        if !(0.0..1.0).contains(&self.momentum) {
            return Err(out_of_range("momentum", "in [0, 1)", self.momentum));
        }
        // Synergos asserts mu == 0 for FedAvg while defaulting mu to 0.1, so
        // FedAvg with defaults crashes; FedAvg simply is FedProx without the term.
        if self.algorithm == Algorithm::FedAvg {
            self.mu = 0.0;
        }
        Ok(self)
    }
}

impl TryFrom<ttp_proto::v1::TrainingPlan> for TrainingPlan {
    type Error = HyperError;

    fn try_from(pb: ttp_proto::v1::TrainingPlan) -> Result<Self, HyperError> {
        TrainingPlan {
            algorithm: Algorithm::parse(&pb.algorithm)?,
            epochs: pb.epochs,
            batch_size: (pb.batch_size != 0).then_some(pb.batch_size),
            lr: pb.lr,
            weight_decay: pb.weight_decay,
            mu: pb.mu,
            l1_lambda: pb.l1_lambda,
            l2_lambda: pb.l2_lambda,
            optimizer: OptimizerKind::parse(&pb.optimizer)?,
            criterion: Criterion::parse(&pb.criterion)?,
            seed: pb.seed,
            momentum: pb.momentum,
        }
        .checked()
    }
}

impl From<&TrainingPlan> for ttp_proto::v1::TrainingPlan {
    fn from(plan: &TrainingPlan) -> Self {
        ttp_proto::v1::TrainingPlan {
            algorithm: plan.algorithm.as_str().to_string(),
            epochs: plan.epochs,
            batch_size: plan.batch_size.unwrap_or(0),
            lr: plan.lr,
            weight_decay: plan.weight_decay,
            mu: plan.mu,
            l1_lambda: plan.l1_lambda,
            l2_lambda: plan.l2_lambda,
            optimizer: plan.optimizer.as_str().to_string(),
            criterion: plan.criterion.as_str().to_string(),
            seed: plan.seed,
            momentum: plan.momentum,
        }
    }
}

/// A run's hyper-parameters: the local plan plus what the server loop uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Hyperparameters {
    pub plan: TrainingPlan,
    pub rounds: u32,
    /// Early stopping (Synergos §5.4): stop after `patience` rounds without an
    /// improvement of more than `delta`.
    pub patience: u32,
    pub delta: f64,
    /// Recorded for the run's record only: learning-rate schedulers are not
    /// implemented yet, so the learning rate stays `plan.lr` throughout. (In
    /// Synergos the default CyclicLR stepped per epoch kept it ≈ `base_lr`.)
    pub lr_scheduler: Option<String>,
}

impl Default for Hyperparameters {
    fn default() -> Self {
        Hyperparameters {
            plan: TrainingPlan::default(),
            rounds: 10,
            patience: 10,
            delta: 0.0,
            lr_scheduler: None,
        }
    }
}

impl Hyperparameters {
    /// Reads a run's fields, Synergos defaults for what is absent or `null`.
    ///
    /// Differences from Synergos, on purpose: zero and `false` values are
    /// honoured (Synergos silently drops falsy kwargs, so `momentum: 0` could not
    /// be set); FedAvg sets `mu` to 0 instead of asserting it. Kept from
    /// Synergos: unknown keys are ignored, and `weight_decay` is forced to 0 when
    /// `l2_lambda` is set, so L2 is not applied twice.
    pub fn from_run(fields: &Map<String, Value>) -> Result<Self, HyperError> {
        let fields = Fields(fields);
        let defaults = Hyperparameters::default();
        let d = &defaults.plan;
        let algorithm = fields.parsed("algorithm", Algorithm::parse)?;
        let l2_lambda = fields.float("l2_lambda")?.unwrap_or(d.l2_lambda);
        let weight_decay = fields.float("weight_decay")?.unwrap_or(d.weight_decay);
        let plan = TrainingPlan {
            algorithm: algorithm.unwrap_or(d.algorithm),
            epochs: fields.int("epochs", EPOCHS)?.unwrap_or(d.epochs),
            batch_size: fields.int("batch_size", BATCH_SIZE)?,
            lr: fields.float("lr")?.unwrap_or(d.lr),
            weight_decay: if l2_lambda > 0.0 { 0.0 } else { weight_decay },
            mu: fields.float("mu")?.unwrap_or(d.mu),
            l1_lambda: fields.float("l1_lambda")?.unwrap_or(d.l1_lambda),
            l2_lambda,
            optimizer: fields
                .parsed("optimizer", OptimizerKind::parse)?
                .unwrap_or(d.optimizer),
            criterion: fields
                .parsed("criterion", Criterion::parse)?
                .unwrap_or(d.criterion),
            seed: fields.seed()?.unwrap_or(d.seed),
            momentum: fields.float("momentum")?.unwrap_or(d.momentum),
        }
        .checked()?;
        let delta = fields.float("delta")?.unwrap_or(defaults.delta);
        if !(delta.is_finite() && delta >= 0.0) {
            return Err(out_of_range("delta", "a finite number >= 0", delta));
        }
        let lr_scheduler = match fields.get("lr_scheduler") {
            None => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(HyperError::WrongType {
                    key: "lr_scheduler".into(),
                    expected: "a string or null",
                });
            }
        };
        Ok(Hyperparameters {
            plan,
            rounds: fields.int("rounds", ROUNDS)?.unwrap_or(defaults.rounds),
            patience: fields
                .int("patience", (0, PATIENCE_MAX))?
                .unwrap_or(defaults.patience),
            delta,
            lr_scheduler,
        })
    }
}

/// Typed reads of a run's JSON fields; absent and `null` read as `None`.
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn float(&self, key: &str) -> Result<Option<f64>, HyperError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_f64().map(Some).ok_or(HyperError::WrongType {
                key: key.to_string(),
                expected: "a number",
            }),
        }
    }

    /// An integer within `bounds`; integral floats such as `10.0` are accepted.
    fn int(&self, key: &str, bounds: (u64, u64)) -> Result<Option<u32>, HyperError> {
        let Some(value) = self.get(key) else {
            return Ok(None);
        };
        let wrong = || HyperError::WrongType {
            key: key.to_string(),
            expected: "an integer",
        };
        let n = if let Some(n) = value.as_i64() {
            n
        } else {
            let f = value.as_f64().ok_or_else(wrong)?;
            if f.fract() != 0.0 || !f.is_finite() {
                return Err(wrong());
            }
            // Saturating cast; the range check below refuses huge values.
            f as i64
        };
        let n = u64::try_from(n).map_err(|_| range_error(key, bounds, &n.to_string()))?;
        check_range(key, n, bounds)?;
        // Every bound fits u32.
        u32::try_from(n)
            .map(Some)
            .map_err(|_| range_error(key, bounds, &n.to_string()))
    }

    fn seed(&self) -> Result<Option<u64>, HyperError> {
        match self.get("seed") {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or(HyperError::WrongType {
                key: "seed".into(),
                expected: "a non-negative integer",
            }),
        }
    }

    fn parsed<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, HyperError>,
    ) -> Result<Option<T>, HyperError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => parse(s).map(Some),
            Some(_) => Err(HyperError::WrongType {
                key: key.to_string(),
                expected: "a string",
            }),
        }
    }
}

fn range_error(key: &str, (lo, hi): (u64, u64), got: &str) -> HyperError {
    HyperError::OutOfRange {
        key: key.to_string(),
        requirement: format!("an integer between {lo} and {hi}"),
        got: got.to_string(),
    }
}

fn check_range(key: &str, n: u64, bounds: (u64, u64)) -> Result<(), HyperError> {
    if n < bounds.0 || n > bounds.1 {
        return Err(range_error(key, bounds, &n.to_string()));
    }
    Ok(())
}

fn out_of_range(key: &str, requirement: &str, got: f64) -> HyperError {
    HyperError::OutOfRange {
        key: key.to_string(),
        requirement: requirement.to_string(),
        got: got.to_string(),
    }
}

/// Checks that the model's output, the loss and the task fit together, so a
/// run that would train nonsense (Synergos' softmax + NLLLoss) is refused up
/// front. `spec` is the model as it will be trained, i.e. after
/// [`ModelSpec::auto_fix`]; `n_outputs` is the width the data needs: 1 for a
/// binary task with BCE losses or for single-target regression, the number of
/// classes for CrossEntropyLoss/NLLLoss.
pub fn check_compatible(
    spec: &ModelSpec,
    plan: &TrainingPlan,
    action: Action,
    n_outputs: usize,
) -> Result<(), HyperError> {
    let fail = |message: String| Err(HyperError::Incompatible(message));
    let criterion = plan.criterion;
    if n_outputs == 0 {
        return fail("the data has no output columns".to_string());
    }
    if let Some(width) = spec.out_features()
        && width != n_outputs
    {
        return fail(format!(
            "the model outputs {width} values per row but {criterion} on this data needs {n_outputs}"
        ));
    }
    let last = spec.last_activation();
    let shown = last.unwrap_or("none");
    match action {
        Action::Regress => match criterion {
            Criterion::MseLoss | Criterion::L1Loss | Criterion::SmoothL1Loss => Ok(()),
            _ => fail(format!(
                "action `regress` needs MSELoss, L1Loss or SmoothL1Loss, not {criterion}"
            )),
        },
        Action::Classify => match criterion {
            Criterion::BceLoss => {
                if n_outputs != 1 {
                    return fail(format!(
                        "BCELoss is for binary labels with 1 output, but {n_outputs} outputs are needed; use CrossEntropyLoss for several classes"
                    ));
                }
                if last != Some("sigmoid") {
                    return fail(format!(
                        "BCELoss needs probabilities: the last layer's activation must be `sigmoid` (it is `{shown}`), or use BCEWithLogitsLoss"
                    ));
                }
                Ok(())
            }
            Criterion::BceWithLogitsLoss => {
                if n_outputs != 1 {
                    return fail(format!(
                        "BCEWithLogitsLoss is for binary labels with 1 output, but {n_outputs} outputs are needed; use CrossEntropyLoss for several classes"
                    ));
                }
                if matches!(last, Some("sigmoid" | "softmax" | "log_softmax")) {
                    return fail(format!(
                        "BCEWithLogitsLoss applies the sigmoid itself: the last activation must not be `{shown}`"
                    ));
                }
                Ok(())
            }
            Criterion::CrossEntropyLoss => {
                if n_outputs < 2 {
                    return fail(
                        "CrossEntropyLoss needs at least 2 outputs (one per class); use BCELoss or BCEWithLogitsLoss for a single output".to_string(),
                    );
                }
                if matches!(last, Some("softmax" | "sigmoid")) {
                    return fail(format!(
                        "CrossEntropyLoss expects raw scores and applies log-softmax itself: remove the final `{shown}` activation"
                    ));
                }
                Ok(())
            }
            Criterion::NllLoss => {
                if n_outputs < 2 {
                    return fail("NLLLoss needs at least 2 outputs (one per class)".to_string());
                }
                if last != Some("log_softmax") {
                    return fail(format!(
                        "NLLLoss expects log-probabilities: the last activation must be `log_softmax` (it is `{shown}`)"
                    ));
                }
                Ok(())
            }
            Criterion::MseLoss | Criterion::L1Loss | Criterion::SmoothL1Loss => fail(format!(
                "action `classify` needs BCELoss, BCEWithLogitsLoss, CrossEntropyLoss or NLLLoss, not {criterion}"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn run(value: Value) -> Result<Hyperparameters, HyperError> {
        match value {
            Value::Object(map) => Hyperparameters::from_run(&map),
            _ => panic!("test input must be an object"),
        }
    }

    #[test]
    fn empty_run_gets_synergos_defaults() {
        let h = run(json!({})).expect("defaults are valid");
        assert_eq!(h, Hyperparameters::default());
        assert_eq!(h.plan.algorithm, Algorithm::FedProx);
        assert_eq!(h.plan.batch_size, None);
        assert_eq!((h.rounds, h.plan.epochs), (10, 100));
        assert_eq!(h.plan.lr, 0.001);
        assert_eq!(h.plan.mu, 0.1);
        assert_eq!(h.plan.optimizer, OptimizerKind::Sgd);
        assert_eq!(h.plan.criterion, Criterion::BceLoss);
        assert_eq!((h.plan.seed, h.patience, h.delta), (42, 10, 0.0));
    }

    #[test]
    fn reads_every_field_and_ignores_unknown_keys() {
        let h = run(json!({
            "algorithm": "FedProx", "rounds": 3, "epochs": 5.0, "batch_size": 32,
            "lr": 1, "weight_decay": 0.01, "mu": 0.5, "l1_lambda": 0.2,
            "optimizer": "adamw", "criterion": "CrossEntropyLoss", "seed": 7,
            "patience": 0, "delta": 0.25, "momentum": 0.9,
            "lr_scheduler": "CyclicLR", "base_lr": 0.001, "is_snn": false,
        }))
        .expect("valid run");
        let p = &h.plan;
        assert_eq!((h.rounds, p.epochs, p.batch_size), (3, 5, Some(32)));
        assert_eq!(
            (p.lr, p.weight_decay, p.mu, p.l1_lambda),
            (1.0, 0.01, 0.5, 0.2)
        );
        assert_eq!(p.optimizer, OptimizerKind::AdamW);
        assert_eq!(p.criterion, Criterion::CrossEntropyLoss);
        assert_eq!((p.seed, p.momentum), (7, 0.9));
        assert_eq!((h.patience, h.delta), (0, 0.25));
        assert_eq!(h.lr_scheduler.as_deref(), Some("CyclicLR"));
    }

    #[test]
    fn fedavg_forces_mu_to_zero_instead_of_failing() {
        let h = run(json!({"algorithm": "FedAvg"})).expect("FedAvg with defaults works");
        assert_eq!(h.plan.mu, 0.0);
        let h = run(json!({"algorithm": "FedAvg", "mu": 0.3})).expect("valid");
        assert_eq!(h.plan.mu, 0.0);
    }

    #[test]
    fn falsy_values_are_honoured() {
        let h =
            run(json!({"mu": 0, "momentum": 0.0, "seed": 0, "lr_scheduler": ""})).expect("valid");
        assert_eq!((h.plan.mu, h.plan.momentum, h.plan.seed), (0.0, 0.0, 0));
        assert_eq!(h.lr_scheduler, None);
    }

    #[test]
    fn l2_lambda_switches_weight_decay_off() {
        let h = run(json!({"weight_decay": 0.01, "l2_lambda": 0.1})).expect("valid");
        assert_eq!((h.plan.weight_decay, h.plan.l2_lambda), (0.0, 0.1));
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            (
                json!({"rounds": 0}),
                "`rounds` must be an integer between 1 and 10000 (got 0)",
            ),
            (
                json!({"rounds": -2}),
                "`rounds` must be an integer between 1 and 10000 (got -2)",
            ),
            (json!({"epochs": 2.5}), "`epochs` must be an integer"),
            (json!({"epochs": "5"}), "`epochs` must be an integer"),
            (
                json!({"batch_size": 0}),
                "`batch_size` must be an integer between 1 and 10000000 (got 0)",
            ),
            (json!({"lr": 0}), "`lr` must be a finite number > 0 (got 0)"),
            (json!({"lr": "fast"}), "`lr` must be a number"),
            (
                json!({"mu": -0.1}),
                "`mu` must be a finite number >= 0 (got -0.1)",
            ),
            (
                json!({"momentum": 1.0}),
                "`momentum` must be in [0, 1) (got 1)",
            ),
            (
                json!({"optimizer": "LBFGS"}),
                "`optimizer` `LBFGS` is not supported (supported: SGD, Adam, AdamW, RMSprop)",
            ),
            (
                json!({"algorithm": "FedGKT"}),
                "`algorithm` `FedGKT` is not supported (supported: FedAvg, FedProx)",
            ),
            (json!({"criterion": 3}), "`criterion` must be a string"),
            (json!({"seed": -1}), "`seed` must be a non-negative integer"),
            (
                json!({"lr_scheduler": 1}),
                "`lr_scheduler` must be a string or null",
            ),
            (
                json!({"delta": -1}),
                "`delta` must be a finite number >= 0 (got -1)",
            ),
        ];
        for (value, message) in cases {
            let err = run(value).expect_err(message);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn wire_plan_validates_and_maps_zero_batch_to_full_batch() {
        let mut pb = ttp_proto::v1::TrainingPlan::from(&TrainingPlan::default());
        assert_eq!(pb.batch_size, 0);
        assert_eq!(pb.optimizer, "SGD");
        let back = TrainingPlan::try_from(pb.clone()).expect("defaults are valid");
        assert_eq!(back, TrainingPlan::default());
        pb.epochs = 0;
        assert_eq!(
            TrainingPlan::try_from(pb.clone()).map_err(|e| e.to_string()),
            Err("`epochs` must be an integer between 1 and 100000 (got 0)".to_string())
        );
        pb.epochs = 1;
        pb.criterion = "HingeEmbeddingLoss".into();
        assert!(TrainingPlan::try_from(pb).is_err());
    }

    fn spec(value: Value) -> ModelSpec {
        ModelSpec::from_json(&value).expect("valid spec")
    }

    fn plan(criterion: Criterion) -> TrainingPlan {
        TrainingPlan {
            criterion,
            ..TrainingPlan::default()
        }
    }

    #[test]
    fn compatible_pairings_pass() {
        let sigmoid = spec(json!([{"l_type": "Linear", "activation": "sigmoid",
            "structure": {"in_features": 4, "out_features": 1}}]));
        let logits1 =
            spec(json!([{"l_type": "Linear", "structure": {"in_features": 4, "out_features": 1}}]));
        let logits3 =
            spec(json!([{"l_type": "Linear", "structure": {"in_features": 4, "out_features": 3}}]));
        let logsoft = spec(json!([{"l_type": "Linear", "activation": "log_softmax",
            "structure": {"in_features": 4, "out_features": 3}}]));
        let c = Action::Classify;
        check_compatible(&sigmoid, &plan(Criterion::BceLoss), c, 1).expect("bce");
        check_compatible(&logits1, &plan(Criterion::BceWithLogitsLoss), c, 1).expect("bce logits");
        check_compatible(&logits3, &plan(Criterion::CrossEntropyLoss), c, 3).expect("ce");
        check_compatible(&logsoft, &plan(Criterion::NllLoss), c, 3).expect("nll");
        check_compatible(&logits1, &plan(Criterion::MseLoss), Action::Regress, 1).expect("mse");
        check_compatible(&sigmoid, &plan(Criterion::L1Loss), Action::Regress, 1).expect("l1");
    }

    #[test]
    fn incompatible_pairings_explain_why() {
        let softmax3 = spec(json!([{"l_type": "Linear", "activation": "softmax",
            "structure": {"in_features": 4, "out_features": 3}}]));
        let logits1 =
            spec(json!([{"l_type": "Linear", "structure": {"in_features": 4, "out_features": 1}}]));
        let c = Action::Classify;
        let err = |s: &ModelSpec, k, a, n| {
            check_compatible(s, &plan(k), a, n)
                .expect_err("incompatible")
                .to_string()
        };
        // The Synergos demo pairing.
        assert!(
            err(&softmax3, Criterion::NllLoss, c, 3)
                .contains("must be `log_softmax` (it is `softmax`)")
        );
        assert!(
            err(&softmax3, Criterion::CrossEntropyLoss, c, 3)
                .contains("remove the final `softmax`")
        );
        assert!(
            err(&logits1, Criterion::BceLoss, c, 1).contains("must be `sigmoid` (it is `none`)")
        );
        assert!(err(&softmax3, Criterion::BceLoss, c, 3).contains("1 output"));
        assert!(err(&logits1, Criterion::CrossEntropyLoss, c, 1).contains("at least 2 outputs"));
        assert!(err(&logits1, Criterion::BceLoss, Action::Regress, 1).contains("regress"));
        assert!(err(&logits1, Criterion::MseLoss, c, 1).contains("classify"));
        assert!(err(&softmax3, Criterion::CrossEntropyLoss, c, 4).contains("outputs 3 values"));
    }

    fn arb_plan() -> impl Strategy<Value = TrainingPlan> {
        (
            (
                proptest::sample::select(Algorithm::ALL),
                1u32..=100_000,
                proptest::option::of(1u32..=10_000_000),
                1e-9f64..10.0,
                0.0f64..1.0,
                0.0f64..5.0,
            ),
            (
                0.0f64..1.0,
                0.0f64..1.0,
                proptest::sample::select(OptimizerKind::ALL),
                proptest::sample::select(Criterion::ALL),
                any::<u64>(),
                0.0f64..0.999,
            ),
        )
            .prop_map(
                |((algorithm, epochs, batch_size, lr, weight_decay, mu), rest)| {
                    let (l1_lambda, l2_lambda, optimizer, criterion, seed, momentum) = rest;
                    TrainingPlan {
                        algorithm,
                        epochs,
                        batch_size,
                        lr,
                        weight_decay,
                        mu: if algorithm == Algorithm::FedAvg {
                            0.0
                        } else {
                            mu
                        },
                        l1_lambda,
                        l2_lambda,
                        optimizer,
                        criterion,
                        seed,
                        momentum,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn wire_plan_round_trips(plan in arb_plan()) {
            let pb = ttp_proto::v1::TrainingPlan::from(&plan);
            prop_assert_eq!(TrainingPlan::try_from(pb), Ok(plan));
        }

        #[test]
        fn enum_names_round_trip(i in 0usize..7) {
            let c = Criterion::ALL[i];
            prop_assert_eq!(Criterion::parse(c.as_str()), Ok(c));
            prop_assert_eq!(Criterion::parse(&c.as_str().to_lowercase()), Ok(c));
        }
    }
}
