//! The corpus: every submission of `tests/cases` (correct ones, the mistakes students make, and
//! hostile ones), zipped by `corpus/zips.rs` and graded the way an instructor grades a course —
//! `grader batch`, hidden checks included, smoke profile — then compared with the expectations
//! written next to each submission. One batch per check selection (most mistakes only need their
//! exercise's checks) shares one build directory, which keeps the corpus within CI's budget.
//!
//! Each case is a test of its own (a `libtest-mimic` harness): `cargo test -p resnet-lab-grader
//! --test corpus -- bn_missing` grades and judges that case alone, `-- --list` lists them, and a
//! failure names its case. The selected cases are graded first, together; then each case's
//! expectations, the corpus-wide `corpus::nothing_escaped` and the `corpus::correct_report_shape`
//! snapshot are judged.
//!
//! `case.json` says, per check, the expected status, score (a number or `[low, high]`) and a
//! fragment of the message the student must see; every check it does not name must end as
//! `others` says (`passed` means full marks). `row` says what the gradebook's row must say
//! (status and a fragment of the reason). Cases marked `needs_isolation` prove what the sandbox's
//! namespaces prevent; where the grader may not create namespaces they are reported as skipped.
//!
//! Beyond the expectations, the test proves that no submission changed anything outside its
//! scratch folder: the grader's sources, other reports, the gradebook, marker files that build
//! scripts, proc macros or pre-main code would write, and leftover processes.

mod common;
#[path = "corpus/zips.rs"]
mod zips;
use common::{digest, read_csv, root};
use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

#[derive(Debug, Deserialize)]
struct Case {
    description: String,
    #[serde(default)]
    only: Vec<String>,
    #[serde(default)]
    needs_isolation: bool,
    expect: BTreeMap<String, Expect>,
    others: String,
    #[serde(default)]
    row: Option<Row>,
    /// How its zip is made (see `corpus/zips.rs`).
    #[serde(flatten)]
    recipe: zips::Recipe,
}

#[derive(Debug, Deserialize)]
struct Expect {
    status: String,
    score: Option<Score>,
    message: Option<String>,
}

/// An exact score or an inclusive range.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Score {
    Exact(f64),
    Range([f64; 2]),
}

impl Score {
    fn admits(&self, score: f64) -> bool {
        match *self {
            Score::Exact(want) => (want - score).abs() < 1e-9,
            Score::Range([low, high]) => (low - 1e-9..=high + 1e-9).contains(&score),
        }
    }
}

/// What the gradebook row must say.
#[derive(Debug, Deserialize)]
struct Row {
    status: String,
    reason: Option<String>,
}

/// Files the hostile cases would write if they could escape (see the case files), or leave behind
/// on the host if their /tmp and /dev/shm were the host's.
const MARKERS: [&str; 8] = [
    "/tmp/resnet-lab-corpus-build-rs",
    "/tmp/resnet-lab-corpus-proc-macro",
    "/tmp/resnet-lab-corpus-before-main",
    "/tmp/resnet-lab-corpus-zip-slip.rs",
    "/tmp/resnet-lab-corpus-fill",
    "/dev/shm/resnet-lab-corpus-fill",
    "/tmp/resnet-lab-corpus-state",
    "/dev/shm/resnet-lab-corpus-state",
];

fn load_cases() -> BTreeMap<String, Case> {
    let mut cases = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("tests/cases")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let path = root().join("tests/cases").join(&name).join("case.json");
        let case = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        cases.insert(name, case);
    }
    cases
}

fn group_of(case: &Case) -> String {
    if case.only.is_empty() { "all".to_string() } else { case.only.join("-") }
}

/// Whether this machine lets the grader create namespaces for check processes.
fn namespaces_available() -> bool {
    use grader::run::sandbox::{Child, Clock, Isolation, Limits, run_child};
    let limits =
        Limits { time: std::time::Duration::from_secs(10), clock: Clock::Wall, memory_bytes: None, processes: 64 };
    let child = Child { program: Path::new("/bin/true"), args: &[], workdir: Path::new("/"), env: &[], limits };
    run_child(&child, Some(&Isolation::default())).map(|run| run.isolated).unwrap_or(false)
}

