//! `grader batch`: grades a folder of submissions (zips or folders, named freely by the LMS).
//!
//! Each submission goes through intake ([`crate::submission::intake`]), transplant ([`crate::submission::transplant`]),
//! a runner build and the checks. A builder thread compiles the next submission while the current
//! one's checks run (two staging slots, used in turn, so a build never replaces a runner in use).
//! Each student's report is written atomically as soon as it is done, and `grades.csv` and
//! `check_stats.csv` are rewritten after every student, so a batch killed at any moment loses at
//! most the submission in flight; re-running skips every submission already graded with the same
//! submission bytes, grader version and settings (`--regrade` forces).

use crate::grade::{self, GradeOptions, Prepared};
use crate::output::files::{Pages, Platform, write_batch_outputs};
use crate::output::gradebook;
use crate::output::report::{Report, SubmissionInfo};
use crate::submission::Refusal;
use crate::submission::intake::{self, IntakeLimits};
use crate::submission::transplant::{self, TransplantError};
mod regrade;
mod submissions;

pub use regrade::{Ending, Regrade};
pub use submissions::{Shard, Submission, fingerprint, list, select, student_id};

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// What must match for an earlier result to be reused.
fn grading_key(sha: &str, options: &GradeOptions) -> String {
    format!(
        "{sha} grader={} rev={} profile={} hidden={} only={:?} seed={} cap={:?}",
        env!("CARGO_PKG_VERSION"),
        env!("GRADER_GIT_REVISION"),
        options.profile.as_str(),
        options.hidden,
        options.only,
        options.seed,
        options.max_check_seconds
    )
}

const KEY_FILE: &str = "grading-key.txt";

/// A submission staged for grading: what the grader took from it, and the crate (unless refused).
#[derive(Debug)]
pub struct Staged {
    /// Provenance for the report.
    pub info: SubmissionInfo,
    /// The crate to build, unless refused.
    pub crate_dir: Option<PathBuf>,
}

/// Intake and transplant of one submission into `slot` (a staging folder of this batch).
pub fn stage(submission: &Submission, pristine: &Path, slot: &Path) -> Result<Staged> {
    let sha256 = fingerprint(&submission.path);
    let mut info = SubmissionInfo {
        student: submission.student.clone(),
        source: submission.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        sha256,
        used: Vec::new(),
        missing: Vec::new(),
        ignored: Vec::new(),
        refused: None,
        claimed_at: None,
    };
    let files = match intake::read_submission(&submission.path, &IntakeLimits::default()) {
        Ok(files) => files,
        Err(refusal) => {
            info.refused = Some(refusal.to_string());
            return Ok(Staged { info, crate_dir: None });
        }
    };
    info.claimed_at = manifest_time(&files);
    let crate_dir = slot.join("crate");
    match transplant::transplant(&files, pristine, &crate_dir) {
        Ok(t) => {
            info.used = t.used;
            info.missing = t.missing;
            info.ignored = t.ignored;
            if info.used.is_empty() {
                info.refused = Some(Refusal::NoAnswerFiles.to_string());
                return Ok(Staged { info, crate_dir: None });
            }
            Ok(Staged { info, crate_dir: Some(crate_dir) })
        }
        Err(TransplantError::Refused(refusal)) => {
            info.refused = Some(refusal.to_string());
            Ok(Staged { info, crate_dir: None })
        }
        Err(TransplantError::Io(e)) => Err(e),
    }
}

/// `created_at` of the submission's `manifest.json` (the shallowest one), as `make submit` wrote it.
fn manifest_time(files: &intake::Files) -> Option<String> {
    let (_, bytes) = files
        .iter()
        .filter(|(name, _)| name.rsplit('/').next() == Some("manifest.json"))
        .min_by_key(|(name, _)| name.matches('/').count())?;
    let manifest: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    manifest["created_at"].as_str().map(str::to_string)
}

/// The report in `folder`, if it reads.
fn read_report(folder: &Path) -> Option<Report> {
    gradebook::read_report(folder).ok()
}

