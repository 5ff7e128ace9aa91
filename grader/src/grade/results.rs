//! Scoring: a check's result from what its process reported — or, when it reported nothing, from
//! how it ended, in a sentence for the student.

use crate::catalog::{Check, Exercise};
use crate::output::report::{CheckResult, Status, round2};
use crate::run::protocol::{ChildStatus, Outcome};
use crate::run::sandbox::{ChildRun, Clock, Exit, Limits};

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

pub(super) fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub(super) fn result_for(
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
            format!("{message}{TODO_RUNS_FIRST}{} first; open {} and replace its todo!()", first.noun(), first.file())
        }
        (Status::NotImplemented, _) => format!("{message}{TODO_OPEN}{} and replace the todo!()", check.exercise.file()),
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
pub(super) fn reported(check: &Check, outcome: &Outcome, duration: f64, forged: usize) -> CheckResult {
    let mut result = from_outcome(check, outcome, duration);
    if forged > 0 {
        result.message.push_str(&format!(" (the grader ignored {forged} forged result line(s) from this process)"));
    }
    result
}

/// The result of `check` when the check it measures the artifacts of, `dependency`, did not leave
/// any: not implemented (the same `todo!()`), or skipped. `None`: it may run.
pub(super) fn blocked_by(check: &Check, dependency: &CheckResult) -> Option<CheckResult> {
    match dependency.status {
        Status::Passed | Status::Failed => None,
        // The todo!() text alone: result_for says again which file to open.
        Status::NotImplemented => Some(result_for(
            check,
            Status::NotImplemented,
            0.0,
            todo_text(&dependency.message).to_string(),
            0.0,
            serde_json::Value::Null,
        )),
        _ => Some(result_for(
            check,
            Status::Skipped,
            0.0,
            format!("not run: it measures what {} produces, and that check did not finish", dependency.id),
            0.0,
            serde_json::Value::Null,
        )),
    }
}

/// A not-implemented message without what [`result_for`] added to it (which file to open).
fn todo_text(message: &str) -> &str {
    let end = [TODO_OPEN, TODO_RUNS_FIRST].iter().filter_map(|suffix| message.find(suffix)).min();
    &message[..end.unwrap_or(message.len())]
}

/// What [`result_for`] appends to a `todo!()` message.
const TODO_OPEN: &str = ": open ";
const TODO_RUNS_FIRST: &str = ": this check runs ";
