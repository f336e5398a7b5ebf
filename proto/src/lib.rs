//! Wire types shared by the control plane, the data plane and the workers: the
//! generated protobuf messages plus the chunked tensor transfer that every
//! weights exchange goes through.

pub mod transfer;

/// Generated from `proto/ttp/v1/*.proto`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("ttp.v1");
}

/// Version spoken on the worker websocket; a worker with another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// Default payload size of one weights chunk (4 MiB).
pub const DEFAULT_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Largest websocket frame either side accepts: one chunk plus framing headroom.
pub const MAX_FRAME_BYTES: usize = DEFAULT_CHUNK_BYTES + 64 * 1024;
