//! End-to-end tests: grade sample submissions with the `grader` binary and compare each report
//! with the expectations written next to the submission (`tests/cases/<name>/case.json`).
//!
//! A case names a base crate (`solution` or `student`) and small patches to the solution's answer
//! files (`replace` → `with`, applied to the file as students would see it, markers removed), and
//! says, per check, the expected status, score and a fragment of the message the student must
//! see; every check it does not name must end as `others` says (normally `passed`, full marks).
//! A mismatch names the case and the check.

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Deserialize)]
struct Case {
    description: String,
    base: String,
    hidden: bool,
    max_check_seconds: Option<u64>,
    expect: BTreeMap<String, Expect>,
    others: String,
    #[serde(default)]
    patches: Vec<Patch>,
}

/// One change to a solution answer file: the case's mistake.
#[derive(Debug, Deserialize)]
struct Patch {
    file: String,
    replace: String,
    with: String,
}

#[derive(Debug, Deserialize)]
struct Expect {
    status: String,
    score: Option<f64>,
    message: Option<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A solution file without its `// BEGIN SOLUTION` / `// END SOLUTION` marker lines.
fn solved(file: &str) -> String {
    let text = std::fs::read_to_string(root().join("solution").join(file)).unwrap();
    text.split_inclusive('\n')
        .filter(|l| !matches!(l.trim(), "// BEGIN SOLUTION" | "// BEGIN SOLUTION NO PROMPT" | "// END SOLUTION"))
        .collect()
}

/// The base crate with the case's patched answer files, in a temporary folder.
fn stage(name: &str, case: &Case) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(&format!("case-{name}-")).tempdir().unwrap();
    let base = root().join(&case.base);
    std::fs::copy(base.join("Cargo.toml"), dir.path().join("Cargo.toml")).unwrap();
    copy_tree(&base.join("src"), &dir.path().join("src"));
    for patch in &case.patches {
        let text = solved(&patch.file);
        assert_eq!(
            text.matches(&patch.replace).count(),
            1,
            "case {name}: the text to replace in {} is not in the solution exactly once",
            patch.file
        );
        std::fs::write(dir.path().join(&patch.file), text.replace(&patch.replace, &patch.with)).unwrap();
    }
    dir
}

/// Grades a case and returns its report and the grader's exit code.
fn grade(name: &str) -> (Case, Value, i32) {
    let case_file = root().join("tests/cases").join(name).join("case.json");
    let case: Case = serde_json::from_str(&std::fs::read_to_string(&case_file).unwrap()).unwrap();
    let crate_dir = stage(name, &case);
    let out = crate_dir.path().join("out");
    let mut command = Command::new(env!("CARGO_BIN_EXE_grader"));
    command
        .current_dir(root())
        .args(["check", "--quiet", "--format", "gradescope", "--crate"])
        .arg(crate_dir.path())
        .arg("--out")
        .arg(&out);
    if case.hidden {
        command.arg("--hidden");
    }
    if let Some(cap) = case.max_check_seconds {
        command.args(["--max-check-seconds", &cap.to_string()]);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report_path = out.join("report.json");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap_or_else(|_| {
        panic!("case {name}: no report ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status)
    }))
    .unwrap();
    let gradescope: Value = serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(gradescope["score"], report["score"], "case {name}: Gradescope score");
    assert_eq!(gradescope["tests"].as_array().unwrap().len(), report["checks"].as_array().unwrap().len());
    (case, report, output.status.code().unwrap_or(-1))
}

/// Compares a report with the case's expectations and returns every mismatch.
fn mismatches(name: &str, case: &Case, report: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let schema: Value = serde_json::from_str(grader::schema::REPORT_SCHEMA).unwrap();
    for violation in grader::schema::validate(report, &schema) {
        problems.push(format!("{name}: report.json violates the schema: {violation}"));
    }
    let checks = report["checks"].as_array().unwrap();
    for id in case.expect.keys() {
        if !checks.iter().any(|c| c["id"] == id.as_str()) {
            problems.push(format!("{name}: {id} did not run"));
        }
    }
    for check in checks {
        let id = check["id"].as_str().unwrap();
        let (status, score, message) =
            (check["status"].as_str().unwrap(), check["score"].as_f64().unwrap(), check["message"].as_str().unwrap());
        match case.expect.get(id) {
            Some(expect) => {
                if status != expect.status {
                    problems.push(format!("{name}: {id} is {status}, expected {} ({message})", expect.status));
                }
                if let Some(want) = expect.score.filter(|w| (w - score).abs() > 1e-9) {
                    problems.push(format!("{name}: {id} scored {score}, expected {want} ({message})"));
                }
                if let Some(fragment) = expect.message.as_deref().filter(|f| !message.contains(f)) {
                    problems.push(format!("{name}: {id} says {message:?}, which lacks {fragment:?}"));
                }
            }
            None => {
                let full = check["max_score"].as_f64().unwrap();
                let ok = status == case.others && (case.others != "passed" || score == full);
                if !ok {
                    problems.push(format!(
                        "{name}: {id} is {status} ({score}/{full}), expected {}: {message}",
                        case.others
                    ));
                }
            }
        }
    }
    problems
}

fn run_case(name: &str) -> (Value, i32) {
    let (case, report, code) = grade(name);
    let problems = mismatches(name, &case, &report);
    assert!(problems.is_empty(), "case {name} ({}):\n{}", case.description, problems.join("\n"));
    let expected_code =
        if report["checks"].as_array().unwrap().iter().all(|c| c["status"] == "passed") { 0 } else { 1 };
    assert_eq!(code, expected_code, "case {name}: exit code");
    (report, code)
}

/// The stable part of a report: what each check concluded, not how long it took or what it measured.
fn shape(report: &Value) -> Value {
    let checks: Vec<Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| serde_json::json!({"id": c["id"], "exercise": c["exercise"], "status": c["status"], "score": c["score"], "max_score": c["max_score"], "visibility": c["visibility"]}))
        .collect();
    serde_json::json!({
        "schema_version": report["schema_version"],
        "score": report["score"],
        "max_score": report["max_score"],
        "hidden_checks_included": report["hidden_checks_included"],
        "exercises": report["exercises"],
        "checks": checks,
        "metadata_keys": report["metadata"].as_object().unwrap().keys().collect::<Vec<_>>(),
    })
}

