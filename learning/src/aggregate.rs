//! The server's sample-weighted model average (FedAvg/FedProx aggregation,
//! θ = Σ n_w θ_w / Σ n_w), built one tensor at a time as participants' weights
//! stream in, so the round never holds every participant's model at once.
//!
//! Memory: one running sum in f64 for the whole model, plus the tensor being
//! added. Several participants may stream at the same time: each is a named
//! contribution whose tensors go straight into the sum. A contribution that
//! fails half-way cannot be taken back out without keeping its tensors, so
//! aborting one that already added something poisons the average: the round
//! must be redone rather than silently averaging a partial model.

use std::collections::{BTreeMap, BTreeSet};

use tch::{Device, Kind, TchError, Tensor};

/// Why a contribution or the average was refused.
#[derive(Debug, thiserror::Error)]
pub enum AggregateError {
    #[error("tensor `{0}` is not part of the model")]
    UnknownTensor(String),
    #[error("tensor `{name}` has shape {got:?} but the model has {expected:?}")]
    Shape {
        name: String,
        expected: Vec<i64>,
        got: Vec<i64>,
    },
    #[error("tensor `{name}` has kind {got:?} but the model has {expected:?}")]
    Kind {
        name: String,
        expected: Kind,
        got: Kind,
    },
    #[error("tensor `{0}` contains NaN or infinite values")]
    NonFinite(String),
    #[error("contribution weight must be a finite number > 0 (got {0})")]
    BadWeight(f64),
    #[error("tensor `{name}` was given weight {got} but this contribution has weight {expected}")]
    WeightChanged {
        name: String,
        expected: f64,
        got: f64,
    },
    #[error("tensor `{0}` was already added in this contribution")]
    Duplicate(String),
    #[error("contribution is missing tensor `{0}`")]
    Missing(String),
    #[error("the average has no contributions")]
    Empty,
    #[error("contribution of `{0}` is still open; finish or abort it first")]
    Open(String),
    #[error("contribution of `{0}` is already finished")]
    Finished(String),
    #[error("a contribution was aborted after adding tensors; the average is unusable")]
    Poisoned,
    #[error("libtorch failed on tensor `{name}`: {}", crate::torch_message(.source))]
    Torch { name: String, source: TchError },
}

#[derive(Debug)]
struct Slot {
    shape: Vec<i64>,
    kind: Kind,
    sum: Tensor,
}

/// A contribution still arriving: its weight and the tensors added so far.
#[derive(Debug)]
struct Open {
    weight: f64,
    added: BTreeSet<String>,
}

/// A running sample-weighted average of models sharing one template.
#[derive(Debug)]
pub struct WeightedAverage {
    slots: BTreeMap<String, Slot>,
    total_weight: f64,
    finished: BTreeSet<String>,
    open: BTreeMap<String, Open>,
    poisoned: bool,
}

impl WeightedAverage {
    /// An empty average over the template's tensor names, shapes and kinds.
    pub fn new(template: &[(String, Tensor)]) -> Self {
        let slots = template
            .iter()
            .map(|(name, t)| {
                let shape = t.size();
                let sum = Tensor::zeros(shape.as_slice(), (Kind::Double, Device::Cpu));
                (
                    name.clone(),
                    Slot {
                        shape,
                        kind: t.kind(),
                        sum,
                    },
                )
            })
            .collect();
        WeightedAverage {
            slots,
            total_weight: 0.0,
            finished: BTreeSet::new(),
            open: BTreeMap::new(),
            poisoned: false,
        }
    }

