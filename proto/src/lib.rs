//! Wire types shared by the control plane, the data plane and the workers: the
//! generated protobuf messages plus the chunked tensor transfer that every
//! weights exchange goes through, and the control plane's public gRPC API.

pub mod transfer;

/// Generated from the internal protocols: `tensor`, `session` and `dataplane.proto`.
pub mod v1 {
    #![allow(clippy::all, missing_docs)]
    tonic::include_proto!("ttp.v1");
}

/// The control plane's public gRPC API, generated from `proto/ttp/v1/control.proto`.
pub mod control {
    pub mod v1 {
        #![allow(clippy::all, missing_docs)]
        tonic::include_proto!("ttp.control.v1");

        /// The encoded `FileDescriptorSet` of `control.proto`, for gRPC reflection.
        pub const FILE_DESCRIPTOR_SET: &[u8] =
            tonic::include_file_descriptor_set!("ttp_control_v1_descriptor");
    }
}

/// Version spoken on the worker websocket; a worker with another version is refused.
pub const PROTOCOL_VERSION: u32 = 1;

/// Default payload size of one weights chunk (4 MiB).
pub const DEFAULT_CHUNK_BYTES: usize = 4 * 1024 * 1024;

/// Largest websocket frame either side accepts: one chunk plus framing headroom.
pub const MAX_FRAME_BYTES: usize = DEFAULT_CHUNK_BYTES + 64 * 1024;