/// libtorch's CPU threads for each check process when `jobs` students are graded at once: the
/// cores shared out (at least one each), or libtorch's default for one job at a time. Without this
/// every process starts one thread per core, and eight concurrent checks on 16 cores ran their CPU
/// work up to 10× slower (H100 machine, 2026-11-27).
pub fn threads_per_job(jobs: usize) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (jobs > 1).then(|| (cores / jobs).max(1))
}

/// The share of the GPU's memory each check process may hold when `jobs` students are graded at
/// once: nine tenths shared out (a ResNet-18 at batch 512 needs a few GB; at 8 jobs an 80 GB card
/// gives each 9 GB), no cap for one job at a time.
pub fn gpu_memory_per_job(jobs: usize) -> Option<f64> {
    (jobs > 1).then(|| 0.9 / jobs as f64)
}

/// Grades a staged submission with a prepared runner (or its failure) and writes its folder.
fn finish(
    staged: Staged,
    prepared: Option<Result<Prepared>>,
    base: &GradeOptions,
    student_out: &Path,
    platform: Platform,
    earlier: Option<Report>,
) -> Result<Report> {
    let options = GradeOptions {
        crate_dir: staged.crate_dir.clone().unwrap_or_default(),
        out_dir: student_out.to_path_buf(),
        ..base.clone()
    };
    let _ = std::fs::remove_file(student_out.join("build.log"));
    let info = staged.info;
    let mut report = match (staged.crate_dir, prepared) {
        (Some(_), Some(Ok(prepared))) => grade::grade_prepared(&options, prepared)?,
        // The toolchain failed, not the submission: stop the batch (exit 2) rather than record
        // the same failure against every student; a rerun resumes where it stopped.
        (Some(_), Some(Err(e))) => return Err(e.context(format!("grading {} stopped", info.student))),
        _ => grade::refused_report(&options, info.refused.as_deref().unwrap_or("refused"))?,
    };
    report.submission = Some(info);
    // A partial regrade of a graded submission: the new results in the earlier report.
    if let Some(earlier) = earlier.filter(|_| report.submission_status().was_graded()) {
        report = earlier.with_results_of(report);
    }
    crate::output::files::write_report_files(student_out, &report, Some(platform))?;
    Ok(report)
}

/// Grades one submission (`grader grade`): staged under `out/.staging`, report (and `platform`'s
/// `results.json`) in `out`.
pub fn grade_one(path: &Path, base: &GradeOptions, platform: Platform) -> Result<Report> {
    let workspace = crate::run::worker_build::Workspace::locate()?;
    let submission = Submission {
        student: student_id(&path.file_name().context("a submission path")?.to_string_lossy()),
        path: path.to_path_buf(),
    };
    // Nothing of the report folder or of other files beside the submission reaches its build or worker.
    let mut base = base.clone();
    if base.private.is_empty() {
        base.private = vec![base.out_dir.clone(), path.parent().unwrap_or(path).to_path_buf()];
    }
    let base = &base;
    let staged = stage(&submission, &workspace.root.join("student"), &base.out_dir.join(".staging"))?;
    let prepared =
        staged.crate_dir.as_ref().map(|dir| grade::prepare(&GradeOptions { crate_dir: dir.clone(), ..base.clone() }));
    finish(staged, prepared, base, &base.out_dir, platform, None)
}

/// What a batch did.
#[derive(Debug)]
pub struct BatchOutcome {
    /// Submissions graded in this run.
    pub graded: usize,
    /// Submissions skipped because an earlier run graded them.
    pub reused: usize,
}

/// Batch settings.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The submissions folder.
    pub submissions: PathBuf,
    /// The output folder.
    pub out: PathBuf,
    /// Only this shard.
    pub shard: Option<Shard>,
    /// Which submissions already graded with the same settings are graded again.
    pub regrade: Regrade,
    /// Submissions whose checks run at the same time (several students' checks share one GPU).
    pub jobs: usize,
    /// Everything else, as for one crate (crate_dir and out_dir are set per student).
    pub grading: GradeOptions,
}

