//! Grades one crate: builds its worker, runs the selected checks in judge processes (each starts
//! the worker in the sandbox and judges what it returns), and turns what came back (or did not)
//! into scores and a [`Report`].

use crate::catalog::{self, Check, CheckId, Exercise, Visibility};
use crate::output::report::{BuildInfo, CheckResult, Metadata, Report, SCHEMA_VERSION, Status, TimeLimitUsed, round2};
use crate::profile::ProfileName;
use crate::run::pace::{Load, Pace};
use crate::run::protocol::{ChildStatus, Message, Outcome, RunRequest, Task, WorkerLaunch};
use crate::run::sandbox::{self, ChildRun, Clock, Exit, Limits};
use crate::run::worker_build::{self, BuildFailure, Built, Workspace};
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// What to grade and how.
#[derive(Debug, Clone)]
pub struct GradeOptions {
    /// The assignment crate to grade.
    pub crate_dir: PathBuf,
    /// Which profile.
    pub profile: ProfileName,
    /// CIFAR-10 folder (full profile).
    pub data: Option<PathBuf>,
    /// Run hidden checks too.
    pub hidden: bool,
    /// Only these checks (and what they need); empty = all selected by `hidden`.
    pub only: Vec<String>,
    /// Where `build.log` goes when the crate does not compile (the caller writes the report there:
    /// [`crate::output::files::write_report_files`]).
    pub out_dir: PathBuf,
    /// Seed for everything random.
    pub seed: u64,
    /// A prebuilt worker to use instead of building one (e.g. on a GPU machine without Rust).
    pub worker: Option<PathBuf>,
    /// A prebuilt judge to use instead of building this workspace's.
    pub judge: Option<PathBuf>,
    /// Build the judge and the worker in release mode.
    pub release: bool,
    /// Print a line per check to stderr.
    pub progress: bool,
    /// Caps every check's time limit (tests, impatient instructors).
    pub max_check_seconds: Option<u64>,
    /// libtorch's CPU threads in each check process (`None`: one per core). A batch grading several
    /// students at once shares the cores out, so that concurrent checks do not oversubscribe them.
    pub threads: Option<usize>,
    /// The share of the GPU's memory each check process's allocator may hold (`None`: no cap), so
    /// that one student's runaway allocation ends in their own out-of-memory error, not another's.
    pub gpu_memory_fraction: Option<f64>,
    /// Folders no check process may see, beyond the grader's own sources and `out_dir` (a batch
    /// hides its submissions and output folders, so that one student cannot read another's work).
    pub private: Vec<PathBuf>,
    /// Grade even where no protection for the submission's code can be set up (see
    /// [`sandbox::NO_PROTECTION`]): for submissions the instructor trusts, and for `grader check`
    /// on a student's own crate.
    pub trusted: bool,
    /// Shared by the gradings of one process, so that a retry can run alone (see [`crate::run::pace`]).
    pub pace: Pace,
}

/// The checks to run, in catalog order: the selection plus everything it depends on. `only` names
/// checks (`he_init.layers`) or whole exercises (`he_init`: its checks selected by `hidden`).
pub fn plan(hidden: bool, only: &[String]) -> Result<Vec<&'static Check>> {
    let mut wanted: Vec<CheckId> = Vec::new();
    for id in only {
        match (catalog::find(id), Exercise::ALL.iter().find(|e| e.id() == id)) {
            (Some(check), _) => wanted.push(check.id),
            (None, Some(&exercise)) => {
                wanted.extend(catalog::selected(hidden).filter(|c| c.exercise == exercise).map(|c| c.id))
            }
            (None, None) => bail!("there is no check or exercise {id:?}; `grader list` shows them"),
        }
    }
    if only.is_empty() {
        wanted = catalog::selected(hidden).map(|c| c.id).collect();
    }
    let mut i = 0;
    while i < wanted.len() {
        let check = catalog::row(wanted[i]).expect("selected from the catalog");
        for &dep in check.after.iter().chain(check.reported_by.iter()) {
            if !wanted.contains(&dep) {
                wanted.push(dep);
            }
        }
        i += 1;
    }
    Ok(catalog::CHECKS.iter().filter(|c| wanted.contains(&c.id)).collect())
}

/// sha256 over the answer files of `crate_dir` (path, NUL, content, NUL; in exercise order).
pub fn sources_hash(crate_dir: &Path) -> String {
    let mut hasher = Sha256::new();
    for exercise in Exercise::ALL {
        hasher.update(exercise.file().as_bytes());
        hasher.update([0]);
        hasher.update(std::fs::read(crate_dir.join(exercise.file())).unwrap_or_else(|_| b"<missing>".to_vec()));
        hasher.update([0]);
    }
    hex::encode(hasher.finalize())
}

fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

fn gpu_name() -> String {
    std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_else(|| "CUDA GPU".to_string())
}

/// Why a process that sent no result for a check ended, in one sentence for the student.
pub fn explain_missing_result(run: &ChildRun, limits: &Limits) -> (Status, String) {
    let stderr = &run.stderr;
    let memory =
        limits.memory_bytes.map_or("its".to_string(), |b| format!("the {:.1} GiB", b as f64 / (1u64 << 30) as f64));
    if stderr.contains("has overflowed its stack") {
        return (Status::Error, "stack overflow: unbounded recursion in your code?".into());
    }
    if stderr.contains("memory allocation of")
        || stderr.contains("can't allocate memory")
        || stderr.contains("std::bad_alloc")
    {
        return (Status::Error, format!("ran out of memory ({memory} limit)"));
    }
    match run.exit {
        Exit::TimedOut if limits.clock == Clock::Cpu => (
            Status::Timeout,
            format!(
                "did not finish within {} s on the wall clock ({}× its limit of {} s of computation): waiting or sleeping, or a machine far too busy?",
                limits.wall().as_secs(),
                crate::run::sandbox::BUSY_MACHINE_FACTOR,
                limits.time.as_secs()
            ),
        ),
        Exit::TimedOut => (
            Status::Timeout,
            format!(
                "did not finish within {} s: an endless loop, or far too much work for this profile?",
                limits.time.as_secs()
            ),
        ),
        Exit::Signal(libc::SIGKILL) => {
            (Status::Error, format!("was killed by the system: most likely out of memory ({memory} limit)"))
        }
        Exit::Signal(libc::SIGSEGV) => (Status::Error, "crashed with a segmentation fault".into()),
        Exit::Signal(libc::SIGABRT)
            if stderr.contains("panic in a destructor")
                || stderr.contains("panicked while")
                || stderr.contains("during cleanup") =>
        {
            (Status::Error, "aborted: a panic while already panicking (a panic inside Drop?)".into())
        }
        Exit::Signal(libc::SIGABRT) => {
            (Status::Error, "aborted (std::process::abort, or a fatal runtime error)".into())
        }
        Exit::Signal(libc::SIGXFSZ) => (
            Status::Error,
            format!("wrote a file larger than the {} MiB a check may write", crate::run::jail::FILE_BYTES >> 20),
        ),
        Exit::Signal(libc::SIGXCPU) if limits.clock == Clock::Cpu => (
            Status::Timeout,
            format!(
                "used up its {} s of computation ({} CPU seconds: the limit on each of {} cores; CPU time, so a busy machine does not count against it): an endless loop, or far too much work for this profile?",
                limits.time.as_secs(),
                limits.cpu_seconds(),
                crate::run::sandbox::cores()
            ),
        ),
        Exit::Signal(libc::SIGXCPU) => (
            Status::Timeout,
            format!(
                "used more than its {} CPU seconds (the limit on every core): an endless loop?",
                limits.cpu_seconds()
            ),
        ),
        Exit::Signal(signal) => (Status::Error, format!("was killed by signal {signal}")),
        Exit::Code(0) => (
            Status::Error,
            "the process exited before the check could report (std::process::exit in your code?)".into(),
        ),
        Exit::Code(code) => {
            (Status::Error, format!("the process exited with code {code} before the check could report"))
        }
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn result_for(
    check: &Check,
    status: Status,
    fraction: f64,
    message: String,
    duration: f64,
    details: serde_json::Value,
) -> CheckResult {
    let mut hint = (status != Status::Passed).then(|| check.hint.to_string());
    let message = match (status, Exercise::named_by_todo(&message)) {
        // A check that runs another exercise's code first (training runs the student's blocks)
        // sends the student to that exercise's file; this check's hint would not help yet.
        (Status::NotImplemented, Some(first)) if first != check.exercise => {
            hint = None;
            format!("{message}: this check runs {} first; open {} and replace its todo!()", first.noun(), first.file())
        }
        (Status::NotImplemented, _) => format!("{message}: open {} and replace the todo!()", check.exercise.file()),
        _ => message,
    };
    CheckResult {
        id: check.id,
        exercise: check.exercise,
        name: check.title.to_string(),
        score: round2(check.points * fraction.clamp(0.0, 1.0)),
        max_score: check.points,
        status,
        message,
        hint,
        visibility: check.visibility,
        duration_s: round2(duration),
        details,
        limit: None,
    }
}

fn from_outcome(check: &Check, outcome: &Outcome, duration: f64) -> CheckResult {
    let (status, fraction) = match outcome.status {
        ChildStatus::Completed if outcome.score >= 0.999 => (Status::Passed, 1.0),
        ChildStatus::Completed => (Status::Failed, outcome.score),
        ChildStatus::NotImplemented => (Status::NotImplemented, 0.0),
        ChildStatus::Error => (Status::Error, 0.0),
        ChildStatus::Timeout => (Status::Timeout, 0.0),
    };
    result_for(check, status, fraction, outcome.message.clone(), duration, outcome.details.clone())
}

/// The result of a check its process reported, saying so when that process also wrote `forged`
/// lines the grader ignored.
fn reported(check: &Check, outcome: &Outcome, duration: f64, forged: usize) -> CheckResult {
    let mut result = from_outcome(check, outcome, duration);
    if forged > 0 {
        result.message.push_str(&format!(" (the grader ignored {forged} forged result line(s) from this process)"));
    }
    result
}

/// Runs the checks of a grading run in judge processes.
struct Session<'a> {
    judge: PathBuf,
    /// The worker binary, in the run folder.
    worker: PathBuf,
    /// The worker's working folder (its only writable one).
    worker_dir: PathBuf,
    /// The unprivileged uid workers of this run get when the grader is root.
    uid: u32,
    /// The checks of this run (a process reports only for these).
    planned: Vec<&'static Check>,
    /// The protections the workers so far ran under, in words (each once).
    sandboxes: std::cell::RefCell<Vec<String>>,
    options: &'a GradeOptions,
    scratch: PathBuf,
    workdir: PathBuf,
    /// Folders hidden from every worker (see [`hidden_folders`]).
    hidden: Vec<PathBuf>,
    /// Whether workers see a read-only file system (see [`runner_info`]).
    read_only_root: std::cell::Cell<bool>,
}

impl Session<'_> {
    fn request(&self, task: Task, then: &[CheckId], limits: Limits) -> RunRequest {
        let mut env = vec![
            ("RUST_BACKTRACE".to_string(), "0".to_string()),
            // libtorch's OpenMP threads sleep while they wait instead of spinning: on a busy machine
            // spinning burns CPU time while a peer thread waits for a core, and CPU time is what
            // the training and ablation checks are limited by.
            ("OMP_WAIT_POLICY".to_string(), "PASSIVE".to_string()),
        ];
        if let Some(fraction) = self.options.gpu_memory_fraction.filter(|_| self.options.profile.settings().gpu) {
            env.push(("PYTORCH_CUDA_ALLOC_CONF".to_string(), allocator_conf(fraction)));
        }
        let isolation = sandbox::Isolation {
            hide: self.hidden.clone(),
            writable: vec![self.worker_dir.clone()],
            read_only: self.read_only_root.get(),
            visible: Workspace::locate().map(|w| worker_build::libtorch_folders(&w)).unwrap_or_default(),
            uid: Some(self.uid),
            gpu: self.options.profile.settings().gpu,
            trusted: self.options.trusted,
        };
        RunRequest {
            task,
            profile: self.options.profile.as_str().to_string(),
            scratch: self.scratch.clone(),
            worker: WorkerLaunch {
                program: self.worker.clone(),
                workdir: self.worker_dir.clone(),
                env,
                limits,
                isolation: Some(isolation),
            },
            data: self.options.data.clone(),
            seed: self.options.seed,
            then: then.to_vec(),
            threads: self.options.threads,
        }
    }

    /// The limits of `check` in this run's profile.
    fn limits_of(&self, check: &Check) -> Limits {
        let limit = check.limit.seconds[self.options.profile.limit_index()];
        self.limits(self.options.max_check_seconds.map_or(limit, |cap| limit.min(cap)), check.limit.clock)
    }

    fn limits(&self, seconds: u64, clock: Clock) -> Limits {
        Limits {
            time: Duration::from_secs(seconds),
            clock,
            memory_bytes: self.options.profile.settings().memory_limit_bytes,
            processes: 4096,
        }
    }

    /// Starts one judge process for `check` (and `then`), which starts the worker in the sandbox.
    fn spawn(&self, task: Task, then: &[CheckId], limits: Limits) -> Result<ChildRun> {
        let request = self.request(task, then, limits);
        // The judge measures on the GPU too: the same memory cap as its worker.
        let env: Vec<(&str, String)> = request.worker.env.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let run = sandbox::run_child(&self.judge, &request.to_args(), &self.workdir, &env, limits, None)
            .with_context(|| format!("cannot start {}", self.judge.display()))?;
        let mut sandboxes = self.sandboxes.borrow_mut();
        for sandbox in run.messages.iter().filter_map(|m| m.worker_sandbox.as_ref()) {
            if !sandboxes.contains(sandbox) {
                sandboxes.push(sandbox.clone());
            }
        }
        Ok(run)
    }

    /// Runs `check` and returns the results of it and of the checks it reports for. A check that
    /// timed out on the wall clock while the machine was busy runs once more alone (see
    /// [`crate::run::pace`]); the second run's results are final.
    fn run(&self, check: &'static Check) -> Result<Vec<CheckResult>> {
        let limits = self.limits_of(check);
        let run = {
            let _beside_others = self.options.pace.beside_others();
            self.spawn(Task::Check(check.id), &[], limits)?
        };
        let busy = Load::now().filter(|load| run.exit == Exit::TimedOut && load.busy());
        let Some(load) = busy else { return Ok(self.results_of(check, &run, limits, None)) };
        let first = run.duration.as_secs_f64();
        let run = {
            let _alone = self.options.pace.alone();
            self.spawn(Task::Check(check.id), &[], limits)?
        };
        let why = format!(
            "its first run timed out after {first:.0} s while the machine was busy ({load}), so it ran once more with no other check beside it"
        );
        Ok(self.results_of(check, &run, limits, Some(why)))
    }

    /// The results of `check`'s process `run` (and of the checks it reports for), with the limit it
    /// ran under and why it ran again, if it did.
    fn results_of(
        &self,
        check: &'static Check,
        run: &ChildRun,
        limits: Limits,
        retried: Option<String>,
    ) -> Vec<CheckResult> {
        let duration = run.duration.as_secs_f64();
        let mut covered: Vec<&'static Check> = vec![check];
        covered.extend(self.planned.iter().copied().filter(|c| c.reported_by == Some(check.id)));
        let by_id: HashMap<&str, &Outcome> = run.messages.iter().map(|m| (m.check.as_str(), &m.outcome)).collect();
        covered
            .into_iter()
            .map(|c| {
                let own_duration = if c.id == check.id { duration } else { 0.0 };
                let mut result = match by_id
                    .get(c.id.as_str())
                    .or_else(|| by_id.get(check.id.as_str()).filter(|o| o.status != ChildStatus::Completed))
                {
                    Some(outcome) => reported(c, outcome, own_duration, run.forged),
                    None => {
                        let (status, message) = explain_missing_result(run, &limits);
                        let details = serde_json::json!({"stderr_tail": last_lines(&run.stderr, 20), "stdout_tail": last_lines(&run.stdout, 5)});
                        result_for(c, status, 0.0, message, own_duration, details)
                    }
                };
                if let Some(why) = &retried {
                    result.message.push_str(&format!(" ({why})"));
                }
                result.limit = Some(TimeLimitUsed::of(&limits, retried.clone()));
                result
            })
            .collect()
    }
}

