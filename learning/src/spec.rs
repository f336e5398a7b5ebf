//! The Synergos JSON layer spec (`Experiment.model`): parsing and validation of
//! the ordered layer list, its typed reading, and the Synergos auto-fix of the
//! input and output widths. Pure: no libtorch.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Most layers a spec may have; a larger one is refused before anything is built.
pub const MAX_LAYERS: usize = 256;

/// Upper bound on feature, channel and unit counts, so a hostile spec cannot ask
/// for a multi-gigabyte weight matrix.
pub const MAX_FEATURES: u64 = 1_000_000;

/// Upper bound on kernel sizes, strides and padding.
pub const MAX_KERNEL: u64 = 1_024;

/// Bound on the absolute value of dimension arguments (`dim`, `start_dim`, ...).
pub const MAX_DIM: i64 = 8;

/// Layer types this crate can build, in the order error messages list them.
pub const SUPPORTED_LAYERS: &[&str] = &[
    "Linear",
    "Conv2d",
    "Flatten",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Dropout",
    "BatchNorm1d",
    "MaxPool2d",
];

/// Activation function names (from `torch.nn.functional`) this crate applies.
pub const SUPPORTED_ACTIVATIONS: &[&str] = &[
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "log_softmax",
    "leaky_relu",
    "elu",
    "gelu",
];

/// Keys a layer object may carry.
const LAYER_KEYS: &[&str] = &["is_input", "l_type", "structure", "activation"];

/// Why a layer spec was refused. Every message names the layer and the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("model spec must be a JSON array of layer objects")]
    NotAnArray,
    #[error("model spec has no layers")]
    Empty,
    #[error("model spec has {0} layers, more than the limit of {MAX_LAYERS}")]
    TooManyLayers(usize),
    #[error("layer {index}: must be a JSON object")]
    NotAnObject { index: usize },
    #[error(
        "layer {index}: unknown key `{key}` (allowed: is_input, l_type, structure, activation)"
    )]
    UnknownLayerKey { index: usize, key: String },
    #[error("layer {index}: `l_type` must be a string")]
    MissingLType { index: usize },
    #[error("layer {index}: unknown l_type `{l_type}` (supported: {})", SUPPORTED_LAYERS.join(", "))]
    UnknownLType { index: usize, l_type: String },
    #[error("layer {index}: `is_input` must be a boolean")]
    BadIsInput { index: usize },
    #[error("layer {index}: `activation` must be a string or null")]
    BadActivation { index: usize },
    #[error("layer {index}: unknown activation `{activation}` (supported: {}, or null)", SUPPORTED_ACTIVATIONS.join(", "))]
    UnknownActivation { index: usize, activation: String },
    #[error("layer {index} ({l_type}): `structure` must be an object or null")]
    BadStructure { index: usize, l_type: String },
    #[error("layer {index} ({l_type}): unknown structure key `{key}` (allowed: {allowed})")]
    UnknownKey {
        index: usize,
        l_type: String,
        key: String,
        allowed: String,
    },
    #[error("layer {index} ({l_type}): `{field}` is required")]
    MissingField {
        index: usize,
        l_type: String,
        field: &'static str,
    },
    #[error("layer {index} ({l_type}): `{field}` must be {requirement}")]
    InvalidField {
        index: usize,
        l_type: String,
        field: &'static str,
        requirement: String,
    },
}

/// One layer as Synergos stores it: a `torch.nn` class name, its constructor
/// arguments, and an optional `torch.nn.functional` activation applied after it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSpec {
    /// Stored but unused, as in Synergos.
    #[serde(default)]
    pub is_input: bool,
    pub l_type: String,
    #[serde(default)]
    pub structure: Map<String, Value>,
    #[serde(default)]
    pub activation: Option<String>,
}

/// The whole model: layers applied in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSpec {
    pub layers: Vec<LayerSpec>,
}