/// Folders no build or worker of a batch may see: the submissions and the outputs.
fn private_folders(options: &BatchOptions) -> Vec<PathBuf> {
    vec![options.submissions.clone(), options.out.clone()]
}

/// A submission staged and built by the builder thread: its index in the queue, its staging slot,
/// the staged crate, and its worker (or why there is none).
type BuiltSubmission = (usize, usize, Staged, Option<Result<Prepared>>);

/// A submission to grade: its grading key, and whether only [`Regrade::Checks`] run (its report
/// keeps its other results, and its key).
#[derive(Debug, Clone)]
struct Pending {
    submission: Submission,
    key: String,
    partial: bool,
}

/// The selected submissions that need grading, and how many selected ones already have a report
/// made with the same key (reused, unless [`BatchOptions::regrade`] says otherwise).
fn pending(options: &BatchOptions) -> Result<(Vec<Pending>, usize)> {
    let mut pending = Vec::new();
    let mut reused = 0;
    for submission in select(list(&options.submissions)?, options.shard) {
        let key = grading_key(&fingerprint(&submission.path), &options.grading);
        let folder = options.out.join(&submission.student);
        let done = std::fs::read_to_string(folder.join(KEY_FILE)).ok().as_deref() == Some(key.as_str())
            && folder.join("report.json").is_file();
        if done && !options.regrade.again(&folder) {
            reused += 1;
        } else {
            let partial = done && matches!(options.regrade, Regrade::Checks(_));
            pending.push(Pending { submission, key, partial });
        }
    }
    Ok((pending, reused))
}

/// The batch's progress bar (hidden without `progress`).
fn progress_bar(progress: bool, submissions: usize) -> indicatif::ProgressBar {
    let bar = if progress { indicatif::ProgressBar::new(submissions as u64) } else { indicatif::ProgressBar::hidden() };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} submissions, eta {eta} {msg}")
            .expect("valid template"),
    );
    bar
}

/// Stages and builds the `queue`'s submissions in turn, one free slot at a time (`take_slot`),
/// handing each to the graders through `sender`. The builds see neither the submissions nor the
/// outputs (other students' work).
fn spawn_builder(
    options: &BatchOptions,
    queue: Vec<Pending>,
    pristine: PathBuf,
    take_slot: std::sync::mpsc::Receiver<usize>,
    sender: std::sync::mpsc::SyncSender<BuiltSubmission>,
) -> std::thread::JoinHandle<Result<()>> {
    let base = GradeOptions { private: private_folders(options), ..options.grading.clone() };
    let out = options.out.clone();
    std::thread::spawn(move || -> Result<()> {
        for (index, Pending { submission, .. }) in queue.iter().enumerate() {
            let Ok(slot) = take_slot.recv() else { break };
            let staged = stage(submission, &pristine, &out.join(".staging").join(format!("slot{slot}")))?;
            let prepared = staged
                .crate_dir
                .as_ref()
                .map(|dir| grade::prepare(&GradeOptions { crate_dir: dir.clone(), progress: false, ..base.clone() }));
            if sender.send((index, slot, staged, prepared)).is_err() {
                break;
            }
        }
        Ok(())
    })
}

/// The options one submission of a batch is graded with, `jobs` at a time; `partial`: only the
/// checks of [`Regrade::Checks`].
fn grading_of(options: &BatchOptions, jobs: usize, partial: bool) -> GradeOptions {
    let mut grading = GradeOptions {
        progress: false,
        private: private_folders(options),
        threads: threads_per_job(jobs),
        gpu_memory_fraction: gpu_memory_per_job(jobs),
        ..options.grading.clone()
    };
    if let (true, Regrade::Checks(ids)) = (partial, &options.regrade) {
        grading.only = ids.iter().map(|id| id.to_string()).collect();
    }
    grading
}

