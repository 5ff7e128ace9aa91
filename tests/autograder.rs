//! The Gradescope bundle: `grader autograder` writes it, and its `run_autograder` grades a
//! submission in a simulated `/autograder` layout (a temporary folder) into `results/results.json`.

mod common;
use common::root;
use std::path::Path;
use std::process::Command;

/// Two quick checks: a solved one and one the flat submission leaves not implemented.
const CHEAP_CHECKS: &str = "--only basic_block.shape --only he_init.layers --max-check-seconds 60";

fn run_autograder(autograder: &Path, grader: &str) -> serde_json::Value {
    run_autograder_with(autograder, grader, &[])
}

fn run_autograder_with(autograder: &Path, grader: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let status = Command::new("bash")
        .arg(root().join("packaging/gradescope/run_autograder"))
        .env("AUTOGRADER_ROOT", autograder)
        .env("RESNET_LAB_GRADER", grader)
        .env("GRADER_FLAGS", CHEAP_CHECKS)
        .envs(env.iter().copied())
        .status()
        .unwrap();
    assert!(status.success(), "run_autograder always exits 0");
    serde_json::from_str(&std::fs::read_to_string(autograder.join("results/results.json")).unwrap()).unwrap()
}

#[test]
fn the_bundle_holds_the_scripts_and_the_sources() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(root())
        .args(["autograder", "--out"])
        .arg(out.path())
        .status()
        .unwrap();
    assert!(status.success());
    let mut zip = zip::ZipArchive::new(std::fs::File::open(out.path().join("autograder.zip")).unwrap()).unwrap();
    for (name, executable) in [
        ("setup.sh", true),
        ("run_autograder", true),
        ("source/Cargo.toml", false),
        ("source/grader/src/catalog/hidden.rs", false), // the instructor's bundle has the hidden checks
    ] {
        let entry = zip.by_name(name).unwrap_or_else(|_| panic!("{name} missing"));
        assert_eq!(entry.unix_mode().unwrap() & 0o111 != 0, executable, "{name}");
    }
    assert!(zip.file_names().all(|n| !n.contains("target/") && !n.contains(".venv/")));
}

/// A flat submission of a solved BasicBlock in a simulated `/autograder`.
fn flat_submission(dir: &Path) -> std::path::PathBuf {
    let autograder = dir.join("autograder");
    std::fs::create_dir_all(autograder.join("submission")).unwrap();
    let solved: String = std::fs::read_to_string(root().join("solution/src/basic_block.rs"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().starts_with("// BEGIN SOLUTION") && !l.trim().starts_with("// END SOLUTION"))
        .map(|l| format!("{l}\n"))
        .collect();
    // Gradescope puts the uploaded files flat in /autograder/submission.
    std::fs::write(autograder.join("submission/basic_block.rs"), solved).unwrap();
    autograder
}

/// Inside Docker's default profile (Gradescope) no namespace can be made: the worker runs without,
/// and the grade is the same.
#[test]
fn run_autograder_grades_without_namespaces() {
    let dir = tempfile::tempdir().unwrap();
    let autograder = flat_submission(dir.path());
    let results =
        run_autograder_with(&autograder, env!("CARGO_BIN_EXE_grader"), &[("RESNET_LAB_CONFINEMENT", "plain")]);
    assert_eq!(results["score"], 2.0, "{results}");
}

/// Where not even seccomp or a uid of its own can be set up for the worker, `grader grade` refuses
/// (Gradescope's page says why); an instructor who trusts the submissions may still grade them, and
/// the report says they ran unprotected.
#[test]
fn grading_refuses_where_no_protection_can_be_set_up_unless_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let autograder = flat_submission(dir.path());
    let grader = env!("CARGO_BIN_EXE_grader");
    let refused = run_autograder_with(&autograder, grader, &[("RESNET_LAB_CONFINEMENT", "none")]);
    assert_eq!(refused["score"], 0, "{refused}");
    let output = refused["output"].as_str().unwrap();
    assert!(output.contains("refusing to grade") && output.contains("--trusted-submissions"), "{output}");
    let flags = format!("{CHEAP_CHECKS} --trusted-submissions");
    let trusted =
        run_autograder_with(&autograder, grader, &[("RESNET_LAB_CONFINEMENT", "none"), ("GRADER_FLAGS", &flags)]);
    assert_eq!(trusted["score"], 2.0, "{trusted}");
}

