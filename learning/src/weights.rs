//! Named tensors in and out of a `VarStore`, to and from the wire (a
//! `TensorHeader` plus raw little-endian bytes) and to and from disk. Loading
//! is strict: the same names, shapes and kinds, or an error naming the tensor.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Device, Kind, TchError, Tensor, nn::VarStore};
use ttp_proto::transfer::{ReceivedTensor, TransferError, validate_header};
use ttp_proto::v1::{Dtype, TensorHeader};

// Raw bytes are copied as the host lays them out; the wire says little-endian.
#[cfg(target_endian = "big")]
compile_error!("ttp-learning's tensor wire format assumes a little-endian host");

/// Why named tensors could not be converted, loaded or saved.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("tensor `{name}` has kind {kind:?}, which has no wire dtype")]
    UnsupportedKind { name: String, kind: Kind },
    #[error("tensor `{name}` has unknown or unspecified dtype")]
    UnknownDtype { name: String },
    #[error(transparent)]
    Header(#[from] TransferError),
    #[error("tensor `{name}` carries {got} bytes but its header declares {declared}")]
    ByteCount {
        name: String,
        declared: u64,
        got: usize,
    },
    #[error("the model has no tensor `{0}`")]
    Unexpected(String),
    #[error("tensor `{0}` is missing")]
    Missing(String),
    #[error("tensor `{0}` appears twice")]
    Duplicate(String),
    #[error("tensor `{name}` has shape {got:?} but the model needs {expected:?}")]
    Shape {
        name: String,
        expected: Vec<i64>,
        got: Vec<i64>,
    },
    #[error("tensor `{name}` has kind {got:?} but the model needs {expected:?}")]
    Kind {
        name: String,
        expected: Kind,
        got: Kind,
    },
    #[error("libtorch failed on tensor `{name}`: {}", crate::torch_message(.source))]
    Torch { name: String, source: TchError },
    #[error("could not read a tensor's bytes: {}", crate::torch_message(.0))]
    Read(TchError),
    #[error("weights file {path}: {}", crate::torch_message(.source))]
    File { path: String, source: TchError },
}

/// The wire dtype of a libtorch kind.
pub fn dtype_of(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Float => Dtype::F32,
        Kind::Double => Dtype::F64,
        Kind::Int64 => Dtype::I64,
        Kind::Int => Dtype::I32,
        Kind::Uint8 => Dtype::U8,
        Kind::Bool => Dtype::Bool,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::Bf16,
        _ => return None,
    })
}

/// The libtorch kind of a wire dtype.
pub fn kind_of(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F64 => Kind::Double,
        Dtype::I64 => Kind::Int64,
        Dtype::I32 => Kind::Int,
        Dtype::U8 => Kind::Uint8,
        Dtype::Bool => Kind::Bool,
        Dtype::F16 => Kind::Half,
        Dtype::Bf16 => Kind::BFloat16,
        Dtype::Unspecified => return None,
    })
}

/// Every variable of `vs` (trainable or not, e.g. BatchNorm running stats),
/// sorted by name. The tensors are detached views sharing the store's storage.
pub fn named_tensors(vs: &VarStore) -> Vec<(String, Tensor)> {
    let mut tensors: Vec<(String, Tensor)> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| (name, t.detach()))
        .collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    tensors
}

/// The wire header announcing `t` under `name`.
pub fn header_of(name: &str, t: &Tensor) -> Result<TensorHeader, WeightsError> {
    let kind = t.kind();
    let dtype = dtype_of(kind).ok_or_else(|| WeightsError::UnsupportedKind {
        name: name.to_string(),
        kind,
    })?;
    let shape = t.size();
    let elements: u64 = shape.iter().map(|&d| d.max(0) as u64).product();
    Ok(TensorHeader {
        name: name.to_string(),
        dtype: dtype as i32,
        shape,
        byte_len: elements * kind.elt_size_in_bytes() as u64,
    })
}

/// The raw little-endian bytes of `t` (moved to the CPU and made contiguous
/// first), exactly `header_of(..).byte_len` long.
pub fn tensor_bytes(t: &Tensor) -> Result<Vec<u8>, WeightsError> {
    let cpu = t
        .f_to_device(Device::Cpu)
        .and_then(|c| c.f_contiguous())
        .map_err(WeightsError::Read)?;
    let numel = cpu.numel();
    let mut bytes = vec![0u8; numel * cpu.kind().elt_size_in_bytes()];
    // copy_data_u8 copies numel elements of the tensor's own kind as bytes.
    cpu.f_copy_data_u8(&mut bytes, numel)
        .map_err(WeightsError::Read)?;
    Ok(bytes)
}

