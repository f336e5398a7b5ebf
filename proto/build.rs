//! Generates the wire types into `OUT_DIR` with a vendored `protoc`, so no
//! system protobuf compiler is needed.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // Pass protoc through the config: edition 2024 makes `set_var("PROTOC")` unsafe.
    let config = || {
        let mut config = tonic_prost_build::Config::new();
        config.protoc_executable(&protoc);
        config
    };
    tonic_prost_build::configure().compile_with_config(
        config(),
        &[
            "proto/ttp/v1/tensor.proto",
            "proto/ttp/v1/session.proto",
            "proto/ttp/v1/dataplane.proto",
        ],
        &["proto"],
    )?;
    // The public API is compiled on its own so that its descriptor set (served
    // by gRPC reflection) holds only the public service.
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("ttp_control_v1_descriptor.bin"))
        .compile_with_config(config(), &["proto/ttp/v1/control.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