/// A layer with its arguments checked and defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerKind {
    Linear {
        in_features: i64,
        out_features: i64,
        bias: bool,
    },
    Conv2d {
        in_channels: i64,
        out_channels: i64,
        kernel_size: i64,
        stride: i64,
        padding: i64,
        bias: bool,
    },
    Flatten {
        start_dim: i64,
        end_dim: i64,
    },
    ReLU,
    Sigmoid,
    Tanh,
    Softmax {
        dim: i64,
    },
    LogSoftmax {
        dim: i64,
    },
    Dropout {
        p: f64,
    },
    BatchNorm1d {
        num_features: i64,
    },
    MaxPool2d {
        kernel_size: i64,
        stride: i64,
    },
}

/// An activation applied after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Sigmoid,
    Tanh,
    /// Over dim 1 (the class dimension).
    Softmax,
    /// Over dim 1 (the class dimension).
    LogSoftmax,
    /// PyTorch's default slope of 0.01.
    LeakyRelu,
    /// PyTorch's default alpha of 1.0.
    Elu,
    Gelu,
}

impl Activation {
    /// Parses a `torch.nn.functional` name; `None` for the "no activation" spellings.
    fn parse(index: usize, name: &str) -> Result<Option<Activation>, SpecError> {
        Ok(Some(match name {
            "" | "null" | "none" => return Ok(None),
            "relu" => Activation::Relu,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            "log_softmax" => Activation::LogSoftmax,
            "leaky_relu" => Activation::LeakyRelu,
            "elu" => Activation::Elu,
            "gelu" => Activation::Gelu,
            other => {
                return Err(SpecError::UnknownActivation {
                    index,
                    activation: other.to_string(),
                });
            }
        }))
    }

    /// The `torch.nn.functional` name.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::LogSoftmax => "log_softmax",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Elu => "elu",
            Activation::Gelu => "gelu",
        }
    }
}

impl LayerSpec {
    /// The checked layer, with defaults filled in. `index` only labels errors.
    pub fn kind(&self, index: usize) -> Result<LayerKind, SpecError> {
        let args = Args {
            index,
            l_type: &self.l_type,
            map: &self.structure,
        };
        let kind = match self.l_type.as_str() {
            "Linear" => {
                args.only(&["in_features", "out_features", "bias"])?;
                LayerKind::Linear {
                    in_features: args.positive("in_features", None, MAX_FEATURES)?,
                    out_features: args.positive("out_features", None, MAX_FEATURES)?,
                    bias: args.boolean("bias", true)?,
                }
            }
            "Conv2d" => {
                args.only(&[
                    "in_channels",
                    "out_channels",
                    "kernel_size",
                    "stride",
                    "padding",
                    "bias",
                ])?;
                LayerKind::Conv2d {
                    in_channels: args.positive("in_channels", None, MAX_FEATURES)?,
                    out_channels: args.positive("out_channels", None, MAX_FEATURES)?,
                    kernel_size: args.positive("kernel_size", None, MAX_KERNEL)?,
                    stride: args.positive("stride", Some(1), MAX_KERNEL)?,
                    padding: args.non_negative("padding", 0, MAX_KERNEL)?,
                    bias: args.boolean("bias", true)?,
                }
            }
            "Flatten" => {
                args.only(&["start_dim", "end_dim"])?;
                LayerKind::Flatten {
                    start_dim: args.dim("start_dim", 1)?,
                    end_dim: args.dim("end_dim", -1)?,
                }
            }
            "ReLU" => {
                args.only(&[])?;
                LayerKind::ReLU
            }
            "Sigmoid" => {
                args.only(&[])?;
                LayerKind::Sigmoid
            }
            "Tanh" => {
                args.only(&[])?;
                LayerKind::Tanh
            }
            "Softmax" => {
                args.only(&["dim"])?;
                LayerKind::Softmax {
                    dim: args.dim("dim", 1)?,
                }
            }
            "LogSoftmax" => {
                args.only(&["dim"])?;
                LayerKind::LogSoftmax {
                    dim: args.dim("dim", 1)?,
                }
            }
            "Dropout" => {
                args.only(&["p"])?;
                LayerKind::Dropout {
                    p: args.probability("p", 0.5)?,
                }
            }
            "BatchNorm1d" => {
                args.only(&["num_features"])?;
                LayerKind::BatchNorm1d {
                    num_features: args.positive("num_features", None, MAX_FEATURES)?,
                }
            }
            "MaxPool2d" => {
                args.only(&["kernel_size", "stride"])?;
                let kernel_size = args.positive("kernel_size", None, MAX_KERNEL)?;
                // torch's default stride (None) is the kernel size.
                LayerKind::MaxPool2d {
                    kernel_size,
                    stride: args.positive("stride", Some(kernel_size as u64), MAX_KERNEL)?,
                }
            }
            other => {
                return Err(SpecError::UnknownLType {
                    index,
                    l_type: other.to_string(),
                });
            }
        };
        Ok(kind)
    }

