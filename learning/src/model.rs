//! A libtorch module built from a [`ModelSpec`]: one sub-path per layer named
//! like the Synergos attribute (`nnl_{i}_{l_type lowercased}`), so parameter
//! names match a PyTorch `state_dict` (`nnl_0_linear.weight`). The forward
//! pass is `x = activation(layer(x))` for every layer in order.

use tch::nn::{self, Init};
use tch::{Device, Kind, TchError, Tensor};

use crate::rng::{SplitMix, mix, name_hash};
use crate::spec::{Activation, LayerKind, ModelSpec, SpecError};

/// Why a model could not be built or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("invalid model spec: {0}")]
    Spec(#[from] SpecError),
    /// Raised by libtorch, e.g. when the data's shape does not fit a layer.
    #[error("layer {index} ({l_type}): {}", crate::torch_message(.source))]
    Forward {
        index: usize,
        l_type: String,
        source: TchError,
    },
    #[error("could not initialise `{name}`: {}", crate::torch_message(.source))]
    Init { name: String, source: TchError },
}

/// One built layer.
#[derive(Debug)]
enum Op {
    Linear {
        weight: Tensor,
        bias: Option<Tensor>,
    },
    Conv2d {
        weight: Tensor,
        bias: Option<Tensor>,
        stride: i64,
        padding: i64,
    },
    Flatten {
        start_dim: i64,
        end_dim: i64,
    },
    Relu,
    Sigmoid,
    Tanh,
    Softmax(i64),
    LogSoftmax(i64),
    Dropout(f64),
    BatchNorm1d(nn::BatchNorm),
    MaxPool2d {
        kernel_size: i64,
        stride: i64,
    },
}

#[derive(Debug)]
struct Layer {
    l_type: String,
    op: Op,
    activation: Option<Activation>,
}

/// The network described by a [`ModelSpec`]; its variables live in the
/// `VarStore` whose path it was built under.
#[derive(Debug)]
pub struct Model {
    layers: Vec<Layer>,
    /// Variables drawn uniformly in ±bound at initialisation, by name; the
    /// others (BatchNorm) start at constants.
    uniform_init: Vec<(String, f64)>,
}

/// PyTorch's default initialisation for `Linear` and `Conv2d`: weight and bias
/// uniform in ±1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)). tch's own
/// default uses the ReLU gain, which gives different starting weights than a
/// Synergos run would.
fn torch_default_bound(fan_in: i64) -> f64 {
    1.0 / (fan_in.max(1) as f64).sqrt()
}

fn uniform(bound: f64) -> Init {
    Init::Uniform {
        lo: -bound,
        up: bound,
    }
}

impl Model {
    /// Builds every layer's variables under `root`, initialised like PyTorch
    /// from libtorch's global generator; use [`init_weights`] for initial
    /// weights that are reproducible from a seed.
    pub fn new(root: &nn::Path, spec: &ModelSpec) -> Result<Model, ModelError> {
        spec.validate()?;
        let mut layers = Vec::with_capacity(spec.layers.len());
        let mut uniform_init = Vec::new();
        for (index, layer) in spec.layers.iter().enumerate() {
            let prefix = format!("nnl_{index}_{}", layer.l_type.to_lowercase());
            let path = root.sub(&prefix);
            let mut record = |var: &str, bound: f64| {
                uniform_init.push((format!("{}{prefix}.{var}", root_prefix(root)), bound));
                uniform(bound)
            };
            let op = match layer.kind(index)? {
                LayerKind::Linear {
                    in_features,
                    out_features,
                    bias,
                } => {
                    let bound = torch_default_bound(in_features);
                    let weight = path.var(
                        "weight",
                        &[out_features, in_features],
                        record("weight", bound),
                    );
                    let bias =
                        bias.then(|| path.var("bias", &[out_features], record("bias", bound)));
                    Op::Linear { weight, bias }
                }
                LayerKind::Conv2d {
                    in_channels,
                    out_channels,
                    kernel_size,
                    stride,
                    padding,
                    bias,
                } => {
                    let bound = torch_default_bound(in_channels * kernel_size * kernel_size);
                    let weight = path.var(
                        "weight",
                        &[out_channels, in_channels, kernel_size, kernel_size],
                        record("weight", bound),
                    );
                    let bias =
                        bias.then(|| path.var("bias", &[out_channels], record("bias", bound)));
                    Op::Conv2d {
                        weight,
                        bias,
                        stride,
                        padding,
                    }
                }
                LayerKind::Flatten { start_dim, end_dim } => Op::Flatten { start_dim, end_dim },
                LayerKind::ReLU => Op::Relu,
                LayerKind::Sigmoid => Op::Sigmoid,
                LayerKind::Tanh => Op::Tanh,
                LayerKind::Softmax { dim } => Op::Softmax(dim),
                LayerKind::LogSoftmax { dim } => Op::LogSoftmax(dim),
                LayerKind::Dropout { p } => Op::Dropout(p),
                LayerKind::BatchNorm1d { num_features } => {
                    // PyTorch starts the scale at 1 (tch's default draws it uniformly).
                    let config = nn::BatchNormConfig {
                        ws_init: Init::Const(1.0),
                        bs_init: Init::Const(0.0),
                        ..Default::default()
                    };
                    Op::BatchNorm1d(nn::batch_norm1d(&path, num_features, config))
                }
                LayerKind::MaxPool2d {
                    kernel_size,
                    stride,
                } => Op::MaxPool2d {
                    kernel_size,
                    stride,
                },
            };
            layers.push(Layer {
                l_type: layer.l_type.clone(),
                op,
                activation: layer.activation_kind(index)?,
            });
        }
        Ok(Model {
            layers,
            uniform_init,
        })
    }