impl Session<'_> {
    /// Runs `group` (checks of one exercise that need nothing from each other) in one process, in
    /// turn, saving a process start per check. A check the process did not report on (it crashed,
    /// hung or never got there) runs again alone, so that one check's failure costs no other check
    /// anything but time.
    fn run_group(&self, group: &[&'static Check]) -> Result<Vec<CheckResult>> {
        let [first, rest @ ..] = group else { return Ok(Vec::new()) };
        if rest.is_empty() {
            return self.run(first);
        }
        let limits = group
            .iter()
            .map(|c| self.limits_of(c))
            .max_by_key(|l| (l.time, l.clock == Clock::Cpu))
            .expect("a group is not empty");
        let then: Vec<CheckId> = rest.iter().map(|c| c.id).collect();
        let run = {
            let _beside_others = self.options.pace.beside_others();
            self.spawn(Task::Check(first.id), &then, limits)?
        };
        let by_id: HashMap<&str, &Message> = run.messages.iter().map(|m| (m.check.as_str(), m)).collect();
        let mut results = Vec::new();
        // Each check's own seconds; the process's start and exit count for the first.
        let total = run.duration.as_secs_f64();
        let last = group.iter().filter_map(|c| by_id.get(c.id.as_str())?.elapsed_s).fold(0.0, f64::max);
        let mut previous = -(total - last).max(0.0);
        for check in group {
            let Some(message) = by_id.get(check.id.as_str()) else { break };
            let elapsed = message.elapsed_s.unwrap_or(total);
            let mut result = reported(check, &message.outcome, (elapsed - previous).max(0.0), run.forged);
            // The limit the group's process ran under (the largest of its checks').
            result.limit = Some(TimeLimitUsed::of(&limits, None));
            results.push(result);
            previous = elapsed;
        }
        for check in &group[results.len()..] {
            results.extend(self.run(check)?);
        }
        Ok(results)
    }
}