    /// Adds `weight × tensor` for `contributor` into the sum. Checks the name,
    /// shape, kind, finiteness, weight, and that this contributor has not added
    /// this tensor before; a refused tensor leaves the sum untouched.
    pub fn add(
        &mut self,
        contributor: &str,
        name: &str,
        tensor: &Tensor,
        weight: f64,
    ) -> Result<(), AggregateError> {
        check_weight(weight)?;
        if self.finished.contains(contributor) {
            return Err(AggregateError::Finished(contributor.to_string()));
        }
        if let Some(open) = self.open.get(contributor) {
            if open.weight != weight {
                return Err(AggregateError::WeightChanged {
                    name: name.to_string(),
                    expected: open.weight,
                    got: weight,
                });
            }
            if open.added.contains(name) {
                return Err(AggregateError::Duplicate(name.to_string()));
            }
        }
        let slot = self
            .slots
            .get_mut(name)
            .ok_or_else(|| AggregateError::UnknownTensor(name.to_string()))?;
        if tensor.size() != slot.shape {
            return Err(AggregateError::Shape {
                name: name.to_string(),
                expected: slot.shape.clone(),
                got: tensor.size(),
            });
        }
        if tensor.kind() != slot.kind {
            return Err(AggregateError::Kind {
                name: name.to_string(),
                expected: slot.kind,
                got: tensor.kind(),
            });
        }
        let torch = |source| AggregateError::Torch {
            name: name.to_string(),
            source,
        };
        if tensor.is_floating_point() {
            let all_finite = tensor
                .f_isfinite()
                .and_then(|f| f.f_all())
                .and_then(|a| a.f_int64_value(&[]))
                .map_err(torch)?;
            if all_finite == 0 {
                return Err(AggregateError::NonFinite(name.to_string()));
            }
        }
        let sum = tch::no_grad(|| {
            tensor
                .f_to_device(Device::Cpu)
                .and_then(|t| t.f_to_kind(Kind::Double))
                .and_then(|t| t.f_mul_scalar(weight))
                .and_then(|term| slot.sum.f_add(&term))
        })
        .map_err(torch)?;
        slot.sum = sum;
        self.open
            .entry(contributor.to_string())
            .or_insert_with(|| Open {
                weight,
                added: BTreeSet::new(),
            })
            .added
            .insert(name.to_string());
        Ok(())
    }

    /// Closes `contributor`'s contribution: every tensor must have been added
    /// exactly once, with this weight.
    pub fn finish_contribution(
        &mut self,
        contributor: &str,
        weight: f64,
    ) -> Result<(), AggregateError> {
        check_weight(weight)?;
        let open = self
            .open
            .get(contributor)
            .ok_or_else(|| match self.slots.keys().next() {
                Some(first) => AggregateError::Missing(first.clone()),
                None => AggregateError::Empty,
            })?;
        if open.weight != weight {
            return Err(AggregateError::WeightChanged {
                name: "(contribution)".to_string(),
                expected: open.weight,
                got: weight,
            });
        }
        if let Some(name) = self.slots.keys().find(|n| !open.added.contains(*n)) {
            return Err(AggregateError::Missing(name.clone()));
        }
        self.open.remove(contributor);
        self.finished.insert(contributor.to_string());
        self.total_weight += weight;
        Ok(())
    }

    /// Gives up on `contributor` (e.g. it disconnected mid-upload). If it had
    /// already added tensors, the average is poisoned.
    pub fn abort_contribution(&mut self, contributor: &str) {
        if let Some(open) = self.open.remove(contributor)
            && !open.added.is_empty()
        {
            self.poisoned = true;
        }
    }

    /// Number of finished contributions.
    pub fn contributions(&self) -> usize {
        self.finished.len()
    }

    /// Sum of the finished contributions' weights.
    pub fn total_weight(&self) -> f64 {
        self.total_weight
    }

    /// The weighted mean, each tensor cast back to its template kind (integer
    /// and boolean tensors rounded to nearest), sorted by name.
    pub fn finish(self) -> Result<Vec<(String, Tensor)>, AggregateError> {
        if self.poisoned {
            return Err(AggregateError::Poisoned);
        }
        if let Some(contributor) = self.open.keys().next() {
            return Err(AggregateError::Open(contributor.clone()));
        }
        if self.finished.is_empty() {
            return Err(AggregateError::Empty);
        }
        let total = self.total_weight;
        self.slots
            .into_iter()
            .map(|(name, slot)| {
                let mean = slot.sum.f_div_scalar(total).and_then(|m| {
                    if is_float(slot.kind) {
                        m.f_to_kind(slot.kind)
                    } else {
                        m.f_round().and_then(|r| r.f_to_kind(slot.kind))
                    }
                });
                match mean {
                    Ok(mean) => Ok((name, mean)),
                    Err(source) => Err(AggregateError::Torch { name, source }),
                }
            })
            .collect()
    }
}

fn check_weight(weight: f64) -> Result<(), AggregateError> {
    if weight.is_finite() && weight > 0.0 {
        Ok(())
    } else {
        Err(AggregateError::BadWeight(weight))
    }
}

