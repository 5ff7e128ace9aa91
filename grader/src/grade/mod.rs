//! Grades one crate: builds its worker, runs the selected checks in judge processes (each starts
//! the worker in the sandbox and judges what it returns), and turns what came back (or did not)
//! into scores and a [`Report`].
//!
//! `plan` picks the checks; `session` runs them in judge processes; `results` scores what they
//! reported; this module ties the steps together and assembles the report.

mod plan;
mod results;
mod session;
#[cfg(test)]
mod tests;

pub use plan::plan;
pub use results::explain_missing_result;
pub use session::allocator_conf;

use crate::catalog::{Check, Exercise};
use crate::output::report::{BuildInfo, CheckResult, Metadata, Report, SCHEMA_VERSION, Status, round2};
use crate::profile::ProfileName;
use crate::run::pace::Pace;
use crate::run::sandbox;
use crate::run::worker_build::{self, BuildFailure, Built, Workspace};
use anyhow::{Context, Result, bail};
use plan::process_groups;
use results::result_for;
use session::{Session, running};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

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

fn assemble(options: &GradeOptions, results: Vec<CheckResult>, build: BuildInfo, facts: RunFacts) -> Report {
    let mut report = Report {
        schema_version: SCHEMA_VERSION,
        // Set from the results by `total_up` below.
        score: 0.0,
        max_score: 0.0,
        hidden_checks_included: false,
        exercises: Vec::new(),
        checks: results,
        build,
        submission: None,
        overrides: Vec::new(),
        lateness: None,
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
    };
    report.total_up(options.profile);
    report
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

/// The folders of one grading run, below a parent every worker sees only its own run of: the
/// judge's artifacts (hidden from the worker), the worker's binary and its working folder. Dropping
/// it removes them (the trained weights with them: the report holds what matters).
struct RunFolder {
    /// Removed on drop.
    _dir: tempfile::TempDir,
    /// The parent of every run's folder.
    runs: PathBuf,
    /// This run's folder (canonical).
    root: PathBuf,
    /// What one check leaves for another (trained weights, reports); the worker never sees it.
    scratch: PathBuf,
    /// The judge's working folder.
    judge_dir: PathBuf,
    /// The worker's working folder, its only writable one.
    worker_dir: PathBuf,
}

impl RunFolder {
    fn create() -> Result<Self> {
        let runs = std::env::temp_dir().join("resnet-lab-runs");
        std::fs::create_dir_all(&runs).with_context(|| format!("cannot create {}", runs.display()))?;
        let dir = tempfile::Builder::new()
            .prefix("run-")
            .tempdir_in(&runs)
            .context("cannot create a run folder in the temporary directory")?;
        let root = dir.path().canonicalize()?;
        let folder = RunFolder {
            scratch: root.join("artifacts"),
            judge_dir: root.join("judge"),
            worker_dir: root.join("worker"),
            runs,
            root,
            _dir: dir,
        };
        for sub in [&folder.judge_dir, &folder.worker_dir, &folder.root.join("bin")] {
            std::fs::create_dir_all(sub)?;
        }
        for sub in ["training", "ablation"] {
            std::fs::create_dir_all(folder.scratch.join(sub))?;
        }
        Ok(folder)
    }

    /// Copies the built worker into the run folder (where its uid may run it); the build's own
    /// copy goes when it was temporary.
    fn install_worker(&self, built: &Built) -> Result<PathBuf> {
        let copy = self.root.join("bin/grader-worker");
        std::fs::copy(&built.binary, &copy)
            .with_context(|| format!("cannot copy the worker {}", built.binary.display()))?;
        if built.temporary {
            let _ = std::fs::remove_file(&built.binary);
        }
        Ok(copy)
    }
}

/// Where the checks ran, for the report's metadata.
struct RunEnvironment {
    device: String,
    libtorch: String,
    isolation: String,
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
    let folder = RunFolder::create()?;
    let (results, build, environment) = match prepared {
        Prepared::Worker(built) => {
            let worker = folder.install_worker(&built)?;
            let build = BuildInfo { ok: true, duration_s: round2(built.seconds), errors: None };
            let (results, environment) = run_checks(options, &checks, &folder, worker, &built.confinement)?;
            (results, build, environment)
        }
        Prepared::DoesNotCompile { first_errors, log } => {
            std::fs::write(options.out_dir.join("build.log"), log)?;
            let results = does_not_compile(&checks, &first_errors);
            let build = BuildInfo { ok: false, duration_s: 0.0, errors: Some(first_errors) };
            let environment = RunEnvironment {
                device: "none (the crate did not compile)".into(),
                libtorch: "unknown".into(),
                isolation: "none (nothing ran)".into(),
            };
            (results, build, environment)
        }
    };
    let facts = RunFacts {
        device: environment.device,
        libtorch: environment.libtorch,
        isolation: environment.isolation,
        sources_sha256: sources_hash(&crate_dir),
        started_at,
        duration_s: started.elapsed().as_secs_f64(),
    };
    drop(folder);
    Ok(assemble(options, results, build, facts))
}

/// Every planned check fails for the one reason the crate does not compile.
fn does_not_compile(checks: &[&'static Check], first_errors: &str) -> Vec<CheckResult> {
    let first = first_errors.lines().next().unwrap_or("");
    checks
        .iter()
        .map(|check| {
            let message = format!("the crate does not compile: {first}");
            // The check's hint is about its exercise; the compiler's errors are what to read.
            let result = result_for(check, Status::Error, 0.0, message, 0.0, serde_json::Value::Null);
            CheckResult { hint: None, ..result }
        })
        .collect()
}

/// Runs `checks` with `worker` in judge processes and says where they ran.
fn run_checks(
    options: &GradeOptions,
    checks: &[&'static Check],
    folder: &RunFolder,
    worker: PathBuf,
    build_confinement: &str,
) -> Result<(Vec<CheckResult>, RunEnvironment)> {
    let mut hidden = hidden_folders(options, &[&folder.root]);
    hidden.push(folder.scratch.clone());
    hidden.extend(sandbox::all_but(&folder.runs, std::slice::from_ref(&folder.root)));
    let uid = crate::run::jail::run_uid(&folder.root);
    hand_to_worker(&folder.root, &folder.worker_dir, uid)?;
    let session = Session {
        uid,
        hidden,
        read_only_root: std::cell::Cell::new(sandbox::Isolation::read_only_root()),
        judge: judge_binary(options)?,
        worker,
        worker_dir: folder.worker_dir.clone(),
        planned: checks.to_vec(),
        sandboxes: std::cell::RefCell::new(Vec::new()),
        options,
        scratch: folder.scratch.clone(),
        workdir: folder.judge_dir.clone(),
    };
    let info = session.runner_info()?;
    let cuda = info["cuda"].as_bool().unwrap_or(false);
    if options.profile == ProfileName::Full && !cuda {
        let sandbox = session.sandboxes.borrow().join("; ");
        bail!(
            "the full profile needs a CUDA GPU, and libtorch sees none here; use --profile smoke on a CPU (the worker ran under: {sandbox})"
        );
    }
    let device = if options.profile == ProfileName::Full {
        gpu_name()
    } else {
        format!("cpu ({} threads)", info["threads"].as_i64().unwrap_or(0))
    };
    let mut results: Vec<CheckResult> = Vec::new();
    for group in process_groups(checks) {
        let dependency = group[0].after.and_then(|dep| results.iter().find(|r| r.id == dep));
        let produced = match dependency.and_then(|dep| results::blocked_by(group[0], dep)) {
            Some(blocked) => vec![blocked],
            None => {
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
    let environment = RunEnvironment {
        device,
        libtorch: info["libtorch"].as_str().unwrap_or("unknown").to_string(),
        isolation: session.isolation(build_confinement),
    };
    Ok((results, environment))
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