    /// The checked activation applied after this layer, if any.
    pub fn activation_kind(&self, index: usize) -> Result<Option<Activation>, SpecError> {
        match &self.activation {
            None => Ok(None),
            Some(name) => Activation::parse(index, name),
        }
    }

    fn from_value(index: usize, value: &Value) -> Result<LayerSpec, SpecError> {
        let object = value.as_object().ok_or(SpecError::NotAnObject { index })?;
        if let Some(key) = object.keys().find(|k| !LAYER_KEYS.contains(&k.as_str())) {
            return Err(SpecError::UnknownLayerKey {
                index,
                key: key.clone(),
            });
        }
        let l_type = object
            .get("l_type")
            .and_then(Value::as_str)
            .ok_or(SpecError::MissingLType { index })?
            .to_string();
        let is_input = match object.get("is_input") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(SpecError::BadIsInput { index }),
        };
        let activation = match object.get("activation") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => {
                // Normalise the "no activation" spellings so `to_json` round-trips.
                Activation::parse(index, s)?.map(|a| a.name().to_string())
            }
            Some(_) => return Err(SpecError::BadActivation { index }),
        };
        let structure = match object.get("structure") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(_) => return Err(SpecError::BadStructure { index, l_type }),
        };
        let layer = LayerSpec {
            is_input,
            l_type,
            structure,
            activation,
        };
        layer.kind(index)?;
        Ok(layer)
    }
}

impl ModelSpec {
    /// Parses and validates a Synergos layer list.
    pub fn from_json(value: &Value) -> Result<ModelSpec, SpecError> {
        let items = value.as_array().ok_or(SpecError::NotAnArray)?;
        if items.is_empty() {
            return Err(SpecError::Empty);
        }
        if items.len() > MAX_LAYERS {
            return Err(SpecError::TooManyLayers(items.len()));
        }
        let layers = items
            .iter()
            .enumerate()
            .map(|(index, item)| LayerSpec::from_value(index, item))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ModelSpec { layers })
    }

    /// The Synergos JSON form; `from_json(&spec.to_json())` gives `spec` back.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.layers
                .iter()
                .map(|layer| {
                    let mut object = Map::new();
                    object.insert("is_input".into(), Value::Bool(layer.is_input));
                    object.insert("l_type".into(), Value::String(layer.l_type.clone()));
                    object.insert("structure".into(), Value::Object(layer.structure.clone()));
                    object.insert(
                        "activation".into(),
                        layer.activation.clone().map_or(Value::Null, Value::String),
                    );
                    Value::Object(object)
                })
                .collect(),
        )
    }

    /// Re-checks every layer; a spec built by hand (the fields are public) gets
    /// the same checks as one from [`ModelSpec::from_json`].
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.layers.is_empty() {
            return Err(SpecError::Empty);
        }
        if self.layers.len() > MAX_LAYERS {
            return Err(SpecError::TooManyLayers(self.layers.len()));
        }
        for (index, layer) in self.layers.iter().enumerate() {
            layer.kind(index)?;
            layer.activation_kind(index)?;
        }
        Ok(())
    }

    /// The Synergos auto-fix: the first layer's `in_features` becomes the number
    /// of input features and the last layer's `out_features` the number of
    /// outputs, when those layers are `Linear`. Returns whether anything changed.
    ///
    /// Deliberate divergence from Synergos: we do **not** force a softmax
    /// activation onto the output layer for more than two classes. Synergos does,
    /// and its demos pair that softmax with `NLLLoss`, which expects
    /// log-probabilities, so training converges to near chance. The output
    /// activation stays whatever the spec says; [`crate::hyper::check_compatible`]
    /// rejects pairings of activation and criterion that are mathematically wrong.
    ///
    /// Like Synergos, it does not touch `in_channels` of a first `Conv2d` nor the
    /// flattened `in_features` of later layers.
    pub fn auto_fix(&mut self, in_features: usize, out_features: usize) -> bool {
        let mut changed = false;
        if let Some(first) = self.layers.first_mut() {
            changed |= set_linear_width(first, "in_features", in_features);
        }
        if let Some(last) = self.layers.last_mut() {
            changed |= set_linear_width(last, "out_features", out_features);
        }
        changed
    }

    /// The function the model's output finally goes through: the last layer's
    /// activation, or, when the last layer is itself an activation layer
    /// (`Sigmoid`, `Softmax`, ...) without one, that layer's function name.
    pub fn last_activation(&self) -> Option<&str> {
        let last = self.layers.last()?;
        if let Some(name) = last.activation.as_deref()
            && !name.is_empty()
        {
            return Some(name);
        }
        match last.l_type.as_str() {
            "ReLU" => Some("relu"),
            "Sigmoid" => Some("sigmoid"),
            "Tanh" => Some("tanh"),
            "Softmax" => Some("softmax"),
            "LogSoftmax" => Some("log_softmax"),
            _ => None,
        }
    }

    /// Width of the model's output: `out_features` of the last `Linear` layer,
    /// or `None` when the spec has no `Linear` or it is malformed.
    pub fn out_features(&self) -> Option<usize> {
        self.layers
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, layer)| match layer.kind(i).ok()? {
                LayerKind::Linear { out_features, .. } => usize::try_from(out_features).ok(),
                _ => None,
            })
    }
}