    /// The forward pass with libtorch errors returned rather than panicking, so
    /// data of the wrong shape fails the task instead of the process.
    pub fn f_forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        let mut x = xs.shallow_clone();
        for (index, layer) in self.layers.iter().enumerate() {
            x = layer
                .apply(&x, train)
                .map_err(|source| ModelError::Forward {
                    index,
                    l_type: layer.l_type.clone(),
                    source,
                })?;
        }
        Ok(x)
    }
}

impl Layer {
    fn apply(&self, x: &Tensor, train: bool) -> Result<Tensor, TchError> {
        let y = match &self.op {
            Op::Linear { weight, bias } => x.f_linear(weight, bias.as_ref())?,
            Op::Conv2d {
                weight,
                bias,
                stride,
                padding,
            } => x.f_conv2d(
                weight,
                bias.as_ref(),
                [*stride; 2],
                [*padding; 2],
                [1i64; 2],
                1,
            )?,
            Op::Flatten { start_dim, end_dim } => x.f_flatten(*start_dim, *end_dim)?,
            Op::Relu => x.f_relu()?,
            Op::Sigmoid => x.f_sigmoid()?,
            Op::Tanh => x.f_tanh()?,
            Op::Softmax(dim) => x.f_softmax(*dim, None::<Kind>)?,
            Op::LogSoftmax(dim) => x.f_log_softmax(*dim, None::<Kind>)?,
            Op::Dropout(p) => x.f_dropout(*p, train)?,
            Op::BatchNorm1d(bn) => x.f_batch_norm(
                bn.ws.as_ref(),
                bn.bs.as_ref(),
                Some(&bn.running_mean),
                Some(&bn.running_var),
                train,
                0.1,
                1e-5,
                true,
            )?,
            Op::MaxPool2d {
                kernel_size,
                stride,
            } => x.f_max_pool2d([*kernel_size; 2], [*stride; 2], [0i64; 2], [1i64; 2], false)?,
        };
        match self.activation {
            None => Ok(y),
            Some(activation) => apply_activation(activation, &y),
        }
    }
}

fn apply_activation(activation: Activation, x: &Tensor) -> Result<Tensor, TchError> {
    match activation {
        Activation::Relu => x.f_relu(),
        Activation::Sigmoid => x.f_sigmoid(),
        Activation::Tanh => x.f_tanh(),
        Activation::Softmax => x.f_softmax(1, None::<Kind>),
        Activation::LogSoftmax => x.f_log_softmax(1, None::<Kind>),
        Activation::LeakyRelu => x.f_leaky_relu(),
        Activation::Elu => x.f_elu(),
        Activation::Gelu => x.f_gelu("none"),
    }
}

impl nn::ModuleT for Model {
    /// Panics on a libtorch error, as every tch module does; training and
    /// evaluation call [`Model::f_forward_t`] instead.
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match self.f_forward_t(xs, train) {
            Ok(y) => y,
            Err(e) => panic!("forward pass failed: {e}"),
        }
    }
}

/// The name prefix of variables created under `root` ("" at the store root).
fn root_prefix(root: &nn::Path) -> String {
    root.components().map(|c| format!("{c}.")).collect()
}