/// Runs a batch.
pub fn run(options: &BatchOptions) -> Result<BatchOutcome> {
    let workspace = crate::run::worker_build::Workspace::locate()?;
    let pristine = workspace.root.join("student");
    if !options.submissions.is_dir() {
        bail!("{} is not a folder of submissions", options.submissions.display());
    }
    std::fs::create_dir_all(&options.out)?;
    let (pending, reused) = pending(options)?;
    let bar = progress_bar(options.grading.progress, pending.len());
    // Staging slots: a slot (and the runner built in it) is reused only once its submission is
    // graded, so a build never replaces a runner in use. One slot per grader, plus the one being built.
    let jobs = options.jobs.max(1);
    let (free_slots, take_slot) = std::sync::mpsc::channel::<usize>();
    for slot in 0..=jobs {
        free_slots.send(slot).expect("receiver alive");
    }
    let (sender, receiver) = std::sync::mpsc::sync_channel::<BuiltSubmission>(0);
    let builder = spawn_builder(options, pending.clone(), pristine, take_slot, sender);
    let receiver = std::sync::Mutex::new(receiver);
    let gradebook_lock = std::sync::Mutex::new(());
    let graded = std::sync::atomic::AtomicUsize::new(0);
    // A toolchain failure stops the whole batch (see `finish`), not just the grader that met it.
    let stop = std::sync::atomic::AtomicBool::new(false);
    // One submission from the queue: Ok(false) when the queue is empty or the batch stopped.
    let grade_one_from_queue = || -> Result<bool> {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(false);
        }
        let next = receiver.lock().map_err(|_| anyhow::anyhow!("a grader thread panicked"))?.recv();
        let Ok((index, slot, staged, prepared)) = next else { return Ok(false) };
        let Pending { submission, key, partial } = &pending[index];
        bar.set_message(submission.student.clone());
        let folder = options.out.join(&submission.student);
        std::fs::create_dir_all(&folder)?;
        // A partial regrade keeps the key of the full grading its report stays part of.
        let earlier = partial.then(|| read_report(&folder)).flatten();
        if earlier.is_none() {
            let _ = std::fs::remove_file(folder.join(KEY_FILE));
        }
        let grading = grading_of(options, jobs, earlier.is_some());
        finish(staged, prepared, &grading, &folder, Platform::Gradescope, earlier)?;
        let _ = free_slots.send(slot);
        crate::output::files::write_atomic(&folder.join(KEY_FILE), key.as_bytes())?;
        {
            let _one_writer = gradebook_lock.lock().map_err(|_| anyhow::anyhow!("a grader thread panicked"))?;
            write_batch_outputs(&options.out, Pages::Of(&submission.student))?;
        }
        graded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        bar.inc(1);
        Ok(true)
    };
    let grade_from_queue = || -> Result<()> {
        loop {
            match grade_one_from_queue() {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
    };
    let outcomes: Vec<Result<()>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..jobs).map(|_| scope.spawn(grade_from_queue)).collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a grader thread panicked"))))
            .collect()
    });
    // Unblock the builder if it waits for a slot or a grader that will not come.
    drop(receiver);
    drop(free_slots);
    let graded = graded.into_inner();
    bar.finish_and_clear();
    builder.join().map_err(|_| anyhow::anyhow!("the build thread panicked"))??;
    outcomes.into_iter().collect::<Result<Vec<()>>>()?;
    write_batch_outputs(&options.out, Pages::Every)?;
    let _ = std::fs::remove_dir_all(options.out.join(".staging"));
    Ok(BatchOutcome { graded, reused })
}

