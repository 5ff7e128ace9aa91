//! Build script shared by every crate that produces binaries or test binaries linked to libtorch.
//!
//! tch's own build script embeds libtorch's library path and keeps `libtorch_cuda` linked, but its
//! `rustc-link-arg`s only reach tch's own targets. Without this script our binaries either fail to
//! start (`libtorch_cpu.so: cannot open shared object file`) or silently lose CUDA, because rustc
//! links with `--as-needed` and nothing calls into `libtorch_cuda` directly.
//! See ../shared/TOOLCHAIN.md ("Two linking traps").

use std::path::Path;

fn main() {
    // Only the environment matters (a path-based rerun-if-changed would be stale forever when this
    // script is used from a generated manifest elsewhere).
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        println!("cargo:warning=DEP_TCH_LIBTORCH_LIB is not set; run `make setup` first");
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    // The GPU machines keep torch in a Python venv of their own; a second rpath lets a binary built
    // here start there without LD_LIBRARY_PATH.
    println!("cargo:rustc-link-arg=-Wl,-rpath,/opt/torch/.venv/lib/python3.12/site-packages/torch/lib");
    let version = std::fs::read_to_string(Path::new(&lib).join("../version.py"))
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| l.strip_prefix("__version__ = '").map(|v| v.trim_end_matches('\'').to_string()))
        })
        .or_else(|| {
            std::fs::read_to_string(Path::new(&lib).join("../build-version")).ok().map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=RESNET_LAB_LIBTORCH_VERSION={version}");
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