/// Fresh initial weights for `spec`, reproducible from `seed`, sorted by name.
///
/// Each `Linear`/`Conv2d` weight and bias is drawn uniformly in
/// ±1/sqrt(fan_in), PyTorch's default, from a generator seeded by `seed` and
/// the tensor's name; BatchNorm starts at scale 1, shift 0. libtorch's global
/// generator is not used, so concurrent tasks cannot perturb the result.
pub fn init_weights(spec: &ModelSpec, seed: u64) -> Result<Vec<(String, Tensor)>, ModelError> {
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Model::new(&vs.root(), spec)?;
    let mut vars = vs.variables();
    for (name, bound) in &model.uniform_init {
        let Some(var) = vars.get_mut(name) else {
            continue;
        };
        let mut rng = SplitMix::new(mix(&[seed, name_hash(name)]));
        let values: Vec<f32> = (0..var.numel())
            .map(|_| ((rng.next_f64() * 2.0 - 1.0) * bound) as f32)
            .collect();
        let init = |source| ModelError::Init {
            name: name.clone(),
            source,
        };
        let drawn = Tensor::from_slice(&values)
            .f_reshape(var.size())
            .map_err(init)?;
        tch::no_grad(|| var.f_copy_(&drawn)).map_err(init)?;
    }
    Ok(crate::weights::named_tensors(&vs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tch::nn::ModuleT;

    fn spec(value: serde_json::Value) -> ModelSpec {
        ModelSpec::from_json(&value).expect("valid spec")
    }

    fn names(tensors: &[(String, Tensor)]) -> Vec<&str> {
        tensors.iter().map(|(n, _)| n.as_str()).collect()
    }

    #[test]
    fn parameter_names_follow_pytorch_state_dict() {
        let s = spec(json!([
            {"l_type": "Conv2d", "activation": "relu",
             "structure": {"in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 1}},
            {"l_type": "MaxPool2d", "structure": {"kernel_size": 2}},
            {"l_type": "Flatten"},
            {"l_type": "Linear", "structure": {"in_features": 32, "out_features": 4, "bias": false}},
            {"l_type": "BatchNorm1d", "structure": {"num_features": 4}},
            {"l_type": "Dropout", "structure": {"p": 0.2}},
            {"l_type": "Linear", "activation": "log_softmax", "structure": {"in_features": 4, "out_features": 3}},
        ]));
        let weights = init_weights(&s, 1).expect("builds");
        assert_eq!(
            names(&weights),
            [
                "nnl_0_conv2d.bias",
                "nnl_0_conv2d.weight",
                "nnl_3_linear.weight",
                "nnl_4_batchnorm1d.bias",
                "nnl_4_batchnorm1d.running_mean",
                "nnl_4_batchnorm1d.running_var",
                "nnl_4_batchnorm1d.weight",
                "nnl_6_linear.bias",
                "nnl_6_linear.weight",
            ]
        );
        let shape = |name: &str| {
            weights
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.size())
                .expect("present")
        };
        assert_eq!(shape("nnl_0_conv2d.weight"), [2, 1, 3, 3]);
        assert_eq!(shape("nnl_3_linear.weight"), [4, 32]);

        let vs = nn::VarStore::new(Device::Cpu);
        let model = Model::new(&vs.root(), &s).expect("builds");
        // 8x8 -> conv (padding 1) 2x8x8 -> pool 2x4x4 = 32 features.
        let x = Tensor::randn([5, 1, 8, 8], (Kind::Float, Device::Cpu));
        let y = model.forward_t(&x, false);
        assert_eq!(y.size(), [5, 3]);
        // log_softmax rows exponentiate to probability vectors.
        let row_sums = y.exp().sum_dim_intlist(1, false, Kind::Float);
        assert!(row_sums.allclose(
            &Tensor::ones([5], (Kind::Float, Device::Cpu)),
            1e-5,
            1e-5,
            false
        ));
    }

    #[test]
    fn init_weights_is_reproducible_and_pytorch_scaled() {
        let s = spec(
            json!([{"l_type": "Linear", "structure": {"in_features": 100, "out_features": 10}}]),
        );
        let a = init_weights(&s, 7).expect("builds");
        let b = init_weights(&s, 7).expect("builds");
        let c = init_weights(&s, 8).expect("builds");
        for ((_, x), (_, y)) in a.iter().zip(&b) {
            assert!(x.equal(y));
        }
        assert!(!a[1].1.equal(&c[1].1));
        // Uniform in ±1/sqrt(100).
        let max = a[1].1.abs().max().double_value(&[]);
        assert!(max <= 0.1 && max > 0.05, "max |w| = {max}");
    }

    #[test]
    fn wrong_input_width_is_an_error_not_a_panic() {
        let s =
            spec(json!([{"l_type": "Linear", "structure": {"in_features": 3, "out_features": 1}}]));
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Model::new(&vs.root(), &s).expect("builds");
        let x = Tensor::zeros([2, 5], (Kind::Float, Device::Cpu));
        let err = model.f_forward_t(&x, true).expect_err("shape mismatch");
        assert!(err.to_string().starts_with("layer 0 (Linear):"), "{err}");
    }

    #[test]
    fn dropout_and_batch_norm_respect_train_mode() {
        let s = spec(json!([
            {"l_type": "BatchNorm1d", "structure": {"num_features": 4}},
            {"l_type": "Dropout", "structure": {"p": 0.5}},
        ]));
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Model::new(&vs.root(), &s).expect("builds");
        let x = Tensor::randn([64, 4], (Kind::Float, Device::Cpu)) * 3.0 + 5.0;
        // Eval mode with fresh running stats (mean 0, var 1) is the identity.
        let eval = model.forward_t(&x, false);
        assert!(eval.allclose(&x, 1e-4, 1e-4, false));
        let train = model.forward_t(&x, true);
        let zeros = train.eq(0.0).sum(Kind::Int64).int64_value(&[]);
        assert!(zeros > 32, "dropout zeroed only {zeros} of 256");
    }
}
