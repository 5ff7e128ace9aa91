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

#[test]
fn submit_reuses_the_last_check_while_the_answer_files_are_unchanged_and_says_why_it_runs_them_otherwise() {
    // Where a student runs make: `make check` writes target/grader/report.json there.
    let here = tempfile::tempdir().unwrap();
    let student = root().join("student");
    let grader = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_grader"))
            .current_dir(here.path())
            .args(args)
            .args(["--quiet", "--crate"])
            .arg(&student)
            .output()
            .unwrap();
        (String::from_utf8_lossy(&output.stdout).to_string(), String::from_utf8_lossy(&output.stderr).to_string())
    };
    let (_, stderr) = grader(&["check", "--out", "target/grader"]);
    let report = here.path().join("target/grader/report.json");
    assert!(report.is_file(), "{stderr}");

    let (stdout, stderr) = grader(&["submit", "--student-id", "s1"]);
    assert!(stdout.contains("unchanged since the public checks of target/grader/report.json"), "{stdout}{stderr}");
    assert!(!here.path().join("target/grader/submit").exists(), "the checks ran again");
    let zip = zip::ZipArchive::new(std::fs::File::open(here.path().join("submission.zip")).unwrap());
    let manifest: Value = serde_json::from_reader(zip.unwrap().by_name("manifest.json").unwrap()).unwrap();
    assert_eq!(manifest["public_checks"]["max_score"], serde_json::json!(31.0), "{manifest}");

    // Answer files other than those the report was made from: the checks run again, and it says so.
    let mut text: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    text["metadata"]["sources_sha256"] = "0".repeat(64).into();
    std::fs::write(&report, text.to_string()).unwrap();
    let (stdout, stderr) = grader(&["submit", "--student-id", "s1", "--force"]);
    assert!(stdout.contains("they changed since your last full `make check`"), "{stdout}{stderr}");
    assert!(here.path().join("target/grader/submit/report.json").is_file(), "{stderr}");
}

/// Scripts tell a typo from a grading failure by the exit code (`grader --help` lists them), and
/// a folder that is not a graded one is refused with a reason instead of yielding an empty result.
#[test]
fn exit_codes_tell_a_wrong_command_line_from_a_grading_failure() {
    let grader =
        |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_grader")).current_dir(root()).args(args).output().unwrap();
    let typo = grader(&["chek"]);
    assert_eq!(typo.status.code(), Some(64), "{}", String::from_utf8_lossy(&typo.stderr));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("check"), "clap suggests the right command");
    let help = grader(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = String::from_utf8_lossy(&help.stdout);
    for line in [
        "  0  every check passed",
        "  1  graded, and some check did not pass",
        "  2  could not grade",
        " 64  wrong command line",
    ] {
        assert!(help.contains(line), "--help lacks {line:?}:\n{help}");
    }
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("no-such-batch");
    for args in [
        vec!["pages", missing.to_str().unwrap()],
        vec!["merge", empty.path().to_str().unwrap(), "--out", missing.to_str().unwrap()],
    ] {
        let output = grader(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("grader batch` output folder"), "{args:?}: {stderr}");
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
}

/// `grader grade --format prairielearn` writes PrairieLearn's results.json: a refused submission
/// is not gradable, with the reason as its message.
#[test]
fn prairielearn_results_say_when_a_submission_cannot_be_judged() {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("jdoe.zip");
    std::fs::write(&zip, b"PK\x03\x04 not really a zip").unwrap();
    let out = dir.path().join("results");
    let output = Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(root())
        .args(["grade", "--format", "prairielearn", "--quiet", "--out"])
        .arg(&out)
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
    let results: Value = serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["gradable"], false);
    assert_eq!(results["score"], 0.0);
    assert!(results["message"].as_str().unwrap().contains("not a readable zip archive"), "{results}");
    assert!(results["tests"].as_array().is_some_and(|t| !t.is_empty()));
}

