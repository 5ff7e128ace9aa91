//! End-to-end tests of `grader batch` and `grader merge` over the sample submissions written by
//! `grader samples` (correct, untouched, half-done, not compiling, corrupt,
//! zip-slip, zip bomb, looping). A subset of checks keeps them quick; every kind of outcome shows.

mod common;
use common::{digest, read_csv, root};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

const CHECKS: [&str; 3] = ["basic_block.shape", "bottleneck.shape", "he_init.layers"];

fn samples(dir: &Path, keep: &[&str]) {
    let status =
        Command::new(env!("CARGO_BIN_EXE_grader")).current_dir(root()).arg("samples").arg(dir).status().unwrap();
    assert!(status.success());
    if !keep.is_empty() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !keep.iter().any(|k| name.starts_with(k)) {
                if path.is_dir() { std::fs::remove_dir_all(path).unwrap() } else { std::fs::remove_file(path).unwrap() }
            }
        }
    }
}

fn batch(submissions: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_grader"));
    command.current_dir(root()).arg("batch").arg(submissions).arg("--out").arg(out).args([
        "--public-only",
        "--quiet",
        "--max-check-seconds",
        "20",
    ]);
    for check in CHECKS {
        command.args(["--only", check]);
    }
    command.args(extra);
    command
}

/// grades.csv as student → row (field list), points-possible row included.
fn grades(out: &Path) -> BTreeMap<String, Vec<String>> {
    let mut records = read_csv(&out.join("grades.csv")).into_iter();
    assert_eq!(
        records.next().unwrap().join(","),
        "student,basic_block,bottleneck,he_init,training,ablation,total,max,status,reason,source,override,raw_total,submitted_at,time_source,late_hours,penalty_percent"
    );
    records.map(|fields| (fields[0].clone(), fields)).collect()
}

#[test]
fn a_mixed_folder_gets_the_right_row_for_every_submission() {
    let dir = tempfile::tempdir().unwrap();
    let (submissions, out) = (dir.path().join("submissions"), dir.path().join("out"));
    samples(&submissions, &[]);
    // A name in another script, and one a spreadsheet would run as a formula (both refused fast:
    // copies of the corrupt sample).
    for name in ["李.zip", "=HYPERLINK(1).zip"] {
        std::fs::copy(submissions.join("erin_corrupt.zip"), submissions.join(name)).unwrap();
    }
    let before = digest(&submissions);
    let _ = std::fs::remove_file("/tmp/pwned");
    let output = batch(&submissions, &out, &[]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rows = grades(&out);
    let expect = |student: &str, total: &str, status: &str, reason: &str| {
        let row = &rows[student];
        assert_eq!((row[6].as_str(), row[8].as_str()), (total, status), "{student}: {row:?}");
        assert!(row[9].contains(reason), "{student}: reason {:?} lacks {reason:?}", row[9]);
    };
    assert_eq!(rows["POINTS POSSIBLE"][6], "65");
    expect("alice_correct", "7", "graded", "");
    expect("bob_untouched", "0", "graded", "not implemented yet");
    expect("carol_half_done", "4", "graded", "he_init.layers: not implemented yet");
    expect("dave_no_compile", "0", "does_not_compile", "error");
    expect("erin_corrupt", "0", "refused", "not a readable zip archive");
    expect("frank_zip_slip", "0", "refused", "climbs out of the archive");
    expect("gina_zip_bomb", "0", "refused", "the limit per file");
    expect("hank_loops", "4", "graded_with_timeouts", "20 s of computation");
    expect("李", "0", "refused", "not a readable zip archive");
    assert_eq!(rows["李"][10], "李.zip", "the row names the file it came from");
    assert_eq!(rows["alice_correct"][10], "alice_correct.zip");
    assert_eq!(rows["_HYPERLINK_1_"][10], "'=HYPERLINK(1).zip", "a formula is neutralized");
    assert_eq!(rows.len(), 11);
    // The submission's build.rs never ran, the submissions are untouched, and the output folder
    // holds only the gradebook, the exports and one folder per student.
    assert!(!Path::new("/tmp/pwned").exists());
    assert_eq!(digest(&submissions), before);
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names.len(), 14, "{names:?}");
    for file in ["grades.csv", "check_stats.csv", "index.html", "exports"] {
        assert!(names.contains(&file.to_string()), "{file} missing: {names:?}");
    }
    assert!(out.join("alice_correct/report.html").is_file());
    let alice: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("alice_correct/report.json")).unwrap()).unwrap();
    assert_eq!(alice["submission"]["ignored"], serde_json::json!(["alice-hw3/Cargo.toml", "alice-hw3/build.rs"]));
    assert!(out.join("dave_no_compile/build.log").is_file());
    let stats = std::fs::read_to_string(out.join("check_stats.csv")).unwrap();
    assert!(stats.lines().any(|l| l.starts_with("he_init.layers,he_init,3,10,")), "{stats}");
}