fn is_float(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(values: &[f32], shape: &[i64]) -> Tensor {
        Tensor::from_slice(values).reshape(shape)
    }

    fn template() -> Vec<(String, Tensor)> {
        vec![
            ("a".into(), t(&[0.0, 0.0], &[2])),
            ("b".into(), t(&[0.0], &[1, 1])),
        ]
    }

    #[test]
    fn weights_by_sample_count() {
        let mut avg = WeightedAverage::new(&template());
        // Two participants streaming at the same time, interleaved.
        avg.add("p1", "a", &t(&[1.0, 2.0], &[2]), 1.0).expect("ok");
        avg.add("p2", "b", &t(&[20.0], &[1, 1]), 3.0).expect("ok");
        avg.add("p1", "b", &t(&[10.0], &[1, 1]), 1.0).expect("ok");
        avg.add("p2", "a", &t(&[5.0, 6.0], &[2]), 3.0).expect("ok");
        avg.finish_contribution("p2", 3.0).expect("complete");
        avg.finish_contribution("p1", 1.0).expect("complete");
        assert_eq!(avg.contributions(), 2);
        let mean = avg.finish().expect("has contributions");
        assert_eq!(mean[0].0, "a");
        assert!(mean[0].1.allclose(&t(&[4.0, 5.0], &[2]), 1e-6, 1e-6, false));
        assert!(mean[1].1.allclose(&t(&[17.5], &[1, 1]), 1e-6, 1e-6, false));
        assert_eq!(mean[1].1.kind(), Kind::Float);
    }

    #[test]
    fn refuses_bad_tensors_without_recording_them() {
        let mut avg = WeightedAverage::new(&template());
        let good_a = t(&[1.0, 2.0], &[2]);
        let cases: Vec<(&str, Tensor, f64, &str)> = vec![
            (
                "c",
                good_a.shallow_clone(),
                1.0,
                "tensor `c` is not part of the model",
            ),
            (
                "a",
                t(&[1.0], &[1]),
                1.0,
                "tensor `a` has shape [1] but the model has [2]",
            ),
            (
                "a",
                good_a.to_kind(Kind::Double),
                1.0,
                "tensor `a` has kind Double but the model has Float",
            ),
            (
                "a",
                t(&[f32::NAN, 1.0], &[2]),
                1.0,
                "tensor `a` contains NaN or infinite values",
            ),
            (
                "a",
                t(&[f32::INFINITY, 1.0], &[2]),
                1.0,
                "tensor `a` contains NaN or infinite values",
            ),
            (
                "a",
                good_a.shallow_clone(),
                0.0,
                "contribution weight must be a finite number > 0 (got 0)",
            ),
            (
                "a",
                good_a.shallow_clone(),
                -2.0,
                "contribution weight must be a finite number > 0 (got -2)",
            ),
        ];
        for (name, tensor, weight, message) in cases {
            let err = avg.add("p", name, &tensor, weight).expect_err(message);
            assert_eq!(err.to_string(), message);
        }
        avg.add("p", "a", &good_a, 2.0).expect("ok");
        let err = avg.add("p", "a", &good_a, 2.0).expect_err("duplicate");
        assert_eq!(
            err.to_string(),
            "tensor `a` was already added in this contribution"
        );
        let err = avg
            .add("p", "b", &t(&[1.0], &[1, 1]), 3.0)
            .expect_err("weight changed");
        assert!(matches!(err, AggregateError::WeightChanged { .. }));
        let err = avg.finish_contribution("p", 2.0).expect_err("b missing");
        assert_eq!(err.to_string(), "contribution is missing tensor `b`");
        avg.add("p", "b", &t(&[1.0], &[1, 1]), 2.0).expect("ok");
        assert!(matches!(
            avg.finish_contribution("p", 5.0),
            Err(AggregateError::WeightChanged { .. })
        ));
        avg.finish_contribution("p", 2.0).expect("complete now");
        assert_eq!(avg.contributions(), 1);
        let err = avg.add("p", "a", &good_a, 2.0).expect_err("finished");
        assert!(matches!(err, AggregateError::Finished(_)));
    }

    #[test]
    fn a_partial_contribution_poisons_the_average() {
        let mut avg = WeightedAverage::new(&template());
        avg.add("p1", "a", &t(&[1.0, 1.0], &[2]), 1.0).expect("ok");
        avg.add("p1", "b", &t(&[1.0], &[1, 1]), 1.0).expect("ok");
        avg.finish_contribution("p1", 1.0).expect("ok");
        // Aborting before adding anything is harmless.
        avg.abort_contribution("p3");
        avg.add("p2", "a", &t(&[100.0, 100.0], &[2]), 50.0)
            .expect("ok");
        avg.abort_contribution("p2");
        assert!(matches!(avg.finish(), Err(AggregateError::Poisoned)));
    }

    #[test]
    fn empty_or_open_average_is_an_error() {
        let avg = WeightedAverage::new(&template());
        assert!(matches!(avg.finish(), Err(AggregateError::Empty)));
        let mut avg = WeightedAverage::new(&template());
        avg.add("p", "a", &t(&[1.0, 1.0], &[2]), 1.0).expect("ok");
        assert!(matches!(avg.finish(), Err(AggregateError::Open(_))));
    }

    #[test]
    fn integer_tensors_are_rounded_back() {
        let template = vec![("n".to_string(), Tensor::from_slice(&[0i64, 0]))];
        let mut avg = WeightedAverage::new(&template);
        avg.add("p1", "n", &Tensor::from_slice(&[1i64, 10]), 1.0)
            .expect("ok");
        avg.finish_contribution("p1", 1.0).expect("ok");
        avg.add("p2", "n", &Tensor::from_slice(&[2i64, 20]), 3.0)
            .expect("ok");
        avg.finish_contribution("p2", 3.0).expect("ok");
        let mean = avg.finish().expect("ok");
        assert_eq!(mean[0].1.kind(), Kind::Int64);
        // (1 + 6) / 4 = 1.75 -> 2; (10 + 60) / 4 = 17.5 -> 18 (round half to even).
        assert_eq!(Vec::<i64>::try_from(&mean[0].1).expect("1-d"), [2, 18]);
    }

    /// One participant: its sample count and its values for every tensor.
    type Participant = (f64, Vec<Vec<f64>>);

    /// Several named tensors of random shapes, and 2-5 participants each
    /// holding its own values for every tensor plus a sample count.
    fn arb_round() -> impl Strategy<Value = (Vec<Vec<i64>>, Vec<Participant>)> {
        let shapes = proptest::collection::vec(proptest::collection::vec(1i64..5, 0..4), 1..5);
        (shapes, 2usize..=5).prop_flat_map(|(shapes, participants)| {
            let sizes: Vec<usize> = shapes
                .iter()
                .map(|s| s.iter().product::<i64>() as usize)
                .collect();
            let one = (
                1u32..100_000,
                sizes
                    .iter()
                    .map(|&n| proptest::collection::vec(-100.0f64..100.0, n))
                    .collect::<Vec<_>>(),
            )
                .prop_map(|(count, values)| (f64::from(count), values));
            (Just(shapes), proptest::collection::vec(one, participants))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Issue acceptance criterion: the streamed average equals the
        /// sample-weighted mean computed independently in plain f64 loops.
        #[test]
        fn matches_plain_weighted_mean((shapes, participants) in arb_round()) {
            let names: Vec<String> = (0..shapes.len()).map(|i| format!("layer{i}.weight")).collect();
            let as_tensor = |values: &[f64], shape: &[i64]| {
                let f32s: Vec<f32> = values.iter().map(|&v| v as f32).collect();
                Tensor::from_slice(&f32s).reshape(shape)
            };
            let template: Vec<(String, Tensor)> = names
                .iter()
                .zip(&shapes)
                .map(|(n, s)| (n.clone(), Tensor::zeros(s.as_slice(), (Kind::Float, Device::Cpu))))
                .collect();
            let mut avg = WeightedAverage::new(&template);
            // Participants stream concurrently: interleave their tensors, each
            // in reverse template order.
            for i in (0..names.len()).rev() {
                for (p, (count, tensors)) in participants.iter().enumerate() {
                    avg.add(&format!("p{p}"), &names[i], &as_tensor(&tensors[i], &shapes[i]), *count).expect("valid");
                }
            }
            for (p, (count, _)) in participants.iter().enumerate() {
                avg.finish_contribution(&format!("p{p}"), *count).expect("complete");
            }
            prop_assert_eq!(avg.contributions(), participants.len());
            let mean = avg.finish().expect("has contributions");

            let total: f64 = participants.iter().map(|(c, _)| c).sum();
            for (i, (name, got)) in mean.iter().enumerate() {
                prop_assert_eq!(name, &names[i]);
                prop_assert_eq!(got.size(), shapes[i].clone());
                let got: Vec<f64> = Vec::try_from(&got.flatten(0, -1).to_kind(Kind::Double)).expect("1-d");
                let mut expected = vec![0.0f64; got.len()];
                for (count, tensors) in &participants {
                    for (e, v) in expected.iter_mut().zip(&tensors[i]) {
                        // The participants' tensors are f32, so round as they were sent.
                        *e += count * f64::from(*v as f32);
                    }
                }
                for (g, e) in got.iter().zip(&expected) {
                    prop_assert!((g - e / total).abs() < 1e-5, "{name}: {g} vs {}", e / total);
                }
            }
        }
    }
}
