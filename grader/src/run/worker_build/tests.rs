//! Tests of worker builds: staging, first errors, confinement.

use super::stage::{SHARED_CRATES, stage_worker, standalone_manifest};
use super::*;
use toml_edit::Item;

#[test]
fn first_errors_keeps_the_first_three_error_blocks() {
    let log = "   Compiling x\nerror[E0425]: cannot find value `y`\n --> src/a.rs:1:1\n  |\n\nwarning: unused\nerror: expected `;`\n --> src/b.rs:2:2\n\nerror[E1]: a\n\nerror[E2]: b\n\nerror: could not compile `x`\n";
    let first = first_errors(log);
    assert!(first.starts_with("error[E0425]: cannot find value `y`\n --> src/a.rs:1:1"), "{first}");
    assert!(
        first.contains("error: expected `;`")
            && first.contains("error[E1]")
            && !first.contains("error[E2]")
            && !first.contains("could not compile")
    );
}

#[test]
fn build_errors_point_at_the_students_own_files() {
    let staging = Path::new("/work/target/grader/workers/ab12");
    let log = "error[E0425]: cannot find value `y` in this scope\n  --> graded/src/basic_block.rs:43:20\n   |\nnote: defined here\n  ::: /work/target/grader/workers/ab12/graded/src/layers.rs:9:1\n";
    let shown = in_students_crate(log, staging, Path::new("student/src"));
    assert!(shown.contains("  --> student/src/basic_block.rs:43:20"), "{shown}");
    assert!(shown.contains("  ::: student/src/layers.rs:9:1"), "{shown}");
    assert!(!shown.contains("graded"), "{shown}");
}

#[test]
fn manifests_become_standalone() {
    let root: DocumentMut = "[workspace.package]\nversion = \"1.2.3\"\nedition = \"2024\"\n[workspace.dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\nanyhow = \"1\"\n[profile.dev]\ndebug = 0\n".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("Cargo.toml");
    std::fs::write(&manifest, "[package]\nname = \"x\"\nversion.workspace = true\nedition.workspace = true\nbuild = \"../b.rs\"\n[dependencies]\nserde = { workspace = true, optional = true }\nanyhow.workspace = true\nlocal = { path = \"../local\" }\n[dev-dependencies]\nproptest = \"1\"\n").unwrap();
    let doc = standalone_manifest(&manifest, &root, "renamed", true).unwrap();
    assert_eq!(doc["package"]["name"].as_str(), Some("renamed"));
    assert_eq!(doc["package"]["version"].as_str(), Some("1.2.3"));
    assert_eq!(doc["package"]["build"].as_str().unwrap(), dir.path().join("../b.rs").display().to_string());
    let serde = doc["dependencies"]["serde"].as_inline_table().unwrap();
    assert_eq!(serde.get("version").unwrap().as_str(), Some("1"));
    assert_eq!(serde.get("optional").unwrap().as_bool(), Some(true));
    assert!(serde.get("workspace").is_none());
    assert_eq!(doc["dependencies"]["anyhow"]["version"].as_str(), Some("1"));
    assert!(doc["dependencies"]["local"]["path"].as_str().unwrap().starts_with('/'));
    assert!(doc.get("dev-dependencies").is_none() && doc.get("workspace").is_some());
    assert_eq!(doc["profile"]["dev"]["debug"].as_integer(), Some(0));
}

/// The graded crate's and the worker's dependencies on the shared crates (plots, wire) point at
/// their staged copies, which the build may read and not write; the workspace's own folders stay
/// hidden from it.
#[test]
fn shared_crates_are_staged_and_read_only_to_the_build() {
    let workspace = Workspace::locate().unwrap();
    let staging = tempfile::tempdir().unwrap();
    stage_worker(&workspace, &workspace.root.join("student"), staging.path(), "staging-test").unwrap();
    let graded = read_manifest(&staging.path().join("graded/Cargo.toml")).unwrap();
    let worker = read_manifest(&staging.path().join("Cargo.toml")).unwrap();
    let path_of = |manifest: &DocumentMut, package: &str| -> PathBuf {
        let deps = manifest["dependencies"].as_table_like().unwrap();
        let (_, dep) =
            deps.iter().find(|(name, d)| d.get("package").and_then(Item::as_str).unwrap_or(name) == package).unwrap();
        PathBuf::from(dep.get("path").and_then(Item::as_str).unwrap())
    };
    let target = workspace.target_dir().join("grader/worker-target");
    let allowed = build_allow_list(&workspace, staging.path(), &target);
    for (manifest, package) in [(&graded, "resnet-lab-plots"), (&worker, "resnet-lab-wire")] {
        let stage = SHARED_CRATES.iter().find(|s| s.package == package).unwrap().stage(&workspace);
        assert_eq!(path_of(manifest, package), stage, "{package}");
        assert!(stage.join("src/lib.rs").is_file() && stage.join("Cargo.toml").is_file(), "{package} is staged");
        if let Some(allowed) = &allowed {
            assert!(allowed.read.contains(&stage) && !allowed.write.iter().any(|w| stage.starts_with(w)), "{package}");
        }
    }
    let view = build_view(&workspace, staging.path(), &[]);
    for own in ["solution", "plots", "grader"] {
        assert!(view.hide.contains(&workspace.root.join(own)), "{own} is hidden: {:?}", view.hide);
    }
}
