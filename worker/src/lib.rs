//! The worker that runs at each participant: it dials the data plane, reads
//! the participant's datasets in the Synergos layout, trains and evaluates
//! locally, and sends back only weights, sample counts, losses and metrics.

pub mod config;
pub mod connection;
pub mod data;
pub mod dataset;
pub mod tasks;
pub mod work;

pub use config::Config;
pub use connection::run;
