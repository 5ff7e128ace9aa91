//! Tests of grading with stand-in judges, and of plans and scoring.

use super::results::result_for;
use super::*;
use crate::catalog;
use crate::run::sandbox::{ChildRun, Clock, Exit, Limits};
use std::time::Duration;

#[test]
fn a_todo_in_another_exercise_sends_the_student_to_that_exercises_file() {
    let training = catalog::find("training.runs").unwrap();
    let todo =
        |text: &str| result_for(training, Status::NotImplemented, 0.0, text.to_string(), 0.0, serde_json::Value::Null);
    let blocked = todo("not implemented yet (Exercise 1 — BasicBlock)");
    assert!(
        blocked
            .message
            .ends_with("this check runs your BasicBlock first; open src/basic_block.rs and replace its todo!()"),
        "{}",
        blocked.message
    );
    assert_eq!(blocked.hint, None, "this check's hint is about training, not the block");
    let own = todo("not implemented yet (Exercise 4 — train ResNet-18 on CIFAR-10 to more than 75% test accuracy)");
    assert!(own.message.ends_with("open src/training.rs and replace the todo!()"), "{}", own.message);
    assert!(own.hint.is_some());
}

// BEGIN HIDDEN
use super::plan::process_groups;

#[test]
fn plans_add_dependencies_and_keep_catalog_order() {
    let ids: Vec<&str> =
        plan(false, &["training.reported".to_string()]).unwrap().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["training.runs", "training.reported"]);
    let exercise: Vec<&str> = plan(true, &["he_init".to_string()]).unwrap().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(exercise, ["he_init.layers", "he_init.order", "he_init.values"]);
    assert!(plan(true, &["he_unit".to_string()]).unwrap_err().to_string().contains("no check or exercise"));
    let ids: Vec<&str> =
        plan(false, &["ablation.variants".to_string()]).unwrap().iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["ablation.runs", "ablation.variants"]);
    assert!(plan(false, &[]).unwrap().iter().all(|c| c.visibility == catalog::Visibility::Public));
    assert_eq!(plan(true, &[]).unwrap().len(), catalog::CHECKS.len());
    assert!(plan(false, &["nope".to_string()]).unwrap_err().to_string().contains("no check"));
}

#[test]
fn checks_of_one_exercise_share_a_process_unless_they_depend_on_one() {
    let groups: Vec<Vec<&str>> =
        process_groups(&plan(true, &[]).unwrap()).iter().map(|g| g.iter().map(|c| c.id.as_str()).collect()).collect();
    let sizes: Vec<(&str, usize)> = groups.iter().map(|g| (g[0], g.len())).collect();
    assert_eq!(
        sizes,
        [
            ("basic_block.shape", 8),
            ("bottleneck.shape", 8),
            ("he_init.layers", 1),
            ("training.runs", 1),
            ("training.accuracy", 1),
            ("training.reported", 1),
            ("ablation.runs", 1),
            ("ablation.measured", 1)
        ]
    );
}
// END HIDDEN

/// Writes `script` as an executable stand-in for `grader-judge` in `dir`.
fn stand_in(dir: &Path, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let runner = dir.join("runner.sh");
    std::fs::write(&runner, script).unwrap();
    std::fs::set_permissions(&runner, std::fs::Permissions::from_mode(0o755)).unwrap();
    runner
}

/// Options that grade `only` in `dir` with the stand-in `runner` (smoke profile, 20 s limit).
fn stand_in_options(dir: &Path, runner: &Path, only: &str) -> GradeOptions {
    GradeOptions {
        crate_dir: dir.to_path_buf(),
        profile: ProfileName::Smoke,
        data: None,
        hidden: false,
        only: vec![only.to_string()],
        out_dir: dir.join("out"),
        seed: 0,
        judge: Some(runner.to_path_buf()),
        worker: None,
        release: false,
        progress: false,
        trusted: false,
        pace: crate::run::pace::Pace::default(),
        max_check_seconds: Some(20),
        threads: None,
        gpu_memory_fraction: None,
        private: Vec::new(),
    }
}

/// A stand-in judge whose worker "sees CUDA" only with a writable file system, as libcuda does
/// on some GPU machines: the grader must notice and give workers a writable file system rather
/// than refuse the full profile.
#[test]
fn a_gpu_that_needs_a_writable_file_system_gets_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cifar");
    std::fs::create_dir_all(data.join("cifar-10-batches-bin")).unwrap();
    std::fs::write(data.join("cifar-10-batches-bin/test_batch.bin"), b"x").unwrap();
    let probe = dir.path().join("probe");
    let script = format!(
        r#"#!/bin/sh
read nonce
check=$(printf '%s' "$2" | sed 's/.*"check":"\([^"]*\)".*/\1/')
case "$2" in *'"task":"info"'*) check=__info ;; esac
case "$2" in *'"read_only":true'*) cuda=false ;; *) cuda=true ;; esac
touch {probe}
echo "{{\"nonce\":\"$nonce\",\"check\":\"$check\",\"outcome\":{{\"status\":\"completed\",\"score\":1,\"message\":\"ok $PYTORCH_CUDA_ALLOC_CONF\",\"details\":{{\"cuda\":$cuda,\"libtorch\":\"test\"}}}},\"worker_sandbox\":\"network and mount namespaces (stand-in)\"}}" >&3
"#,
        probe = probe.display()
    );
    let runner = stand_in(dir.path(), &script);
    let options = GradeOptions {
        profile: ProfileName::Full,
        data: Some(data),
        gpu_memory_fraction: Some(0.25),
        ..stand_in_options(dir.path(), &runner, "basic_block.shape")
    };
    let report = grade_prepared(&options, Prepared::Worker(Built::prebuilt(runner.clone()))).unwrap();
    assert_eq!(report.score, 2.0, "{:?}", report.checks);
    assert_eq!(
        report.checks[0].message, "ok per_process_memory_fraction:0.2500",
        "the GPU memory cap reaches the process"
    );
    let isolation = &report.metadata.isolation;
    if sandbox::Isolation::read_only_root() {
        assert!(isolation.contains("CUDA failed under a read-only one"), "{isolation}");
    }
}