/// On a terminal, a line that says which checks are running and for how long, until dropped (the
/// training and ablation checks take minutes; without it nothing moves meanwhile).
fn running(group: &[&'static Check]) -> Option<Running> {
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return None;
    }
    let ids: Vec<&str> = group.iter().map(|c| c.id.as_str()).collect();
    let spinner = indicatif::ProgressBar::new_spinner()
        .with_style(indicatif::ProgressStyle::with_template("  {spinner} {msg} {elapsed}").ok()?)
        .with_message(format!("running {}", ids.join(", ")));
    spinner.enable_steady_tick(Duration::from_millis(120));
    Some(Running(spinner))
}

/// The running line of [`running`]; cleared when dropped.
struct Running(indicatif::ProgressBar);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// libtorch's CUDA allocator setting that caps a process at `fraction` of the GPU's memory (an
/// allocation beyond it fails with "CUDA out of memory" in that process only).
pub fn allocator_conf(fraction: f64) -> String {
    format!("per_process_memory_fraction:{:.4}", fraction.clamp(0.01, 1.0))
}

/// The checks of `planned` that get a process of their own, in order, as groups that share one:
/// consecutive checks of one exercise that run student code, need no other check's artifacts and
/// report for no other check.
fn process_groups(planned: &[&'static Check]) -> Vec<Vec<&'static Check>> {
    let groupable =
        |c: &Check| c.after.is_none() && !c.test_split && !planned.iter().any(|other| other.reported_by == Some(c.id));
    let mut groups: Vec<Vec<&'static Check>> = Vec::new();
    for &check in planned.iter().filter(|c| c.reported_by.is_none()) {
        match groups.last_mut() {
            Some(group) if groupable(check) && group.iter().all(|g| groupable(g) && g.exercise == check.exercise) => {
                group.push(check)
            }
            _ => groups.push(vec![check]),
        }
    }
    groups
}

/// What the runner says about itself: CUDA, libtorch. Where CUDA works in a plain process but not
/// under a read-only file system (some GPU machines), check processes get a writable one, and the
/// report's isolation line says so.
fn runner_info(session: &Session<'_>) -> Result<serde_json::Value> {
    let info = runner_info_once(session)?;
    if session.options.profile == ProfileName::Full && info["cuda"] != true && session.read_only_root.get() {
        session.read_only_root.set(false);
        let writable = runner_info_once(session)?;
        if writable["cuda"] == true {
            return Ok(writable);
        }
        session.read_only_root.set(true);
    }
    Ok(info)
}

fn runner_info_once(session: &Session<'_>) -> Result<serde_json::Value> {
    let run = session.spawn(Task::Info, &[], session.limits(120, Clock::Wall))?;
    match run.messages.into_iter().find(|m| m.check == Task::Info.as_str()) {
        Some(message) => Ok(message.outcome.details),
        None => {
            bail!("the grader's judge does not start ({:?}); its output:\n{}", run.exit, last_lines(&run.stderr, 20))
        }
    }
}

/// A graded crate made ready to run: its worker binary, or the reason there is none.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// The worker, and the seconds its build took.
    Worker(Built),
    /// The crate does not compile: its first errors and the whole log.
    DoesNotCompile {
        /// The compiler's first errors.
        first_errors: String,
        /// The build log.
        log: String,
    },
}

/// Builds the worker for `options.crate_dir` (or takes `options.worker`). `Err`: could not grade.
pub fn prepare(options: &GradeOptions) -> Result<Prepared> {
    if let Some(worker) = &options.worker {
        let worker =
            worker.canonicalize().with_context(|| format!("the worker {} does not exist", worker.display()))?;
        return Ok(Prepared::Worker(Built::prebuilt(worker)));
    }
    if options.progress {
        eprintln!("building {} with the grader's worker …", options.crate_dir.display());
    }
    match worker_build::build(&Workspace::locate()?, &options.crate_dir, options.release, &options.private) {
        Ok(built) => Ok(Prepared::Worker(built)),
        Err(BuildFailure::Compile { first_errors, log }) => Ok(Prepared::DoesNotCompile { first_errors, log }),
        Err(BuildFailure::Tool(problem)) => bail!(problem),
    }
}

/// Grades `options.crate_dir`. `Err` means the crate could not be graded at all.
pub fn grade(options: &GradeOptions) -> Result<Report> {
    check_data(options)?;
    let prepared = prepare(options)?;
    grade_prepared(options, prepared)
}

fn check_data(options: &GradeOptions) -> Result<()> {
    if options.profile == ProfileName::Full {
        let data = options
            .data
            .as_ref()
            .context("the full profile needs --data DIR with CIFAR-10 (the cifar-10-batches-bin files)")?;
        let dir = crate::data_dir::batches_dir(data);
        if !dir.join("test_batch.bin").is_file() {
            bail!(
                "{} holds no CIFAR-10 test_batch.bin: download https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and unpack it there",
                data.display()
            );
        }
    }
    Ok(())
}

/// A report in which every planned check scored 0 for one reason (a refused submission).
pub fn refused_report(options: &GradeOptions, reason: &str) -> Result<Report> {
    let checks = plan(options.hidden, &options.only)?;
    let results: Vec<CheckResult> = checks
        .iter()
        .map(|c| {
            result_for(
                c,
                Status::Error,
                0.0,
                format!("the submission was refused: {reason}"),
                0.0,
                serde_json::Value::Null,
            )
        })
        .collect();
    let facts = RunFacts {
        device: "none (refused)".into(),
        libtorch: "unknown".into(),
        isolation: "none (nothing ran)".into(),
        sources_sha256: "none".into(),
        started_at: now(),
        duration_s: 0.0,
    };
    Ok(assemble(options, results, BuildInfo { ok: false, duration_s: 0.0, errors: None }, facts))
}

/// What a grading run learned about where it ran, for the report's metadata.
struct RunFacts {
    device: String,
    libtorch: String,
    isolation: String,
    sources_sha256: String,
    started_at: String,
    duration_s: f64,
}

fn assemble(options: &GradeOptions, mut results: Vec<CheckResult>, build: BuildInfo, facts: RunFacts) -> Report {
    results.sort_by_key(|r| catalog::CHECKS.iter().position(|c| c.id == r.id));
    let score = round2(results.iter().map(|r| r.score).sum());
    let max_score = results.iter().map(|r| r.max_score).sum();
    Report {
        schema_version: SCHEMA_VERSION,
        score,
        max_score,
        hidden_checks_included: results.iter().any(|r| r.visibility == Visibility::Hidden),
        exercises: Report::exercise_totals(&results, options.profile),
        checks: results,
        build,
        submission: None,
        metadata: Metadata {
            grader_version: env!("CARGO_PKG_VERSION").to_string(),
            git_revision: env!("GRADER_GIT_REVISION").to_string(),
            profile: options.profile.as_str().to_string(),
            device: facts.device,
            libtorch: facts.libtorch,
            isolation: facts.isolation,
            seed: options.seed,
            sources_sha256: facts.sources_sha256,
            crate_path: options.crate_dir.display().to_string(),
            started_at: facts.started_at,
            finished_at: now(),
            duration_s: round2(facts.duration_s),
        },
    }
}

/// Lets the worker's uid reach what it needs of the run folder: the folder itself and its binary
/// (read and run), its working folder (its own); the judge's artifacts stay the grader's alone.
fn hand_to_worker(run_root: &Path, worker_dir: &Path, uid: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    for dir in [run_root.to_path_buf(), run_root.join("bin")] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
    }
    // SAFETY: a plain syscall.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(worker_dir, Some(uid), Some(uid))
            .with_context(|| format!("cannot hand {} to the worker's uid", worker_dir.display()))?;
    }
    Ok(())
}