/// Without bubblewrap or namespaces (Gradescope's Docker), Landlock keeps the build from reading
/// the solution: `include_str` called by name through a macro, which the text filter does not
/// see, finds nothing, and nothing of the solution reaches the student.
#[test]
fn without_namespaces_the_build_cannot_read_the_solution() {
    if !grader::run::sandbox::available_protections().landlock {
        eprintln!("skipped: this kernel has no Landlock");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let autograder = flat_submission(dir.path());
    // The solution's answer without its header (which names the exercise the leak is recognized by).
    let solution: String = std::fs::read_to_string(root().join("solution/src/he_init.rs"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("//!"))
        .map(|l| format!("{l}\n"))
        .collect();
    let signature = "pub fn layer_output_variances(model: &dyn ModuleT, input: &Tensor) -> Vec<LayerVariance> {\n";
    assert!(solution.contains(signature));
    let stealing = solution.replace(signature, &format!("{signature}    panic!(\"{{}}\", STOLEN);\n"))
        + concat!(
            "macro_rules! expand {\n    ($m:ident, $($t:tt)*) => {\n        $m!($($t)*)\n    };\n}\n",
            "const STOLEN: &str = expand!(include_str, concat!(\"../../../../../../\", \"solution/src/he_init.rs\"));\n"
        );
    std::fs::write(autograder.join("submission/he_init.rs"), stealing).unwrap();
    let flags = "--only he_init.layers --max-check-seconds 60";
    let results = run_autograder_with(
        &autograder,
        env!("CARGO_BIN_EXE_grader"),
        &[("RESNET_LAB_CONFINEMENT", "plain"), ("GRADER_FLAGS", flags)],
    );
    let text = results.to_string();
    assert!(!text.contains("He-initialization variance check"), "the solution leaked: {text}");
    assert!(text.contains("couldn't read"), "{text}");
}

/// Without namespaces the worker keeps what holds without them, and the report names it.
#[test]
fn a_worker_without_namespaces_keeps_seccomp_limits_and_its_uid() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(root())
        .env("RESNET_LAB_CONFINEMENT", "plain")
        .args(["check", "--crate", "solution", "--only", "basic_block.shape", "--quiet", "--out"])
        .arg(out.path())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("report.json")).unwrap()).unwrap();
    let isolation = report["metadata"]["isolation"].as_str().unwrap();
    for fragment in ["no namespaces", "no_new_privs", "seccomp (", "file size"] {
        assert!(isolation.contains(fragment), "{fragment} missing: {isolation}");
    }
    // Landlock's allow-list stands in for bubblewrap's view where the kernel has it.
    assert_eq!(
        isolation.contains("Landlock: an allow-list view"),
        grader::run::sandbox::available_protections().landlock,
        "{isolation}"
    );
    // SAFETY: a plain syscall.
    if unsafe { libc::geteuid() } == 0 {
        assert!(isolation.contains("without capabilities"), "{isolation}");
    }
}

#[test]
fn run_autograder_grades_a_flat_submission_into_results_json() {
    let dir = tempfile::tempdir().unwrap();
    let autograder = flat_submission(dir.path());
    let results = run_autograder(&autograder, env!("CARGO_BIN_EXE_grader"));
    assert_eq!(results["score"], 2.0, "{results}");
    let tests = results["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 2);
    assert_eq!(tests[0]["status"], "passed");
    assert_eq!(tests[1]["status"], "failed");
    assert!(tests[1]["output"].as_str().unwrap().contains("not implemented"), "{results}");
}

#[test]
fn a_grader_that_cannot_run_still_leaves_a_result() {
    let dir = tempfile::tempdir().unwrap();
    let autograder = dir.path().join("autograder");
    std::fs::create_dir_all(autograder.join("submission")).unwrap();
    let results = run_autograder(&autograder, "/nonexistent/grader");
    assert_eq!(results["score"], 0);
    assert!(results["output"].as_str().unwrap().contains("could not grade"), "{results}");
}

/// PrairieLearn's grade.sh in a simulated `/grade`: the flat submission's results as PrairieLearn
/// reads them, and a grader that cannot run leaves a not-gradable result, not nothing.
#[test]
fn prairielearn_grades_a_flat_submission_and_reports_when_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let grade = |root: &Path, grader: &str| -> serde_json::Value {
        let status = Command::new("bash")
            .arg(common::root().join("packaging/prairielearn/grade.sh"))
            .env("GRADE_ROOT", root)
            .env("RESNET_LAB_SOURCE", common::root())
            .env("RESNET_LAB_GRADER", grader)
            .env("GRADER_FLAGS", CHEAP_CHECKS)
            .status()
            .unwrap();
        assert!(status.success(), "grade.sh always exits 0");
        serde_json::from_str(&std::fs::read_to_string(root.join("results/results.json")).unwrap()).unwrap()
    };
    // PrairieLearn puts the student's files in /grade/student.
    let root = dir.path().join("grade");
    let autograder = flat_submission(dir.path());
    std::fs::create_dir_all(root.join("student")).unwrap();
    std::fs::copy(autograder.join("submission/basic_block.rs"), root.join("student/basic_block.rs")).unwrap();
    let results = grade(&root, env!("CARGO_BIN_EXE_grader"));
    assert_eq!(results["gradable"], true, "{results}");
    let score = results["score"].as_f64().unwrap();
    assert!((score - 2.0 / 5.0).abs() < 1e-9, "2 of 5 points as a fraction: {results}");
    assert_eq!(results["tests"].as_array().unwrap().len(), 2);
    let broken = dir.path().join("broken");
    std::fs::create_dir_all(broken.join("student")).unwrap();
    let results = grade(&broken, "/nonexistent/grader");
    assert_eq!(results["gradable"], false);
    assert!(results["message"].as_str().unwrap().contains("could not grade"), "{results}");
}

#[test]
fn the_prairielearn_image_folder_holds_its_dockerfile_and_the_sources() {
    let out = tempfile::tempdir().unwrap();
    let folder = out.path().join("pl");
    let status = Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(root())
        .args(["autograder", "--platform", "prairielearn", "--out"])
        .arg(&folder)
        .status()
        .unwrap();
    assert!(status.success());
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("info.json")).unwrap()).unwrap();
    assert_eq!(info["externalGradingOptions"]["entrypoint"], "/opt/resnet-lab/packaging/prairielearn/grade.sh");
    assert!(std::fs::read_to_string(folder.join("Dockerfile")).unwrap().contains("COPY source /opt/resnet-lab"));
    for file in ["source/packaging/prairielearn/grade.sh", "source/grader/src/catalog/hidden.rs", "source/Cargo.lock"] {
        assert!(folder.join(file).is_file(), "{file} missing");
    }
}