/// The fixture reports copied into `dir/graded` with the instructor's `files` (name, text) beside
/// them: that folder, and its `correct` student's report as the grader measured it.
fn graded_fixtures(dir: &std::path::Path, files: &[(&str, &str)]) -> (std::path::PathBuf, Value) {
    let graded = dir.join("graded");
    common::copy_tree(&root().join("tests/fixtures/reports"), &graded);
    for (name, text) in files {
        std::fs::write(graded.join(name), text).unwrap();
    }
    let report = std::fs::read_to_string(graded.join("correct/report.json")).unwrap();
    (graded, serde_json::from_str(&report).unwrap())
}

/// `grader pages GRADED`.
fn pages(graded: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_grader")).arg("pages").arg(graded).output().unwrap()
}

/// An instructor's overrides (`overrides.csv` in a batch folder) reach the gradebook, the student's
/// page and the dashboard, stay applied once however often the pages are rewritten, and leave the
/// grader's own report as it measured.
#[test]
fn overrides_reach_the_gradebook_page_and_dashboard_once() {
    let dir = tempfile::tempdir().unwrap();
    let overrides = "student,target,points,reason,who,when\ncorrect,training.accuracy,-2,copied the training loop,TA Kim,2026-11-30\n";
    let (graded, raw) = graded_fixtures(dir.path(), &[("overrides.csv", overrides)]);
    for _ in 0..2 {
        let output = pages(&graded);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let rows = common::read_csv(&graded.join("grades.csv"));
        let row = rows.iter().find(|r| r[0] == "correct").unwrap();
        assert_eq!(row[6].parse::<f64>().unwrap(), raw["score"].as_f64().unwrap() - 2.0, "{row:?}");
        assert_eq!(row[11], "-2", "{row:?}");
    }
    let page = std::fs::read_to_string(graded.join("correct/report.html")).unwrap();
    assert!(page.contains("Overrides") && page.contains("copied the training loop") && page.contains("TA Kim"));
    let index = std::fs::read_to_string(graded.join("index.html")).unwrap();
    assert!(index.contains("Overrides (1)") && index.contains("copied the training loop"), "the dashboard lists it");
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(graded.join("correct/report.json")).unwrap()).unwrap();
    assert_eq!(after, raw, "report.json holds what the grader measured");
    // A mistake in the file is an error that names its line, not a silent skip.
    std::fs::write(graded.join("overrides.csv"), "student,target,points,reason,who,when\nnobody,he_init,+1,r,w,d\n")
        .unwrap();
    let output = pages(&graded);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("overrides.csv:2: no graded student `nobody`"));
}

/// A batch folder's `course.toml` (and the platform's `submitted.csv`) make a late submission
/// cost its penalty in the gradebook, on its page and on the dashboard, once.
#[test]
fn a_late_submission_costs_its_penalty_once() {
    let dir = tempfile::tempdir().unwrap();
    let course = "due = \"2026-12-01T23:59:00Z\"\ngrace = \"15m\"\npenalty_per_day = 10\n";
    let submitted = "student,submitted_at\ncorrect,2026-12-03T00:59:00Z\n";
    let (graded, raw) = graded_fixtures(dir.path(), &[("course.toml", course), ("submitted.csv", submitted)]);
    let raw = raw["score"].as_f64().unwrap();
    for _ in 0..2 {
        let output = pages(&graded);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let rows = common::read_csv(&graded.join("grades.csv"));
        let header = &rows[0];
        let row = rows.iter().find(|r| r[0] == "correct").unwrap();
        let cell = |name: &str| row[header.iter().position(|h| h == name).unwrap()].clone();
        assert_eq!(cell("penalty_percent"), "20", "two started days late: {row:?}");
        assert_eq!(cell("late_hours"), "25.00");
        assert_eq!(cell("time_source"), "platform");
        assert_eq!(cell("raw_total").parse::<f64>().unwrap(), raw);
        assert_eq!(cell("total").parse::<f64>().unwrap(), (raw * 0.8 * 100.0).round() / 100.0);
    }
    let page = std::fs::read_to_string(graded.join("correct/report.html")).unwrap();
    assert!(page.contains("id=\"lateness\"") && page.contains("−20%"), "the page states the penalty");
    let index = std::fs::read_to_string(graded.join("index.html")).unwrap();
    assert!(index.contains("Lateness (1 late)"), "the dashboard counts it");
}

