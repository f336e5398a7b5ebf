//! The machine-learning core: the Synergos JSON layer spec, run
//! hyper-parameters, local training with FedAvg/FedProx, sample-weighted
//! aggregation and evaluation metrics.
//!
//! `spec`, `hyper` and `metrics` are pure and always built (the control plane
//! uses them without libtorch); everything that needs libtorch sits behind the
//! default `torch` feature.

pub mod hyper;
pub mod metrics;
pub mod spec;

#[cfg(feature = "torch")]
pub mod aggregate;
#[cfg(feature = "torch")]
pub mod evaluate;
#[cfg(feature = "torch")]
mod loss;
#[cfg(feature = "torch")]
pub mod model;
#[cfg(feature = "torch")]
mod rng;
#[cfg(feature = "torch")]
pub mod train;
#[cfg(feature = "torch")]
pub mod weights;

/// The first line of a libtorch error: its C++ backtrace is noise in a
/// message that may travel to the server and to users.
#[cfg(feature = "torch")]
pub(crate) fn torch_message(error: &tch::TchError) -> String {
    error
        .to_string()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}