/// Rebuilds a CPU tensor from a received header and its bytes.
pub fn tensor_from_received(r: &ReceivedTensor) -> Result<Tensor, WeightsError> {
    let header = &r.header;
    let declared = validate_header(header)?;
    if r.bytes.len() as u64 != declared {
        return Err(WeightsError::ByteCount {
            name: header.name.clone(),
            declared,
            got: r.bytes.len(),
        });
    }
    let kind = Dtype::try_from(header.dtype)
        .ok()
        .and_then(kind_of)
        .ok_or_else(|| WeightsError::UnknownDtype {
            name: header.name.clone(),
        })?;
    Tensor::f_from_data_size(&r.bytes, &header.shape, kind).map_err(|source| WeightsError::Torch {
        name: header.name.clone(),
        source,
    })
}

/// Copies `tensors` into the variables of `vs`. Strict: exactly the store's
/// names, each with the store's shape and kind; nothing is copied unless all
/// of them match.
pub fn load_weights(vs: &mut VarStore, tensors: &[(String, Tensor)]) -> Result<(), WeightsError> {
    let mut given: BTreeMap<&str, &Tensor> = BTreeMap::new();
    for (name, t) in tensors {
        if given.insert(name.as_str(), t).is_some() {
            return Err(WeightsError::Duplicate(name.clone()));
        }
    }
    let mut vars = vs.variables();
    if let Some(name) = given.keys().find(|n| !vars.contains_key(**n)) {
        return Err(WeightsError::Unexpected((*name).to_string()));
    }
    let mut pairs = Vec::with_capacity(vars.len());
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    for name in names {
        let var = &vars[name];
        let src = given
            .get(name.as_str())
            .ok_or_else(|| WeightsError::Missing(name.clone()))?;
        if src.size() != var.size() {
            return Err(WeightsError::Shape {
                name: name.clone(),
                expected: var.size(),
                got: src.size(),
            });
        }
        if src.kind() != var.kind() {
            return Err(WeightsError::Kind {
                name: name.clone(),
                expected: var.kind(),
                got: src.kind(),
            });
        }
        pairs.push(name.clone());
    }
    tch::no_grad(|| {
        for name in pairs {
            let (Some(var), Some(src)) = (vars.get_mut(&name), given.get(name.as_str())) else {
                continue;
            };
            var.f_copy_(src)
                .map_err(|source| WeightsError::Torch { name, source })?;
        }
        Ok(())
    })
}

/// Writes named tensors in libtorch's `save_multi` format.
pub fn save(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), WeightsError> {
    Tensor::save_multi(tensors, path).map_err(|source| WeightsError::File {
        path: path.display().to_string(),
        source,
    })
}