/// A roster in a batch folder maps submissions to students, and the folder gets its exports: a
/// Canvas gradebook import, a long table, and who has no submission or is not on the roster.
#[test]
fn a_roster_yields_a_canvas_import_and_names_who_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let roster = "name,email,sis_id,section,canvas_id,id\nJane Doe,jdoe@uni.edu,S1,A,101,correct\nAbsent Student,absent@uni.edu,S2,B,102,\n";
    let (graded, correct) = graded_fixtures(dir.path(), &[("roster.csv", roster)]);
    let output = pages(&graded);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("roster: 2 students; without a submission: Absent Student"), "{stdout}");
    let canvas = common::read_csv(&graded.join("exports/canvas.csv"));
    assert_eq!(canvas[0], ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ResNet assignment"]);
    assert_eq!(canvas[1][..5], ["Jane Doe", "101", "S1", "jdoe@uni.edu", "A"]);
    assert_eq!(canvas[1][5].parse::<f64>().unwrap(), correct["score"].as_f64().unwrap());
    assert_eq!(canvas[2][5], "", "no submission: no grade");
    let who = common::read_csv(&graded.join("exports/roster.csv"));
    assert!(who.iter().any(|r| r[4] == "(no submission)" && r[0] == "Absent Student"));
    let strangers = who.iter().filter(|r| r[5] == "(not on the roster)").count();
    let students = std::fs::read_dir(&graded)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("report.json").is_file())
        .count();
    assert_eq!(strangers, students - 1);
    let long = common::read_csv(&graded.join("exports/long.csv"));
    assert_eq!(long[0], ["student", "check", "exercise", "score", "max_score", "status"]);
    assert!(long.iter().any(|r| r[0] == "correct" && r[1] == "training.accuracy"));
}

/// `grader similarity` ranks a renamed, reformatted copy at the top, finds byte-identical copies,
/// and gives a student who only has the handed-out stubs nothing to share.
#[test]
fn similarity_finds_disguised_and_identical_copies_but_not_the_stubs() {
    let dir = tempfile::tempdir().unwrap();
    let subs = dir.path().join("subs");
    let write = |student: &str, file: &str, text: &str| {
        let path = subs.join(student).join("src").join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    for file in ["basic_block.rs", "bottleneck.rs", "he_init.rs"] {
        let solved = grader::samples::solved(&root(), &format!("src/{file}")).unwrap();
        write("ann", file, &solved);
        write("dan", file, &solved);
        // Renamed, reformatted, recommented.
        let disguised = solved
            .replace("out", "hidden_state")
            .replace("identity", "shortcut")
            .replace("    ", "\t")
            .replace("//", "// my note:");
        write("ben", file, &disguised);
        write("cat", file, &std::fs::read_to_string(root().join("student/src").join(file)).unwrap());
    }
    let out = dir.path().join("similarity");
    let output = Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(root())
        .args(["similarity", "--threshold", "0.5", "--out"])
        .arg(&out)
        .arg(&subs)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let pairs = common::read_csv(&out.join("pairs.csv"));
    let score = |a: &str, b: &str| -> f64 {
        pairs.iter().find(|r| r[0] == a && r[1] == b).map(|r| r[2].parse().unwrap()).unwrap()
    };
    assert!(score("ann", "ben") > 0.8, "a disguised copy: {}", score("ann", "ben"));
    assert_eq!(score("ann", "dan"), 1.0);
    assert_eq!(score("ann", "cat"), 0.0, "the stubs are not evidence");
    assert!(stdout.contains("ann · ben"), "{stdout}");
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("ann, dan"), "identical files are grouped");
    let page = std::fs::read_to_string(out.join("pairs/ann--ben.html")).unwrap();
    assert!(page.matches("class=\"hit\"").count() > 20, "matched lines are highlighted");
    assert!(out.join("files/ben/basic_block.rs").is_file(), "an export for JPlag or Dolos");
}
