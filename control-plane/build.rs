//! The control plane never calls libtorch, but a workspace-wide build unifies
//! `ttp-learning`'s features and links it anyway; when `LIBTORCH` is set, embed
//! its library folder as an rpath so such a binary still starts. A build of
//! this crate alone (`cargo build -p ttp-control`, the Dockerfile) does not
//! link libtorch and needs nothing.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(libtorch) = std::env::var("LIBTORCH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{libtorch}/lib");
    }
}