/// The judge: `options.judge`, or this workspace's, built once per process.
fn judge_binary(options: &GradeOptions) -> Result<PathBuf> {
    if let Some(judge) = &options.judge {
        return judge.canonicalize().with_context(|| format!("the judge {} does not exist", judge.display()));
    }
    static BUILT: std::sync::Mutex<Vec<(bool, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = built.iter().find(|(release, _)| *release == options.release) {
        return Ok(path.clone());
    }
    let path = worker_build::build_judge(&Workspace::locate()?, options.release)?;
    built.push((options.release, path.clone()));
    Ok(path)
}

/// Runs the checks with a prepared worker (see [`prepare`]) and assembles the report.
pub fn grade_prepared(options: &GradeOptions, prepared: Prepared) -> Result<Report> {
    let started_at = now();
    let started = Instant::now();
    let crate_dir = options
        .crate_dir
        .canonicalize()
        .with_context(|| format!("the crate {} does not exist", options.crate_dir.display()))?;
    let checks = plan(options.hidden, &options.only)?;
    std::fs::create_dir_all(&options.out_dir)?;
    // One folder per grading run, below a parent every worker sees only its own run of: the judge's
    // artifacts (hidden from the worker), the worker's binary and its working folder.
    let runs = std::env::temp_dir().join("resnet-lab-runs");
    std::fs::create_dir_all(&runs).with_context(|| format!("cannot create {}", runs.display()))?;
    let run_dir = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&runs)
        .context("cannot create a run folder in the temporary directory")?;
    let run_root = run_dir.path().canonicalize()?;
    let scratch = run_root.join("artifacts");
    let workdir = run_root.join("judge");
    let worker_dir = run_root.join("worker");
    for dir in [&workdir, &worker_dir, &run_root.join("bin")] {
        std::fs::create_dir_all(dir)?;
    }
    for sub in ["training", "ablation"] {
        std::fs::create_dir_all(scratch.join(sub))?;
    }
    let mut build_confinement = String::new();
    let (worker, build) = match prepared {
        Prepared::Worker(built) => {
            let copy = run_root.join("bin/grader-worker");
            std::fs::copy(&built.binary, &copy)
                .with_context(|| format!("cannot copy the worker {}", built.binary.display()))?;
            if built.temporary {
                let _ = std::fs::remove_file(&built.binary);
            }
            build_confinement = built.confinement;
            (Some(copy), BuildInfo { ok: true, duration_s: round2(built.seconds), errors: None })
        }
        Prepared::DoesNotCompile { first_errors, log } => {
            std::fs::create_dir_all(&options.out_dir)?;
            std::fs::write(options.out_dir.join("build.log"), log)?;
            (None, BuildInfo { ok: false, duration_s: 0.0, errors: Some(first_errors) })
        }
    };
    let mut results: Vec<CheckResult> = Vec::new();
    let (mut device, mut libtorch) = ("none (the crate did not compile)".to_string(), "unknown".to_string());
    let mut isolation = "none (nothing ran)".to_string();
    if let Some(worker) = worker {
        let judge = judge_binary(options)?;
        let mut hidden = hidden_folders(options, &[&run_root]);
        hidden.push(scratch.clone());
        hidden.extend(sandbox::all_but(&runs, std::slice::from_ref(&run_root)));
        let uid = crate::run::jail::run_uid(&run_root);
        hand_to_worker(&run_root, &worker_dir, uid)?;
        let session = Session {
            uid,
            hidden,
            read_only_root: std::cell::Cell::new(sandbox::Isolation::read_only_root()),
            judge,
            worker,
            worker_dir,
            planned: checks.clone(),
            sandboxes: std::cell::RefCell::new(Vec::new()),
            options,
            scratch: scratch.clone(),
            workdir,
        };
        let info = runner_info(&session)?;
        libtorch = info["libtorch"].as_str().unwrap_or("unknown").to_string();
        let cuda = info["cuda"].as_bool().unwrap_or(false);
        if options.profile == ProfileName::Full && !cuda {
            let sandbox = session.sandboxes.borrow().join("; ");
            bail!(
                "the full profile needs a CUDA GPU, and libtorch sees none here; use --profile smoke on a CPU (the worker ran under: {sandbox})"
            );
        }
        device = if options.profile == ProfileName::Full {
            gpu_name()
        } else {
            format!("cpu ({} threads)", info["threads"].as_i64().unwrap_or(0))
        };
        for group in process_groups(&checks) {
            let check = group[0];
            let dependency = check.after.and_then(|dep| results.iter().find(|r| r.id == dep));
            let produced = match dependency {
                Some(dep) if dep.status == Status::NotImplemented => vec![result_for(
                    check,
                    Status::NotImplemented,
                    0.0,
                    // The todo!() text alone: result_for says again which file to open.
                    dep.message
                        .split(": open")
                        .next()
                        .and_then(|m| m.split(": this check runs").next())
                        .unwrap_or("")
                        .to_string(),
                    0.0,
                    serde_json::Value::Null,
                )],
                Some(dep) if !matches!(dep.status, Status::Passed | Status::Failed) => {
                    vec![result_for(
                        check,
                        Status::Skipped,
                        0.0,
                        format!("not run: it measures what {} produces, and that check did not finish", dep.id),
                        0.0,
                        serde_json::Value::Null,
                    )]
                }
                _ => {
                    let _spinner = options.progress.then(|| running(&group));
                    session.run_group(&group)?
                }
            };
            for result in produced {
                if options.progress {
                    eprintln!(
                        "  {:<30} {:<16} {:>5.1}/{:<4} {:>6.1} s",
                        result.id,
                        result.status.as_str(),
                        result.score,
                        result.max_score,
                        result.duration_s
                    );
                }
                results.push(result);
            }
        }
        let sandboxes = session.sandboxes.borrow();
        let worker = if sandboxes.is_empty() { "no worker ran".to_string() } else { sandboxes.join(" | ") };
        let writable = if session.read_only_root.get() || !sandboxes.iter().any(|s| s.starts_with("network and mount"))
        {
            ""
        } else {
            " (writable file system: CUDA failed under a read-only one, or RESNET_LAB_WRITABLE_ROOT is set)"
        };
        isolation = format!(
            "worker (the only process that runs the student's code): {worker}{writable}. Judge: computes every verdict and never runs student code. Build: {build_confinement}"
        );
    } else {
        let errors = build.errors.clone().unwrap_or_default();
        let first = errors.lines().next().unwrap_or("").to_string();
        for check in &checks {
            let message = format!("the crate does not compile: {first}");
            // The check's hint is about its exercise; the compiler's errors are what to read.
            let result = result_for(check, Status::Error, 0.0, message, 0.0, serde_json::Value::Null);
            results.push(CheckResult { hint: None, ..result });
        }
    }
    let facts = RunFacts {
        device,
        libtorch,
        isolation,
        sources_sha256: sources_hash(&crate_dir),
        started_at,
        duration_s: started.elapsed().as_secs_f64(),
    };
    // Dropping the run folder removes the trained weights: the report holds what matters.
    drop(run_dir);
    Ok(assemble(options, results, build, facts))
}

