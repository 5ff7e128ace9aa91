//! Tests of worker builds: staging, first errors, confinement.

use super::stage::standalone_manifest;
use super::*;

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
