//! Generates the wire types into `OUT_DIR` with a vendored `protoc`, so no
//! system protobuf compiler is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // Pass protoc through the config: edition 2024 makes `set_var("PROTOC")` unsafe.
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure().compile_with_config(
        config,
        &[
            "proto/ttp/v1/tensor.proto",
            "proto/ttp/v1/session.proto",
            "proto/ttp/v1/dataplane.proto",
        ],
        &["proto"],
    )?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
