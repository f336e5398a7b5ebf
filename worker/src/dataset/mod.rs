//! Dataset loading (in progress).