/// Copies every student folder of `inputs` into `out` and writes the gradebook there.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<usize> {
    let shards = inputs.iter().map(|input| gradebook::load_graded_folder(input)).collect::<Result<Vec<_>>>()?;
    std::fs::create_dir_all(out)?;
    let mut seen: std::collections::HashMap<String, PathBuf> = std::collections::HashMap::new();
    for (input, reports) in inputs.iter().zip(shards) {
        for student in reports.into_keys() {
            if let Some(first) = seen.get(&student) {
                bail!(
                    "{student} is graded in both {} and {}: shards must not overlap",
                    first.display(),
                    input.display()
                );
            }
            seen.insert(student.clone(), input.clone());
            let (from, to) = (input.join(&student), out.join(&student));
            std::fs::create_dir_all(&to)?;
            for entry in std::fs::read_dir(&from)? {
                let path = entry?.path();
                if path.is_file() {
                    std::fs::copy(&path, to.join(path.file_name().expect("named")))?;
                }
            }
        }
    }
    write_batch_outputs(out, Pages::Every)?;
    Ok(seen.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_jobs_share_cores_and_gpu_memory_and_a_single_job_keeps_the_defaults() {
        assert_eq!((threads_per_job(1), gpu_memory_per_job(1)), (None, None));
        assert_eq!(threads_per_job(100_000), Some(1));
        let cores = std::thread::available_parallelism().unwrap().get();
        assert_eq!(threads_per_job(2), Some((cores / 2).max(1)));
        assert_eq!(gpu_memory_per_job(8), Some(0.1125));
    }

    #[test]
    fn shards_partition_the_submissions() {
        let all: Vec<Submission> = (0..10)
            .map(|i| Submission { student: format!("s{i}"), path: PathBuf::from(format!("s{i}.zip")) })
            .collect();
        let mut union: Vec<String> =
            (1..=3).flat_map(|k| select(all.clone(), Some(Shard { index: k, count: 3 }))).map(|s| s.student).collect();
        union.sort();
        let mut expected: Vec<String> = all.iter().map(|s| s.student.clone()).collect();
        expected.sort();
        assert_eq!(union, expected);
        assert_eq!(select(all.clone(), Some(Shard { index: 2, count: 3 })).len(), 3);
    }

    #[test]
    fn shard_syntax_is_checked() {
        assert_eq!("2/8".parse::<Shard>().unwrap(), Shard { index: 2, count: 8 });
        for bad in ["0/3", "4/3", "1-3", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_manifest_time_comes_from_the_shallowest_manifest() {
        let files: intake::Files = [
            ("hw/manifest.json".to_string(), br#"{"created_at": "2026-12-01T10:00:00Z"}"#.to_vec()),
            ("hw/notes/manifest.json".to_string(), br#"{"created_at": "1999-01-01T00:00:00Z"}"#.to_vec()),
        ]
        .into();
        assert_eq!(manifest_time(&files).as_deref(), Some("2026-12-01T10:00:00Z"));
        assert_eq!(manifest_time(&intake::Files::new()), None);
    }

    #[test]
    fn student_ids_are_safe_and_unique() {
        assert_eq!(student_id("Doe, Jane_12345_hw3.zip"), "Doe__Jane_12345_hw3");
        assert_eq!(student_id("../../x.zip"), "_.._x");
        // Names in any script stay readable; they used to become `__`, `__-2` and `_`.
        assert_eq!(student_id("çé.zip"), "çé");
        assert_eq!(student_id("ñü.zip"), "ñü");
        assert_eq!(student_id("李.zip"), "李");
        assert_eq!(student_id("Zoe\u{301}.ZIP"), "Zoe\u{301}", "macOS writes é as e and a combining accent");
        assert_eq!(student_id("a\u{2028}b.Zip"), "a_b", "a line separator is no name");
        assert_eq!(student_id("=cmd|' /C calc'!A0.zip"), "_cmd____C_calc__A0");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a b.zip"), b"").unwrap();
        std::fs::write(dir.path().join("a_b.zip"), b"").unwrap();
        std::fs::create_dir(dir.path().join(".hidden")).unwrap();
        let ids: Vec<String> = list(dir.path()).unwrap().into_iter().map(|s| s.student).collect();
        assert_eq!(ids, ["a_b", "a_b-2"]);
    }
}
