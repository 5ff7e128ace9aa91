//! A grading run's judge processes: one per check or group of checks, each given the worker's
//! launch and limits; a check its process did not report on runs again alone.

use super::GradeOptions;
use super::results::{explain_missing_result, last_lines, reported, result_for};
use crate::catalog::{Check, CheckId};
use crate::output::report::{CheckResult, TimeLimitUsed};
use crate::profile::ProfileName;
use crate::run::pace::Load;
use crate::run::protocol::{ChildStatus, Message, Outcome, RunRequest, Task, WorkerLaunch};
use crate::run::sandbox::{self, ChildRun, Clock, Exit, Limits};
use crate::run::worker_build::{self, Workspace};
use anyhow::{Context, Result, bail};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// Runs the checks of a grading run in judge processes.
pub(super) struct Session<'a> {
    pub(super) judge: PathBuf,
    /// The worker binary, in the run folder.
    pub(super) worker: PathBuf,
    /// The worker's working folder (its only writable one).
    pub(super) worker_dir: PathBuf,
    /// The unprivileged uid workers of this run get when the grader is root.
    pub(super) uid: u32,
    /// The checks of this run (a process reports only for these).
    pub(super) planned: Vec<&'static Check>,
    /// The protections the workers so far ran under, in words (each once).
    pub(super) sandboxes: std::cell::RefCell<Vec<String>>,
    pub(super) options: &'a GradeOptions,
    pub(super) scratch: PathBuf,
    pub(super) workdir: PathBuf,
    /// Folders hidden from every worker (see [`hidden_folders`]).
    pub(super) hidden: Vec<PathBuf>,
    /// Whether workers see a read-only file system (see [`runner_info`]).
    pub(super) read_only_root: std::cell::Cell<bool>,
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
        let args = request.to_args();
        let judge = sandbox::Child { program: &self.judge, args: &args, workdir: &self.workdir, env: &env, limits };
        let run = sandbox::run_child(&judge, None).with_context(|| format!("cannot start {}", self.judge.display()))?;
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
    pub(super) fn run_group(&self, group: &[&'static Check]) -> Result<Vec<CheckResult>> {
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
pub(super) fn running(group: &[&'static Check]) -> Option<Running> {
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
pub(super) struct Running(indicatif::ProgressBar);

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

impl Session<'_> {
    /// What the runner says about itself: CUDA, libtorch. Where CUDA works in a plain process but
    /// not under a read-only file system (some GPU machines), check processes get a writable one,
    /// and the report's isolation line says so.
    pub(super) fn runner_info(&self) -> Result<serde_json::Value> {
        let info = self.runner_info_once()?;
        if self.options.profile == ProfileName::Full && info["cuda"] != true && self.read_only_root.get() {
            self.read_only_root.set(false);
            let writable = self.runner_info_once()?;
            if writable["cuda"] == true {
                return Ok(writable);
            }
            self.read_only_root.set(true);
        }
        Ok(info)
    }

    fn runner_info_once(&self) -> Result<serde_json::Value> {
        let run = self.spawn(Task::Info, &[], self.limits(120, Clock::Wall))?;
        match run.messages.into_iter().find(|m| m.check == Task::Info.as_str()) {
            Some(message) => Ok(message.outcome.details),
            None => {
                bail!(
                    "the grader's judge does not start ({:?}); its output:\n{}",
                    run.exit,
                    last_lines(&run.stderr, 20)
                )
            }
        }
    }

    /// The report's isolation line: what the workers ran under, and the build's confinement.
    pub(super) fn isolation(&self, build_confinement: &str) -> String {
        let sandboxes = self.sandboxes.borrow();
        let worker = if sandboxes.is_empty() { "no worker ran".to_string() } else { sandboxes.join(" | ") };
        let writable = if self.read_only_root.get() || !sandboxes.iter().any(|s| s.starts_with("network and mount")) {
            ""
        } else {
            " (writable file system: CUDA failed under a read-only one, or RESNET_LAB_WRITABLE_ROOT is set)"
        };
        format!(
            "worker (the only process that runs the student's code): {worker}{writable}. Judge: computes every verdict and never runs student code. Build: {build_confinement}"
        )
    }
}
