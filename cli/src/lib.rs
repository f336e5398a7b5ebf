//! ttp-cli