#[test]
fn correct_solution_scores_full_marks() {
    let (report, _) = run_case("correct");
    assert_eq!(report["score"], 65.0);
    assert_eq!(report["metadata"]["profile"], "smoke");
    assert_eq!(report["metadata"]["sources_sha256"].as_str().unwrap().len(), 64);
    insta::assert_json_snapshot!("correct_report_shape", shape(&report));
}

#[test]
fn untouched_stubs_score_zero_with_every_exercise_not_implemented() {
    let (report, _) = run_case("todo_left");
    assert_eq!(report["score"], 0.0);
    for exercise in report["exercises"].as_array().unwrap() {
        assert_eq!(exercise["status"], "not_implemented", "{exercise}");
    }
}

#[test]
fn relu_before_add_loses_exactly_the_numerics_points() {
    let (report, _) = run_case("relu_before_add");
    let block = report["exercises"].as_array().unwrap().iter().find(|e| e["id"] == "basic_block").unwrap().clone();
    assert_eq!((block["score"].as_f64(), block["max_score"].as_f64()), (Some(8.0), Some(15.0)));
}

#[test]
fn stride_on_the_wrong_conv_keeps_the_shape_points() {
    run_case("stride_on_conv2");
}

#[test]
fn a_reported_but_unmeasured_accuracy_scores_zero_on_training() {
    let (report, _) = run_case("fake_accuracy");
    let training = report["exercises"].as_array().unwrap().iter().find(|e| e["id"] == "training").unwrap().clone();
    assert_eq!(training["score"], 0.0);
}

#[test]
fn a_looping_and_an_aborting_check_do_not_stop_the_others() {
    run_case("loop_and_abort");
}

#[test]
fn a_block_without_skip_connection_loses_numerics_skip_and_gradient_points() {
    run_case("skip_missing");
}

#[test]
fn a_missing_final_relu_is_named() {
    run_case("relu_missing_after_add");
}

#[test]
fn bottleneck_v1_stride_loses_only_the_numerics_points() {
    run_case("bottleneck_stride_on_conv1");
}

#[test]
fn he_init_with_batchnorm_outputs_loses_the_layer_set_points() {
    run_case("he_init_includes_batchnorm");
}

#[test]
fn he_init_in_training_mode_loses_the_value_points() {
    run_case("he_init_train_mode");
}

#[test]
fn he_init_without_the_linear_layer_is_named() {
    run_case("he_init_skips_linear");
}

#[test]
fn an_ablation_without_variants_loses_the_variant_points() {
    run_case("ablation_without_variants");
}

#[test]
fn every_case_folder_has_a_test() {
    let source = std::fs::read_to_string(root().join("tests/e2e.rs")).unwrap();
    for entry in std::fs::read_dir(root().join("tests/cases")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(source.contains(&format!("run_case(\"{name}\")")), "tests/cases/{name} is never graded");
    }
}
