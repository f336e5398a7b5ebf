//! Embeds libtorch's library folder as an rpath so test binaries run without
//! `LD_LIBRARY_PATH` (torch-sys exports the folder only to direct dependents).

fn main() {
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