/// A stand-in runner that reports the first check of a group and then dies: the check it never
/// reported on runs again in a process of its own and keeps its points.
#[test]
fn a_check_a_group_process_did_not_report_runs_again_alone() {
    let dir = tempfile::tempdir().unwrap();
    let script = r#"#!/bin/sh
read nonce
check=$(printf '%s' "$2" | sed 's/.*"check":"\([^"]*\)".*/\1/')
case "$2" in *'"task":"info"'*) check=__info ;; esac
case "$2" in *'"then"'*) how=grouped ;; *) how=alone ;; esac
echo "{\"nonce\":\"$nonce\",\"check\":\"$check\",\"outcome\":{\"status\":\"completed\",\"score\":1,\"message\":\"$how\"},\"elapsed_s\":0.5}" >&3
[ $how = grouped ] && kill -9 $$
exit 0
"#;
    let runner = stand_in(dir.path(), script);
    let options = GradeOptions {
        threads: Some(1),
        gpu_memory_fraction: Some(0.5),
        ..stand_in_options(dir.path(), &runner, "basic_block")
    };
    let report = grade_prepared(&options, Prepared::Worker(Built::prebuilt(runner.clone()))).unwrap();
    let seen: Vec<(&str, Status, &str)> =
        report.checks.iter().map(|c| (c.id.as_str(), c.status, c.message.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("basic_block.shape", Status::Passed, "grouped"),
            ("basic_block.shape_downsample", Status::Passed, "alone"),
            ("basic_block.outputs", Status::Passed, "alone")
        ]
    );
    assert!(report.checks[0].duration_s >= 0.5, "the first check's seconds include the process start");
}

fn run_with(exit: Exit, stderr: &str) -> ChildRun {
    ChildRun {
        isolated: false,
        messages: vec![],
        forged: 0,
        exit,
        stdout: String::new(),
        stderr: stderr.to_string(),
        duration: Duration::ZERO,
    }
}

#[test]
fn missing_results_are_explained() {
    let limits =
        Limits { time: Duration::from_secs(7), clock: Clock::Wall, memory_bytes: Some(1 << 30), processes: 10 };
    let cases = [
        (run_with(Exit::TimedOut, ""), Status::Timeout, "within 7 s"),
        (
            run_with(Exit::Signal(libc::SIGABRT), "thread 'main' has overflowed its stack"),
            Status::Error,
            "stack overflow",
        ),
        (run_with(Exit::Signal(libc::SIGABRT), "memory allocation of 80000000 bytes failed"), Status::Error, "1.0 GiB"),
        (run_with(Exit::Signal(libc::SIGABRT), "thread panicked while processing panic"), Status::Error, "inside Drop"),
        (run_with(Exit::Signal(libc::SIGABRT), ""), Status::Error, "abort"),
        (run_with(Exit::Signal(libc::SIGSEGV), ""), Status::Error, "segmentation fault"),
        (run_with(Exit::Signal(libc::SIGKILL), ""), Status::Error, "out of memory"),
        (run_with(Exit::Code(0), ""), Status::Error, "std::process::exit"),
        (run_with(Exit::Code(101), ""), Status::Error, "code 101"),
    ];
    for (run, status, fragment) in cases {
        let (got, message) = explain_missing_result(&run, &limits);
        assert_eq!(got, status, "{message}");
        assert!(message.contains(fragment), "{message:?} lacks {fragment:?}");
    }
}

#[test]
fn a_check_whose_dependency_hit_a_todo_repeats_that_todo_once_and_one_whose_dependency_crashed_is_skipped() {
    let (runs, accuracy) = (catalog::find("training.runs").unwrap(), catalog::find("training.accuracy").unwrap());
    let dependency = |status: Status, message: &str| {
        result_for(runs, status, 0.0, message.to_string(), 0.0, serde_json::Value::Null)
    };
    let todo = dependency(Status::NotImplemented, "not implemented yet (Exercise 1 — BasicBlock)");
    let blocked = super::results::blocked_by(accuracy, &todo).unwrap();
    assert_eq!(blocked.status, Status::NotImplemented);
    assert_eq!(
        blocked.message,
        "not implemented yet (Exercise 1 — BasicBlock): this check runs your BasicBlock first; open src/basic_block.rs and replace its todo!()"
    );
    let crashed = dependency(Status::Error, "panicked");
    let skipped = super::results::blocked_by(accuracy, &crashed).unwrap();
    assert_eq!(skipped.status, Status::Skipped);
    assert!(skipped.message.contains("training.runs"), "{}", skipped.message);
    assert!(super::results::blocked_by(accuracy, &dependency(Status::Failed, "low")).is_none());
}
