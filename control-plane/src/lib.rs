//! ttp-control
