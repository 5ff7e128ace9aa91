//! What the judge sends back to the grader.
//!
//! The grader starts `grader-judge` for a check (or for a few checks of one exercise, run in turn)
//! with a write end of a private pipe as file descriptor [`RESULT_FD`] and a fresh random nonce on
//! its standard input. The judge runs no student code: it starts the submission's worker in the
//! sandbox described by [`WorkerLaunch`], asks it for raw outputs, and computes each verdict
//! itself. After each check, it writes one JSON line, a [`Message`], to that descriptor. The grader
//! accepts only the first message per check, with the nonce, for the checks that process runs.

use serde::{Deserialize, Serialize};

/// The file descriptor the result pipe is installed on in the child.
pub const RESULT_FD: i32 = 3;

/// How a check ended, as the child saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildStatus {
    /// Ran to completion; `score` says how much passed.
    Completed,
    /// The student's code hit a `todo!()`.
    NotImplemented,
    /// The student's code panicked, or something it needed was missing.
    Error,
    /// The worker used up its time (its CPU time budget, which the kernel enforces).
    Timeout,
}

/// The result of one check, as measured in the child.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Completed, not implemented, or error.
    pub status: ChildStatus,
    /// Fraction of the check's points earned, in [0, 1].
    pub score: f64,
    /// What the student should read.
    pub message: String,
    /// Measurements for reports and plots (variances, histories, accuracies).
    #[serde(default)]
    pub details: serde_json::Value,
}

impl Outcome {
    /// Full marks.
    pub fn pass(message: impl Into<String>) -> Self {
        Self { status: ChildStatus::Completed, score: 1.0, message: message.into(), details: serde_json::Value::Null }
    }

    /// No marks.
    pub fn fail(message: impl Into<String>) -> Self {
        Self { status: ChildStatus::Completed, score: 0.0, message: message.into(), details: serde_json::Value::Null }
    }

    /// Part of the marks.
    pub fn partial(score: f64, message: impl Into<String>) -> Self {
        Self {
            status: ChildStatus::Completed,
            score: score.clamp(0.0, 1.0),
            message: message.into(),
            details: serde_json::Value::Null,
        }
    }

    /// Attaches measurements.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// One line on the result pipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The nonce the grader gave this process.
    pub nonce: String,
    /// The check this result is for.
    pub check: String,
    /// The result.
    pub outcome: Outcome,
    /// Seconds since the process started, when the result was written (a process running several
    /// checks tells how long each took).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_s: Option<f64>,
    /// The protections the worker of this check ran under, in words (`None`: no worker ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_sandbox: Option<String>,
}

/// How the judge starts the worker: the submission's own program, in the sandbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerLaunch {
    /// The worker binary built against the submission.
    pub program: std::path::PathBuf,
    /// Its working folder (its only writable one).
    pub workdir: std::path::PathBuf,
    /// Environment variables it gets.
    pub env: Vec<(String, String)>,
    /// Its limits (the time limit is the judge's: the grader ends both).
    pub limits: crate::run::sandbox::Limits,
    /// Its file-system and network view, where namespaces can be made.
    pub isolation: Option<crate::run::sandbox::Isolation>,
}

/// What a judge process is asked to do first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// Say what the worker sees (CUDA, devices, libtorch) before grading starts.
    Info,
    /// Run this check.
    Check(crate::catalog::CheckId),
}

impl Task {
    /// The name its result [`Message`] carries in `check`.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Info => "__info",
            Task::Check(id) => id.as_str(),
        }
    }
}

/// Command-line arguments of `grader-judge`, shared so that both sides agree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRequest {
    /// What to do first.
    pub task: Task,
    /// `smoke` or `full`.
    pub profile: String,
    /// A folder where the judge keeps what one check leaves for another (trained weights and
    /// reports), shared by the checks of one grading run and never visible to the worker.
    pub scratch: std::path::PathBuf,
    /// How to start the worker.
    pub worker: WorkerLaunch,
    /// CIFAR-10 folder for the full profile.
    pub data: Option<std::path::PathBuf>,
    /// Seed for everything random.
    pub seed: u64,
    /// Checks to run after `check` in the same process, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub then: Vec<crate::catalog::CheckId>,
    /// libtorch's CPU threads in this process (`None`: its default, one per core).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
}

impl RunRequest {
    /// As `grader-judge` arguments.
    pub fn to_args(&self) -> Vec<String> {
        vec!["--request".into(), serde_json::to_string(self).expect("serializable")]
    }

    /// Parses what [`RunRequest::to_args`] produced.
    pub fn from_args(args: &[String]) -> Result<Self, String> {
        match args {
            [flag, json] if flag == "--request" => serde_json::from_str(json).map_err(|e| format!("bad request: {e}")),
            _ => Err("usage: grader-judge --request JSON (grader-judge is started by `grader`, not by hand)".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_through_args() {
        let r = RunRequest {
            task: Task::Check(crate::catalog::CheckId::BasicBlockShape),
            profile: "smoke".into(),
            scratch: "/tmp/x".into(),
            worker: WorkerLaunch {
                program: "/w".into(),
                workdir: "/tmp/w".into(),
                env: vec![("A".into(), "b".into())],
                limits: crate::run::sandbox::Limits {
                    time: std::time::Duration::from_secs(3),
                    clock: crate::run::sandbox::Clock::Cpu,
                    memory_bytes: Some(1 << 30),
                    processes: 64,
                },
                isolation: Some(crate::run::sandbox::Isolation {
                    hide: vec!["/h".into()],
                    writable: vec!["/tmp/w".into()],
                    read_only: true,
                    visible: vec!["/v".into()],
                    uid: Some(200_001),
                    gpu: false,
                    trusted: false,
                }),
            },
            data: None,
            seed: 9,
            then: vec![],
            threads: None,
        };
        assert_eq!(RunRequest::from_args(&r.to_args()).unwrap(), r);
        let grouped = RunRequest { then: vec![crate::catalog::CheckId::BasicBlockOutputs], threads: Some(2), ..r };
        assert_eq!(RunRequest::from_args(&grouped.to_args()).unwrap(), grouped);
        assert!(RunRequest::from_args(&["x".into()]).unwrap_err().contains("usage"));
        let info = RunRequest { task: Task::Info, ..grouped };
        assert_eq!(RunRequest::from_args(&info.to_args()).unwrap(), info);
    }

    #[test]
    fn partial_scores_are_clamped() {
        assert_eq!(Outcome::partial(1.7, "").score, 1.0);
        assert_eq!(Outcome::partial(-1.0, "").score, 0.0);
    }
}