/// The folders no worker may see: all of this workspace but libtorch (the solution, the judge and
/// its sources, the tests, built artifacts, other submissions' staged crates), the report folder
/// and `options.private` — except any folder holding one of `needed` (the run folder). The CIFAR-10
/// test split is hidden too: student code never receives it.
fn hidden_folders(options: &GradeOptions, needed: &[&Path]) -> Vec<PathBuf> {
    let needed: Vec<PathBuf> = needed.iter().filter_map(|p| p.canonicalize().ok()).collect();
    let mut folders = Vec::new();
    if let Ok(workspace) = Workspace::locate() {
        let mut keep: Vec<PathBuf> = needed.clone();
        keep.extend(std::env::var_os("LIBTORCH").map(PathBuf::from).and_then(|p| p.canonicalize().ok()));
        keep.extend(workspace.root.join(".venv").canonicalize().ok());
        keep.extend(options.data.as_ref().and_then(|d| d.canonicalize().ok()));
        folders.extend(sandbox::all_but(&workspace.root, &keep));
    }
    let mut outside = vec![options.out_dir.clone()];
    outside.extend(options.private.iter().cloned());
    folders.extend(
        outside.into_iter().filter_map(|f| f.canonicalize().ok()).filter(|f| !needed.iter().any(|n| n.starts_with(f))),
    );
    if let Some(data) = &options.data {
        folders.extend(crate::data_dir::batches_dir(data).join("test_batch.bin").canonicalize());
    }
    folders
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_todo_in_another_exercise_sends_the_student_to_that_exercises_file() {
        let training = catalog::find("training.runs").unwrap();
        let todo = |text: &str| {
            result_for(training, Status::NotImplemented, 0.0, text.to_string(), 0.0, serde_json::Value::Null)
        };
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
        let groups: Vec<Vec<&str>> = process_groups(&plan(true, &[]).unwrap())
            .iter()
            .map(|g| g.iter().map(|c| c.id.as_str()).collect())
            .collect();
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
            (
                run_with(Exit::Signal(libc::SIGABRT), "memory allocation of 80000000 bytes failed"),
                Status::Error,
                "1.0 GiB",
            ),
            (
                run_with(Exit::Signal(libc::SIGABRT), "thread panicked while processing panic"),
                Status::Error,
                "inside Drop",
            ),
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
}
