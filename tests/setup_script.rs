//! `scripts/setup.sh` refuses a wrong libtorch with one clear sentence, and accepts a right one
//! without touching the network. Runs the script on a copy of itself in a temporary folder, so the
//! repository's own `.cargo/config.toml` is never changed.

mod common;
use common::root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch "repository" holding scripts/setup.sh, and a fake libtorch of `version` (if any).
fn fixture(version: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    std::fs::copy(root().join("scripts/setup.sh"), dir.path().join("scripts/setup.sh")).unwrap();
    let libtorch = dir.path().join("libtorch");
    std::fs::create_dir_all(libtorch.join("lib")).unwrap();
    if let Some(version) = version {
        std::fs::write(libtorch.join("lib/libtorch_cpu.so"), b"").unwrap();
        std::fs::write(libtorch.join("version.py"), format!("__version__ = '{version}'\n")).unwrap();
    }
    (dir, libtorch)
}

fn setup(dir: &Path, libtorch: &Path) -> (bool, String) {
    let output = Command::new("bash").arg(dir.join("scripts/setup.sh")).env("LIBTORCH", libtorch).output().unwrap();
    (
        output.status.success(),
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)),
    )
}

#[test]
fn a_folder_without_libtorch_is_refused() {
    let (dir, libtorch) = fixture(None);
    let (ok, text) = setup(dir.path(), &libtorch);
    assert!(!ok);
    assert!(text.contains("does not hold lib/libtorch_cpu.so") && text.contains("2.11.0"), "{text}");
    assert!(!dir.path().join(".cargo/config.toml").exists());
}

#[test]
fn a_libtorch_of_another_version_is_refused() {
    let (dir, libtorch) = fixture(Some("2.10.0+cpu"));
    let (ok, text) = setup(dir.path(), &libtorch);
    assert!(!ok);
    assert!(text.contains("is 2.10.0+cpu, but tch 0.24 needs 2.11.0 exactly"), "{text}");
}

#[test]
fn the_right_libtorch_is_written_to_the_cargo_config() {
    let (dir, libtorch) = fixture(Some("2.11.0+cu130"));
    let (ok, text) = setup(dir.path(), &libtorch);
    assert!(ok, "{text}");
    let config = std::fs::read_to_string(dir.path().join(".cargo/config.toml")).unwrap();
    assert!(config.contains(&format!("LIBTORCH = \"{}\"", libtorch.canonicalize().unwrap().display())), "{config}");
}
