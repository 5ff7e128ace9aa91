//! End-to-end test of `grader check` (what `make check` runs) on the untouched student crate: the
//! single-crate path, its exit code and its Gradescope file. The graded corpus of correct, buggy
//! and hostile submissions is `tests/corpus.rs`.

mod common;
use common::root;
use serde_json::Value;
use std::process::Command;

#[test]
fn untouched_stubs_score_zero_with_every_exercise_not_implemented() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(root())
        .args(["check", "--quiet", "--hidden", "--format", "gradescope", "--crate", "student", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap()).unwrap();
    assert_eq!(report["score"], 0.0);
    for exercise in report["exercises"].as_array().unwrap() {
        assert_eq!(exercise["status"], "not_implemented", "{exercise}");
    }
    for check in report["checks"].as_array().unwrap() {
        let message = check["message"].as_str().unwrap();
        assert!(message.contains("todo!()") || check["status"] == "skipped", "{}: {message}", check["id"]);
    }
    let gradescope: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("results.json")).unwrap()).unwrap();
    assert_eq!(gradescope["score"], report["score"]);
    assert_eq!(gradescope["tests"].as_array().unwrap().len(), report["checks"].as_array().unwrap().len());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("All checks passed"), "{stdout}");
}