fn set_linear_width(layer: &mut LayerSpec, key: &str, width: usize) -> bool {
    if layer.l_type != "Linear" {
        return false;
    }
    let new = Value::from(width as u64);
    if layer.structure.get(key) == Some(&new) {
        return false;
    }
    layer.structure.insert(key.to_string(), new);
    true
}

/// Typed access to one layer's `structure`, producing errors that name the field.
struct Args<'a> {
    index: usize,
    l_type: &'a str,
    map: &'a Map<String, Value>,
}

impl Args<'_> {
    fn invalid(&self, field: &'static str, requirement: String) -> SpecError {
        SpecError::InvalidField {
            index: self.index,
            l_type: self.l_type.to_string(),
            field,
            requirement,
        }
    }

    /// Refuses keys outside `allowed`; torch would raise a TypeError on them.
    fn only(&self, allowed: &[&str]) -> Result<(), SpecError> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(key) => Err(SpecError::UnknownKey {
                index: self.index,
                l_type: self.l_type.to_string(),
                key: key.clone(),
                allowed: if allowed.is_empty() {
                    "none".to_string()
                } else {
                    allowed.join(", ")
                },
            }),
            None => Ok(()),
        }
    }

    /// Present and non-null, or `None`.
    fn get(&self, field: &str) -> Option<&Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    fn integer(&self, field: &'static str, requirement: &str) -> Result<Option<i64>, SpecError> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        // Front ends may send `28.0`; accept integral floats, refuse `28.5`.
        let n = value.as_i64().or_else(|| {
            value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                .map(|f| f as i64)
        });
        match n {
            Some(n) => Ok(Some(n)),
            None => Err(self.invalid(field, requirement.to_string())),
        }
    }

    fn positive(
        &self,
        field: &'static str,
        default: Option<u64>,
        max: u64,
    ) -> Result<i64, SpecError> {
        let requirement = format!("a positive integer (at most {max})");
        match self.integer(field, &requirement)? {
            Some(n) if n >= 1 && n as u64 <= max => Ok(n),
            Some(_) => Err(self.invalid(field, requirement)),
            None => match default {
                Some(d) => Ok(d as i64),
                None => Err(SpecError::MissingField {
                    index: self.index,
                    l_type: self.l_type.to_string(),
                    field,
                }),
            },
        }
    }

    fn non_negative(&self, field: &'static str, default: i64, max: u64) -> Result<i64, SpecError> {
        let requirement = format!("a non-negative integer (at most {max})");
        match self.integer(field, &requirement)? {
            Some(n) if n >= 0 && n as u64 <= max => Ok(n),
            Some(_) => Err(self.invalid(field, requirement)),
            None => Ok(default),
        }
    }

    fn dim(&self, field: &'static str, default: i64) -> Result<i64, SpecError> {
        let requirement = format!("an integer between -{MAX_DIM} and {MAX_DIM}");
        match self.integer(field, &requirement)? {
            Some(n) if (-MAX_DIM..=MAX_DIM).contains(&n) => Ok(n),
            Some(_) => Err(self.invalid(field, requirement)),
            None => Ok(default),
        }
    }

    fn boolean(&self, field: &'static str, default: bool) -> Result<bool, SpecError> {
        match self.get(field) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.invalid(field, "a boolean".to_string())),
        }
    }

    fn probability(&self, field: &'static str, default: f64) -> Result<f64, SpecError> {
        let requirement = || "a number in [0, 1)".to_string();
        match self.get(field) {
            None => Ok(default),
            Some(value) => match value.as_f64() {
                Some(p) if (0.0..1.0).contains(&p) => Ok(p),
                _ => Err(self.invalid(field, requirement())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<ModelSpec, SpecError> {
        ModelSpec::from_json(&value)
    }

    #[test]
    fn parses_the_synergos_tabular_example() {
        let spec = parse(json!([{
            "is_input": true, "l_type": "Linear", "activation": "sigmoid",
            "structure": {"in_features": 28, "out_features": 1, "bias": true}
        }]))
        .expect("valid spec");
        assert_eq!(spec.layers.len(), 1);
        assert_eq!(
            spec.layers[0].kind(0),
            Ok(LayerKind::Linear {
                in_features: 28,
                out_features: 1,
                bias: true
            })
        );
        assert_eq!(spec.last_activation(), Some("sigmoid"));
        assert_eq!(spec.out_features(), Some(1));
    }

    #[test]
    fn parses_the_synergos_image_example_with_defaults() {
        let spec = parse(json!([
            {"is_input": true, "l_type": "Conv2d", "activation": "relu",
             "structure": {"in_channels": 1, "out_channels": 4, "kernel_size": 3, "stride": 1, "padding": 1}},
            {"is_input": false, "l_type": "Flatten", "activation": null, "structure": {}},
            {"is_input": false, "l_type": "Linear", "activation": "softmax",
             "structure": {"in_features": 3136, "out_features": 10}},
        ]))
        .expect("valid spec");
        assert_eq!(
            spec.layers[1].kind(1),
            Ok(LayerKind::Flatten {
                start_dim: 1,
                end_dim: -1
            })
        );
        assert_eq!(
            spec.layers[2].kind(2),
            Ok(LayerKind::Linear {
                in_features: 3136,
                out_features: 10,
                bias: true
            })
        );
        assert_eq!(spec.last_activation(), Some("softmax"));
    }

    #[test]
    fn parameterless_layers_may_omit_structure() {
        let spec = parse(json!([
            {"l_type": "Linear", "structure": {"in_features": 4, "out_features": 3}},
            {"l_type": "MaxPool2d", "structure": {"kernel_size": 2}},
            {"l_type": "Sigmoid"},
            {"l_type": "Dropout", "structure": null, "activation": ""},
        ]))
        .expect("valid spec");
        assert_eq!(
            spec.layers[1].kind(1),
            Ok(LayerKind::MaxPool2d {
                kernel_size: 2,
                stride: 2
            })
        );
        assert_eq!(spec.layers[3].activation, None);
        assert_eq!(spec.layers[3].kind(3), Ok(LayerKind::Dropout { p: 0.5 }));
    }

    #[test]
    fn last_activation_sees_activation_layers() {
        let spec = parse(json!([
            {"l_type": "Linear", "structure": {"in_features": 4, "out_features": 3}},
            {"l_type": "LogSoftmax", "structure": {"dim": 1}},
        ]))
        .expect("valid spec");
        assert_eq!(spec.last_activation(), Some("log_softmax"));
        let plain = parse(json!([
            {"l_type": "Linear", "structure": {"in_features": 4, "out_features": 3}}
        ]))
        .expect("valid spec");
        assert_eq!(plain.last_activation(), None);
    }

    #[test]
    fn errors_name_the_layer_and_field() {
        let cases = [
            (
                json!([{"l_type": "Linear", "structure": {"in_features": 0, "out_features": 1}}]),
                "layer 0 (Linear): `in_features` must be a positive integer (at most 1000000)",
            ),
            (
                json!([{"l_type": "Linear", "structure": {"out_features": 1}}]),
                "layer 0 (Linear): `in_features` is required",
            ),
            (
                json!([{"l_type": "ReLU"}, {"l_type": "ReLU"}, {"l_type": "Foo"}]),
                "layer 2: unknown l_type `Foo` (supported: Linear, Conv2d, Flatten, ReLU, Sigmoid, Tanh, Softmax, LogSoftmax, Dropout, BatchNorm1d, MaxPool2d)",
            ),
            (
                json!([{"l_type": "Linear", "structure": {"in_features": 2, "out_features": 1, "bais": true}}]),
                "layer 0 (Linear): unknown structure key `bais` (allowed: in_features, out_features, bias)",
            ),
            (
                json!([{"l_type": "ReLU", "activation": "swish"}]),
                "layer 0: unknown activation `swish` (supported: relu, sigmoid, tanh, softmax, log_softmax, leaky_relu, elu, gelu, or null)",
            ),
            (
                json!([{"l_type": "Dropout", "structure": {"p": 1.0}}]),
                "layer 0 (Dropout): `p` must be a number in [0, 1)",
            ),
            (
                json!([{"l_type": "Linear", "structure": {"in_features": 2, "out_features": 1, "bias": 1}}]),
                "layer 0 (Linear): `bias` must be a boolean",
            ),
            (
                json!([{"l_type": "Linear", "structure": {"in_features": 2.5, "out_features": 1}}]),
                "layer 0 (Linear): `in_features` must be a positive integer (at most 1000000)",
            ),
            (
                json!([{"l_type": "Softmax", "structure": {"dim": 99}}]),
                "layer 0 (Softmax): `dim` must be an integer between -8 and 8",
            ),
            (json!([]), "model spec has no layers"),
            (
                json!({"l_type": "ReLU"}),
                "model spec must be a JSON array of layer objects",
            ),
            (json!([1]), "layer 0: must be a JSON object"),
            (
                json!([{"l_type": "ReLU", "activaton": "relu"}]),
                "layer 0: unknown key `activaton` (allowed: is_input, l_type, structure, activation)",
            ),
        ];
        for (value, message) in cases {
            let err = parse(value).expect_err(message);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn caps_the_layer_count_and_feature_sizes() {
        let many = Value::Array(vec![json!({"l_type": "ReLU"}); MAX_LAYERS + 1]);
        assert_eq!(parse(many), Err(SpecError::TooManyLayers(MAX_LAYERS + 1)));
        let huge = json!([{"l_type": "Linear", "structure": {"in_features": 1_000_001, "out_features": 1}}]);
        assert!(parse(huge).is_err());
    }

    #[test]
    fn integral_floats_are_accepted() {
        let spec = parse(
            json!([{"l_type": "Linear", "structure": {"in_features": 28.0, "out_features": 1}}]),
        )
        .expect("valid spec");
        assert!(matches!(
            spec.layers[0].kind(0),
            Ok(LayerKind::Linear {
                in_features: 28,
                ..
            })
        ));
    }

    #[test]
    fn auto_fix_sets_input_and_output_widths_only() {
        let mut spec = parse(json!([
            {"l_type": "Linear", "activation": "relu", "structure": {"in_features": 1, "out_features": 16}},
            {"l_type": "Linear", "activation": null, "structure": {"in_features": 16, "out_features": 1}},
        ]))
        .expect("valid spec");
        assert!(spec.auto_fix(28, 3));
        assert_eq!(spec.layers[0].structure["in_features"], json!(28));
        assert_eq!(spec.layers[0].structure["out_features"], json!(16));
        assert_eq!(spec.layers[1].structure["in_features"], json!(16));
        assert_eq!(spec.layers[1].structure["out_features"], json!(3));
        // No softmax is forced onto the output layer (deliberate divergence).
        assert_eq!(spec.layers[1].activation, None);
        assert!(!spec.auto_fix(28, 3), "a second fix changes nothing");
        spec.validate().expect("still valid");
    }

    #[test]
    fn auto_fix_leaves_convolutions_alone() {
        let mut spec = parse(json!([
            {"l_type": "Conv2d", "structure": {"in_channels": 1, "out_channels": 2, "kernel_size": 3}},
            {"l_type": "Flatten"},
        ]))
        .expect("valid spec");
        let before = spec.clone();
        assert!(!spec.auto_fix(784, 10));
        assert_eq!(spec, before);
    }

    fn arb_layer() -> impl Strategy<Value = Value> {
        let act = prop_oneof![
            Just(Value::Null),
            proptest::sample::select(SUPPORTED_ACTIVATIONS).prop_map(|a| json!(a)),
        ];
        let linear =
            (1u64..5000, 1u64..5000, proptest::option::of(any::<bool>())).prop_map(|(i, o, b)| {
                let mut s = json!({"in_features": i, "out_features": o});
                if let Some(b) = b {
                    s["bias"] = json!(b);
                }
                json!({"l_type": "Linear", "structure": s})
            });
        let conv = (1u64..64, 1u64..64, 1u64..7, 1u64..3, 0u64..3).prop_map(|(i, o, k, s, p)| {
            json!({"l_type": "Conv2d", "structure": {
                "in_channels": i, "out_channels": o, "kernel_size": k, "stride": s, "padding": p}})
        });
        let simple = proptest::sample::select(vec!["ReLU", "Sigmoid", "Tanh", "Flatten"])
            .prop_map(|t| json!({"l_type": t}));
        // Dyadic probabilities print exactly; serde_json's default float parser
        // is not guaranteed to round-trip arbitrary ones through text.
        let dropout = (0u32..64)
            .prop_map(|k| json!({"l_type": "Dropout", "structure": {"p": f64::from(k) / 64.0}}));
        let softmax =
            (-1i64..3).prop_map(|d| json!({"l_type": "Softmax", "structure": {"dim": d}}));
        (
            prop_oneof![linear, conv, simple, dropout, softmax],
            act,
            any::<bool>(),
        )
            .prop_map(|(mut layer, act, is_input)| {
                layer["activation"] = act;
                layer["is_input"] = json!(is_input);
                layer
            })
    }

    proptest! {
        #[test]
        fn to_json_round_trips(layers in proptest::collection::vec(arb_layer(), 1..8)) {
            let spec = parse(Value::Array(layers)).expect("generated specs are valid");
            let again = ModelSpec::from_json(&spec.to_json()).expect("round trip parses");
            prop_assert_eq!(&again, &spec);
            // And through serde, which other crates use to store the spec.
            let text = serde_json::to_string(&spec).expect("serialises");
            let back: ModelSpec = serde_json::from_str(&text).expect("deserialises");
            prop_assert_eq!(back, spec);
        }

        #[test]
        fn auto_fix_is_idempotent(
            layers in proptest::collection::vec(arb_layer(), 1..6),
            i in 1usize..1000,
            o in 1usize..1000,
        ) {
            let mut spec = parse(Value::Array(layers)).expect("generated specs are valid");
            spec.auto_fix(i, o);
            let fixed = spec.clone();
            prop_assert!(!spec.auto_fix(i, o));
            prop_assert_eq!(&spec, &fixed);
            prop_assert!(spec.validate().is_ok());
        }
    }
}