/// grades.csv as student → (status, reason).
fn gradebook_rows(out: &Path) -> BTreeMap<String, (String, String)> {
    read_csv(&out.join("grades.csv"))
        .into_iter()
        .skip(2) // the header and the points-possible row
        .map(|fields| (fields[0].clone(), (fields[8].clone(), fields[9].clone())))
        .collect()
}

/// Compares a report with the case's expectations and returns every mismatch.
fn mismatches(name: &str, case: &Case, report: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let schema: Value = serde_json::from_str(grader::output::schema::REPORT_SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the published schema is valid");
    for violation in validator.iter_errors(report) {
        problems.push(format!("{name}: report.json violates the schema at {}: {violation}", violation.instance_path));
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
                // "passed|failed": either, where the outcome depends on the machine's arithmetic.
                if !expect.status.split('|').any(|s| s == status) {
                    problems.push(format!("{name}: {id} is {status}, expected {} ({message})", expect.status));
                }
                if let Some(want) = expect.score.as_ref().filter(|w| !w.admits(score)) {
                    problems.push(format!("{name}: {id} scored {score}, expected {want:?} ({message})"));
                }
                if let Some(fragment) = expect.message.as_deref().filter(|f| !message.contains(f)) {
                    problems.push(format!("{name}: {id} says {message:?}, which lacks {fragment:?}"));
                }
            }
            None => {
                let full = check["max_score"].as_f64().unwrap();
                if status != case.others || (case.others == "passed" && score != full) {
                    problems.push(format!(
                        "{name}: {id} is {status} ({score}/{full}), expected {}: {message}",
                        case.others
                    ));
                }
            }
        }
    }
    // What the student sees must never include the grader's or the solution's sources.
    let text = report.to_string();
    for secret in ["BEGIN SOLUTION", "BEGIN HIDDEN", "pub const CHECKS"] {
        if text.contains(secret) {
            problems.push(format!("{name}: the report contains {secret:?}"));
        }
    }
    problems
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

/// Processes whose command line is exactly `needle` (leftovers of a hostile case).
fn processes_running(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|cmdline| String::from_utf8_lossy(cmdline).replace('\0', " ").trim() == needle)
        .count()
}

/// Where the corpus leaves a copy of the reference He-init answer outside the workspace, as a grading
/// host may hold one (another checkout, a backup): `includes_a_copy_outside_the_workspace` tries to
/// compile it in.
const DECOY: &str = "/tmp/resnet-lab-corpus-decoy/he_init.rs";

