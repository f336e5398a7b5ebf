//! `ttp`, the driver: turns commands into the control plane's Synergos REST
//! calls, shows progress while jobs run, and prints tables or JSON.

pub mod args;
pub mod client;
pub mod commands;
pub mod output;
pub mod paths;
pub mod progress;

pub use args::Cli;