/// Reads named tensors written by [`save`], sorted by name.
pub fn load(path: &Path) -> Result<Vec<(String, Tensor)>, WeightsError> {
    let mut tensors = Tensor::load_multi(path).map_err(|source| WeightsError::File {
        path: path.display().to_string(),
        source,
    })?;
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(tensors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ModelSpec;
    use serde_json::json;

    fn round_trip(name: &str, t: &Tensor) -> Tensor {
        let header = header_of(name, t).expect("supported kind");
        let bytes = tensor_bytes(t).expect("bytes");
        assert_eq!(bytes.len() as u64, header.byte_len);
        let received = ReceivedTensor { header, bytes };
        tensor_from_received(&received).expect("valid tensor")
    }

    #[test]
    fn header_and_bytes_round_trip_for_f32_f64_i64() {
        let f32s = Tensor::from_slice(&[1.5f32, -2.0, 3.25, 0.0, 1e-7, -1e30]).reshape([2, 3]);
        let f64s = Tensor::from_slice(&[std::f64::consts::PI, -1e-300, 7.0]);
        let i64s = Tensor::from_slice(&[i64::MIN, -1, 0, 1, i64::MAX, 42, 7, 8]).reshape([2, 2, 2]);
        for (name, t, dtype) in [
            ("w", &f32s, Dtype::F32),
            ("d", &f64s, Dtype::F64),
            ("i", &i64s, Dtype::I64),
        ] {
            let header = header_of(name, t).expect("supported");
            assert_eq!(header.dtype, dtype as i32);
            assert_eq!(header.shape, t.size());
            let back = round_trip(name, t);
            assert_eq!(back.kind(), t.kind());
            assert!(back.equal(t), "{name} differs after the round trip");
        }
        // Little-endian on the wire.
        let bytes = tensor_bytes(&Tensor::from_slice(&[1i64])).expect("bytes");
        assert_eq!(bytes, [1, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn non_contiguous_and_empty_tensors_round_trip() {
        let t = Tensor::arange(12, (Kind::Float, Device::Cpu))
            .reshape([3, 4])
            .transpose(0, 1);
        assert!(round_trip("t", &t).equal(&t));
        let empty = Tensor::zeros([0, 3], (Kind::Float, Device::Cpu));
        assert_eq!(round_trip("e", &empty).size(), [0, 3]);
        let scalar = Tensor::from(3.5f64);
        assert!(round_trip("s", &scalar).equal(&scalar));
    }

    #[test]
    fn received_tensor_with_lying_byte_count_is_refused() {
        let t = Tensor::from_slice(&[1.0f32, 2.0]);
        let header = header_of("w", &t).expect("supported");
        let received = ReceivedTensor {
            header,
            bytes: vec![0; 4],
        };
        let err = tensor_from_received(&received).expect_err("short");
        assert_eq!(
            err.to_string(),
            "tensor `w` carries 4 bytes but its header declares 8"
        );
    }

    fn model_store() -> VarStore {
        let spec = ModelSpec::from_json(&json!([
            {"l_type": "Linear", "structure": {"in_features": 3, "out_features": 2}}
        ]))
        .expect("valid");
        let vs = VarStore::new(Device::Cpu);
        crate::model::Model::new(&vs.root(), &spec).expect("builds");
        vs
    }

    #[test]
    fn load_weights_copies_exact_matches() {
        let mut vs = model_store();
        let w = Tensor::ones([2, 3], (Kind::Float, Device::Cpu));
        let b = Tensor::from_slice(&[5.0f32, 6.0]);
        load_weights(
            &mut vs,
            &[
                ("nnl_0_linear.weight".into(), w.shallow_clone()),
                ("nnl_0_linear.bias".into(), b.shallow_clone()),
            ],
        )
        .expect("matches");
        let now = named_tensors(&vs);
        assert!(now[0].1.equal(&b));
        assert!(now[1].1.equal(&w));
    }

    #[test]
    fn load_weights_is_strict_and_names_the_tensor() {
        let mut vs = model_store();
        let before = named_tensors(&vs)
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect::<Vec<_>>();
        let w = || Tensor::ones([2, 3], (Kind::Float, Device::Cpu));
        let b = || Tensor::zeros([2], (Kind::Float, Device::Cpu));
        let cases: Vec<(Vec<(String, Tensor)>, &str)> = vec![
            (
                vec![("nnl_0_linear.weight".into(), w())],
                "tensor `nnl_0_linear.bias` is missing",
            ),
            (
                vec![
                    ("nnl_0_linear.weight".into(), w()),
                    ("nnl_0_linear.bias".into(), b()),
                    ("extra".into(), b()),
                ],
                "the model has no tensor `extra`",
            ),
            (
                vec![
                    ("nnl_0_linear.weight".into(), w()),
                    (
                        "nnl_0_linear.bias".into(),
                        Tensor::zeros([3], (Kind::Float, Device::Cpu)),
                    ),
                ],
                "tensor `nnl_0_linear.bias` has shape [3] but the model needs [2]",
            ),
            (
                vec![
                    ("nnl_0_linear.weight".into(), w().to_kind(Kind::Double)),
                    ("nnl_0_linear.bias".into(), b()),
                ],
                "tensor `nnl_0_linear.weight` has kind Double but the model needs Float",
            ),
            (
                vec![
                    ("nnl_0_linear.bias".into(), b()),
                    ("nnl_0_linear.bias".into(), b()),
                ],
                "tensor `nnl_0_linear.bias` appears twice",
            ),
        ];
        for (tensors, message) in cases {
            let err = load_weights(&mut vs, &tensors).expect_err(message);
            assert_eq!(err.to_string(), message);
        }
        // Nothing was half-copied.
        for ((_, now), (_, then)) in named_tensors(&vs).iter().zip(&before) {
            assert!(now.equal(then));
        }
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("model.ot");
        let vs = model_store();
        let tensors = named_tensors(&vs);
        save(&path, &tensors).expect("saves");
        let back = load(&path).expect("loads");
        assert_eq!(back.len(), tensors.len());
        for ((n1, t1), (n2, t2)) in tensors.iter().zip(&back) {
            assert_eq!(n1, n2);
            assert!(t1.equal(t2));
        }
        let missing = load(&dir.path().join("nope.ot")).expect_err("no file");
        assert!(missing.to_string().contains("nope.ot"));
    }
}