fn plant_decoy_solution() {
    let answer: String = std::fs::read_to_string(root().join("solution/src/he_init.rs"))
        .unwrap()
        .lines()
        .filter(|l| !l.contains("BEGIN SOLUTION") && !l.contains("END SOLUTION"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::create_dir_all(Path::new(DECOY).parent().unwrap()).unwrap();
    std::fs::write(DECOY, answer).unwrap();
}

/// Whether libtest's filter and `--skip` select the test called `name` (as libtest-mimic decides).
fn selected(args: &Arguments, name: &str) -> bool {
    let matches = |pattern: &str| if args.exact { name == pattern } else { name.contains(pattern) };
    args.filter.as_deref().is_none_or(matches) && !args.skip.iter().any(|s| matches(s))
}

/// The corpus-wide tests' names.
const NOTHING_ESCAPED: &str = "corpus::nothing_escaped";
const CORRECT_SHAPE: &str = "corpus::correct_report_shape";

/// A folder's files and their bytes (see [`digest`]).
type Digest = Vec<(PathBuf, Vec<u8>)>;

/// What grading the selected cases left: their graded folders and what the grading saw.
struct Graded {
    /// The scratch folder (submissions, graded folders, fake CIFAR); kept when a test fails.
    work: tempfile::TempDir,
    /// The graded folder of each check selection.
    out: PathBuf,
    /// Groups whose `grader batch` failed, with its output.
    failed_groups: BTreeMap<String, String>,
    /// Whether check processes got namespaces here.
    isolated: bool,
    /// The protected folders' contents before grading.
    before: Vec<(&'static str, Digest)>,
}

/// Folders no submission may change.
const PROTECTED: [&str; 8] = [
    "grader/src",
    "grader/judge/src",
    "grader/worker/src",
    "grader/wire/src",
    "plots/src",
    "solution/src",
    "student/src",
    "tests/cases",
];

/// Zips the `names` cases and grades them, one `grader batch` per check selection.
fn grade(cases: &BTreeMap<String, Case>, names: &[String]) -> Graded {
    let started = Instant::now();
    let isolated = namespaces_available();
    plant_decoy_solution();
    let work = tempfile::Builder::new().prefix("corpus-").tempdir().unwrap();
    let (submissions, out) = (work.path().join("submissions"), work.path().join("graded"));
    for name in names {
        let case = &cases[name];
        zips::write_case(&root(), name, &case.recipe, &submissions.join(group_of(case)))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    // A CIFAR folder whose test split a hostile case tries to read, a listener it tries to reach.
    let data = work.path().join("cifar");
    std::fs::create_dir_all(data.join("cifar-10-batches-bin")).unwrap();
    std::fs::write(data.join("cifar-10-batches-bin/test_batch.bin"), vec![7u8; 30_730]).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for marker in MARKERS {
        let _ = std::fs::remove_file(marker);
    }
    let _ = std::fs::remove_file(canary());
    let before = PROTECTED.iter().map(|d| (*d, digest(&root().join(d)))).collect();

    let mut groups: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for name in names {
        groups.entry(group_of(&cases[name])).or_default().push(name);
    }
    let mut failed_groups = BTreeMap::new();
    for (group, members) in &groups {
        let group_started = Instant::now();
        let mut command = Command::new(env!("CARGO_BIN_EXE_grader"));
        command
            .current_dir(root())
            .env("CORPUS_LISTENER_PORT", port.to_string())
            .arg("batch")
            .arg(submissions.join(group))
            .arg("--out")
            .arg(out.join(group))
            .args(["--quiet", "--max-check-seconds", "30", "--data"])
            .arg(&data);
        for exercise in &cases[members[0]].only {
            command.args(["--only", exercise]);
        }
        let output = command.output().unwrap();
        if !output.status.success() {
            let said =
                format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
            failed_groups.insert(group.clone(), said);
        }
        eprintln!("corpus: {group}: {} submission(s) in {:.0} s", members.len(), group_started.elapsed().as_secs_f64());
    }
    eprintln!("corpus: {} case(s) graded in {:.0} s", names.len(), started.elapsed().as_secs_f64());
    Graded { work, out, failed_groups, isolated, before }
}

/// A file only a submission that escaped its sandbox could write.
fn canary() -> PathBuf {
    root().join("target/corpus-canary.txt")
}

/// Judges one graded case: its report against its expectations, its Gradescope file, its gradebook row.
fn judge_case(name: &str, case: &Case, graded: &Graded) -> Result<(), Failed> {
    let group = group_of(case);
    if let Some(said) = graded.failed_groups.get(&group) {
        return Err(format!("grader batch over the {group} group failed: {said}").into());
    }
    let report_path = graded.out.join(&group).join(name).join("report.json");
    let text =
        std::fs::read_to_string(&report_path).map_err(|e| format!("no report at {}: {e}", report_path.display()))?;
    let report: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", report_path.display()))?;
    let mut problems = mismatches(name, case, &report);
    let gradescope: Value =
        serde_json::from_str(&std::fs::read_to_string(report_path.with_file_name("results.json")).unwrap_or_default())
            .unwrap_or_default();
    if gradescope["score"] != report["score"] {
        problems
            .push(format!("{name}: results.json scores {} but report.json {}", gradescope["score"], report["score"]));
    }
    let rows = gradebook_rows(&graded.out.join(&group));
    let (row_status, reason) = rows.get(name).cloned().unwrap_or_default();
    if let Some(row) = &case.row {
        if row_status != row.status {
            problems.push(format!("{name}: the gradebook says {row_status}, expected {} ({reason})", row.status));
        }
        if let Some(fragment) = row.reason.as_deref().filter(|f| !reason.contains(f)) {
            problems.push(format!("{name}: the gradebook's reason {reason:?} lacks {fragment:?}"));
        }
    }
    eprintln!(
        "corpus: {name:<32} {group:<12} {:>5}/{:<3} {row_status:<22} {:>5.1} s",
        report["score"],
        report["max_score"],
        report["metadata"]["duration_s"].as_f64().unwrap_or(0.0)
    );
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\n[{}]\n(graded folder: {})",
            problems.join("\n"),
            case.description,
            report_path.parent().unwrap().display()
        )
        .into())
    }
}

/// Nothing outside the scratch folders changed, and no process a submission started is left.
fn nothing_escaped(graded: &Graded) -> Result<(), Failed> {
    let mut problems = Vec::new();
    for (folder, before) in &graded.before {
        if digest(&root().join(folder)) != *before {
            problems.push(format!("{folder} changed while the corpus was graded"));
        }
    }
    for (path, bytes) in digest(&graded.out) {
        if bytes.windows(16).any(|w| w == b"HACKED-BY-CORPUS") {
            problems.push(format!("{} was written by a submission", path.display()));
        }
    }
    if graded.isolated && canary().exists() {
        problems.push(format!("{} was written by a submission", canary().display()));
    }
    for marker in MARKERS {
        if Path::new(marker).exists() {
            problems.push(format!("{marker} exists: code from a submission ran where it must not"));
        }
    }
    let leftovers = processes_running("sleep 613");
    if leftovers > 0 {
        problems.push(format!("{leftovers} process(es) a submission started are still running"));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n").into()) }
}

/// The correct submission's report keeps its shape (what each check concluded).
fn correct_report_shape(graded: &Graded) -> Result<(), Failed> {
    let path = graded.out.join("all/correct/report.json");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?)
            .map_err(|e| e.to_string())?;
    let shape = shape(&report);
    std::panic::catch_unwind(|| insta::assert_json_snapshot!("correct_report_shape", shape)).map_err(|_| {
        Failed::from("the correct submission's report changed shape (see the diff above; `cargo insta review`)")
    })
}

fn main() {
    let args = Arguments::from_args();
    let cases = load_cases();
    assert!(cases.len() >= 40, "the corpus shrank to {} cases", cases.len());
    let mut names: Vec<String> = cases.keys().filter(|name| selected(&args, name)).cloned().collect();
    if selected(&args, CORRECT_SHAPE) && !names.iter().any(|n| n == "correct") {
        names.push("correct".to_string());
        names.sort();
    }
    // The corpus as zips, to look at or to upload by hand: CORPUS_ZIPS=DIR, nothing graded.
    if let Some(out) = std::env::var_os("CORPUS_ZIPS") {
        for name in &names {
            let case = &cases[name];
            let folder = Path::new(&out).join(group_of(case));
            zips::write_case(&root(), name, &case.recipe, &folder).unwrap_or_else(|e| panic!("{e}"));
        }
        eprintln!("corpus: {} case(s) zipped into {}", names.len(), Path::new(&out).display());
        return;
    }
    // Listing, or nothing selected: no grading.
    let graded = (!args.list && !names.is_empty()).then(|| Arc::new(grade(&cases, &names)));
    let cases = Arc::new(cases);
    let mut trials = Vec::new();
    for (name, case) in cases.iter() {
        let ignored = case.needs_isolation && graded.as_ref().is_some_and(|g| !g.isolated);
        let (name, cases, graded) = (name.clone(), Arc::clone(&cases), graded.clone());
        trials.push(
            Trial::test(name.clone(), move || judge_case(&name, &cases[&name], graded.as_ref().expect("graded")))
                .with_ignored_flag(ignored),
        );
    }
    // The corpus-wide tests judge what was graded; with no case selected there is nothing to judge.
    let whole = graded.clone();
    let nothing = graded.is_none();
    trials.push(
        Trial::test(NOTHING_ESCAPED, move || nothing_escaped(whole.as_ref().expect("graded")))
            .with_ignored_flag(nothing),
    );
    let whole = graded.clone();
    trials.push(
        Trial::test(CORRECT_SHAPE, move || correct_report_shape(whole.as_ref().expect("graded")))
            .with_ignored_flag(nothing),
    );
    let conclusion = libtest_mimic::run(&args, trials);
    if conclusion.has_failed()
        && let Some(graded) = graded.and_then(|g| Arc::try_unwrap(g).ok())
    {
        eprintln!("corpus: graded folders kept in {}", graded.work.keep().display());
    }
    conclusion.exit();
}
