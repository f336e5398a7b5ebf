//! ttp-data