#[test]
fn a_killed_batch_resumes_without_regrading() {
    let dir = tempfile::tempdir().unwrap();
    let (submissions, out) = (dir.path().join("submissions"), dir.path().join("out"));
    samples(&submissions, &["bob", "carol", "erin", "dave"]);
    let mut child = batch(&submissions, &out, &[]).process_group(0).spawn().unwrap();
    let first = out.join("bob_untouched/grading-key.txt");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while !first.exists() {
        assert!(std::time::Instant::now() < deadline, "the batch never finished its first submission");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
    let graded_first = std::fs::metadata(out.join("bob_untouched/report.json")).unwrap().modified().unwrap();
    let output = batch(&submissions, &out, &[]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("already graded earlier"), "{text}");
    assert_eq!(
        std::fs::metadata(out.join("bob_untouched/report.json")).unwrap().modified().unwrap(),
        graded_first,
        "bob was graded again"
    );
    assert_eq!(grades(&out).len(), 5);
    // --regrade-status grades again only the submissions whose reports ended so.
    let regrade = |statuses: &str| {
        let output = batch(&submissions, &out, &["--regrade-status", statuses]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(regrade("refused,does_not_compile").contains("graded 2 submission(s) now, 2 already"));
    assert!(regrade("timeout").contains("graded 0 submission(s) now, 4 already"));
    assert!(regrade("not_implemented").contains("graded 2 submission(s) now, 2 already"), "bob and carol");
    // --regrade-check runs one check again for everyone and keeps the rest of each report.
    let report = |student: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(student).join("report.json")).unwrap()).unwrap()
    };
    let before = report("carol_half_done");
    let output = batch(&submissions, &out, &["--regrade-check", "bottleneck.shape"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && text.contains("graded 4 submission(s) now, 0 already"), "{text}");
    let after = report("carol_half_done");
    let ids =
        |r: &serde_json::Value| r["checks"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&after), ids(&before), "every check's result is still there");
    assert_eq!(after["score"], before["score"]);
    assert_eq!(after["checks"][0], before["checks"][0], "basic_block.shape's result is the earlier one");
    assert!(regrade("timeout").contains("graded 0 submission(s) now, 4 already"), "the grading key stayed");
    let typo = batch(&submissions, &out, &["--regrade-status", "timeouts"]).output().unwrap();
    assert_eq!(typo.status.code(), Some(64), "{}", String::from_utf8_lossy(&typo.stderr));
    // --regrade grades everything again.
    let output = batch(&submissions, &out, &["--regrade"]).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).contains("graded 4 submission(s) now, 0 already"));
}

#[test]
fn shards_merged_equal_one_unsharded_concurrent_run() {
    let dir = tempfile::tempdir().unwrap();
    let submissions = dir.path().join("submissions");
    samples(&submissions, &["bob", "dave", "erin", "frank", "gina"]);
    // The unsharded run grades three submissions at a time: the same gradebook must come out.
    let whole = dir.path().join("whole");
    assert!(batch(&submissions, &whole, &["--jobs", "3"]).status().unwrap().success());
    let mut parts = Vec::new();
    for k in 1..=2 {
        let part = dir.path().join(format!("shard{k}"));
        assert!(batch(&submissions, &part, &["--shard", &format!("{k}/2")]).status().unwrap().success());
        assert!(grades(&part).len() < 6, "shard {k} graded everything");
        parts.push(part);
    }
    let merged = dir.path().join("merged");
    let status = Command::new(env!("CARGO_BIN_EXE_grader"))
        .arg("merge")
        .args(&parts)
        .arg("--out")
        .arg(&merged)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(grades(&merged), grades(&whole));
    assert_eq!(
        std::fs::read_to_string(merged.join("check_stats.csv")).unwrap(),
        std::fs::read_to_string(whole.join("check_stats.csv")).unwrap()
    );
    // Overlapping shards are refused.
    let status = Command::new(env!("CARGO_BIN_EXE_grader"))
        .arg("merge")
        .arg(&parts[0])
        .arg(&parts[0])
        .arg("--out")
        .arg(dir.path().join("bad"))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}

