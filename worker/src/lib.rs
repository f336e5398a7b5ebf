//! ttp-worker