/// A folder submission of the solution's five answer files, the He-init function's body opened by
/// `prelude` (code that runs first when the He-init check calls it).
fn solution_with_he_init_prelude(dir: &Path, prelude: &str) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    for file in ["basic_block.rs", "bottleneck.rs", "he_init.rs", "training.rs", "ablation.rs"] {
        let mut text = std::fs::read_to_string(root().join("solution/src").join(file)).unwrap();
        if file == "he_init.rs" {
            let body = "-> Vec<LayerVariance> {\n";
            assert!(text.contains(body));
            text = text.replacen(body, &format!("{body}{prelude}\n"), 1);
        }
        std::fs::write(dir.join("src").join(file), text).unwrap();
    }
}

/// Under `--jobs 2` one submission's worker cannot see, read or signal another's: for 40 s the
/// attacker kills every process it may signal and looks for the grader's processes, run folders and staged
/// answer files, then reports what it found; the victim, which answers only after 20 s, keeps full
/// marks.
#[test]
fn a_submission_cannot_reach_another_under_jobs() {
    if !grader::run::sandbox::available_protections().bubblewrap {
        eprintln!("skipped: bubblewrap cannot run here (what this proves needs its PID namespace)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let submissions = work.path().join("submissions");
    let workers = root().join("target/grader/workers");
    let attack = format!(
        r#"    {{
        let me = std::process::id().to_string();
        let exe = std::env::current_exe().unwrap_or_default();
        let own_run = exe.ancestors().nth(2).map(|p| p.to_path_buf()).unwrap_or_default();
        let (mut seen, mut read, started) = (0, 0, std::time::Instant::now());
        while started.elapsed().as_secs() < 40 {{
            let _ = std::process::Command::new("kill").args(["-9", "-1"]).status();
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {{
                let pid = entry.file_name().to_string_lossy().into_owned();
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                let numeric = pid.bytes().all(|b| b.is_ascii_digit());
                if numeric && pid != me && String::from_utf8_lossy(&cmdline).contains("grader") {{
                    seen += 1;
                }}
            }}
            for folder in ["/tmp/resnet-lab-runs", {workers:?}] {{
                let entries = std::fs::read_dir(folder).into_iter().flatten().flatten();
                read += entries.filter(|e| e.path() != own_run).count();
            }}
            std::thread::sleep(std::time::Duration::from_millis(200));
        }}
        panic!("found {{seen}} grader processes and {{read}} entries of other runs");
    }}"#
    );
    solution_with_he_init_prelude(&submissions.join("a_mallory"), &attack);
    solution_with_he_init_prelude(
        &submissions.join("b_victim"),
        "    std::thread::sleep(std::time::Duration::from_secs(20));",
    );
    let out = work.path().join("out");
    let mut command = Command::new(env!("CARGO_BIN_EXE_grader"));
    command.current_dir(root()).arg("batch").arg(&submissions).arg("--out").arg(&out);
    command.args(["--quiet", "--only", "he_init", "--max-check-seconds", "90", "--jobs", "2"]);
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let report = |student: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(student).join("report.json")).unwrap()).unwrap()
    };
    let victim = report("b_victim");
    assert_eq!(victim["score"], 10.0, "the victim lost points: {victim}");
    let mallory = report("a_mallory");
    let message = mallory["checks"][0]["message"].as_str().unwrap();
    assert!(message.contains("found 0 grader processes and 0 entries of other runs"), "{message}");
}
