//! `report.json`: the graded result of one crate. Versioned ([`SCHEMA_VERSION`]) and described by
//! `grader/report.schema.json`; also convertible to Gradescope's `results.json`.

use crate::catalog::{CheckId, Exercise, Visibility};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change of the report's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Full marks.
    Passed,
    /// Ran, and earned less than full marks.
    Failed,
    /// The student's code still has its `todo!()`.
    NotImplemented,
    /// Crashed, panicked, ran out of memory, or could not run.
    Error,
    /// Killed at its time limit.
    Timeout,
    /// Not run, because a check it needs did not finish.
    Skipped,
}

impl Status {
    /// Lowercase name as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::NotImplemented => "not_implemented",
            Self::Error => "error",
            Self::Timeout => "timeout",
            Self::Skipped => "skipped",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CheckResult {
    /// The check.
    pub id: CheckId,
    /// Its exercise.
    pub exercise: Exercise,
    /// What the check verifies.
    pub name: String,
    /// Points earned.
    pub score: f64,
    /// Points possible.
    pub max_score: f64,
    /// How it ended.
    pub status: Status,
    /// What the student should read.
    pub message: String,
    /// Where to look when it did not pass.
    pub hint: Option<String>,
    /// Who sees it.
    pub visibility: Visibility,
    /// Wall-clock seconds of its process (0 for checks reported by another check's process).
    pub duration_s: f64,
    /// Measurements (variances, histories, accuracies) for reports and plots.
    pub details: serde_json::Value,
    /// The time limit it ran under (absent for checks that did not run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<TimeLimitUsed>,
}

impl CheckResult {
    /// `id — name`: the check as a course platform's test is named.
    pub fn test_name(&self) -> String {
        format!("{} — {}", self.id, self.name)
    }

    /// Its message, with its hint below where it did not pass: a platform test's output.
    pub fn message_with_hint(&self) -> String {
        match (&self.hint, self.status == Status::Passed) {
            (Some(hint), false) => format!("{}\nHint: {hint}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// The time limit a check ran under, beside the time it used (`duration_s`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TimeLimitUsed {
    /// The limit in seconds, on `clock`.
    pub seconds: u64,
    /// How it is measured: `wall`, or `cpu` (computation, so a busy machine does not count).
    pub clock: crate::run::sandbox::Clock,
    /// When the wall clock stops it: the limit, or on the CPU clock a multiple of it.
    pub wall_stop_s: u64,
    /// Why it ran a second time, alone, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retried: Option<String>,
}

impl TimeLimitUsed {
    /// The record of `limits`.
    pub fn of(limits: &crate::run::sandbox::Limits, retried: Option<String>) -> Self {
        Self { seconds: limits.time.as_secs(), clock: limits.clock, wall_stop_s: limits.wall().as_secs(), retried }
    }

    /// In words, for pages and summaries: "180 s of computation" or "60 s".
    pub fn describe(&self) -> String {
        match self.clock {
            crate::run::sandbox::Clock::Wall => format!("{} s", self.seconds),
            crate::run::sandbox::Clock::Cpu => format!("{} s of computation (CPU time)", self.seconds),
        }
    }
}

/// One exercise's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ExerciseTotal {
    /// The exercise.
    pub id: Exercise,
    /// Its title.
    pub title: String,
    /// The answer file.
    pub file: String,
    /// Points earned in the checks that ran.
    pub score: f64,
    /// Points possible in the checks that ran.
    pub max_score: f64,
    /// `passed` (all checks passed), `not_implemented` (every check hit a `todo!()`), or `failed`.
    pub status: Status,
}

/// How building the graded crate went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BuildInfo {
    /// Whether it compiled.
    pub ok: bool,
    /// Seconds the build took.
    pub duration_s: f64,
    /// The compiler's first errors when it did not compile.
    pub errors: Option<String>,
}

/// A submission's origin and what the grader took from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SubmissionInfo {
    /// The student, from the submission's file name.
    pub student: String,
    /// The submission's file or folder name.
    pub source: String,
    /// sha256 of the submission (the zip's bytes, or its files).
    pub sha256: String,
    /// Answer files used: crate path and the path it came from.
    pub used: Vec<(String, String)>,
    /// Answer files the submission lacks.
    pub missing: Vec<String>,
    /// Files of the submission the grader ignored.
    pub ignored: Vec<String>,
    /// Why the submission was refused, if it was.
    pub refused: Option<String>,
    /// When its manifest (`make submit`) says it was made: the student's machine's clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<String>,
}

/// Facts about the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Metadata {
    /// The grader's version.
    pub grader_version: String,
    /// The grader's git revision.
    pub git_revision: String,
    /// `smoke` or `full`.
    pub profile: String,
    /// The device checks ran on.
    pub device: String,
    /// The libtorch version the runner links.
    pub libtorch: String,
    /// How check processes were isolated from the network and the test split (empty in reports
    /// written before this field existed, which must stay readable for resumed batches).
    #[serde(default)]
    pub isolation: String,
    /// The seed of the run.
    pub seed: u64,
    /// sha256 over the graded answer files (path and content, in path order).
    pub sources_sha256: String,
    /// The graded crate.
    pub crate_path: String,
    /// RFC 3339 UTC.
    pub started_at: String,
    /// RFC 3339 UTC.
    pub finished_at: String,
    /// Seconds from start to finish.
    pub duration_s: f64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Points earned.
    pub score: f64,
    /// Points possible in the checks that ran.
    pub max_score: f64,
    /// Whether hidden checks ran (`false` in a student's `make check`).
    pub hidden_checks_included: bool,
    /// Every check that ran, in catalog order.
    pub checks: Vec<CheckResult>,
    /// Totals per exercise, in notebook order.
    pub exercises: Vec<ExerciseTotal>,
    /// The build of the graded crate.
    pub build: BuildInfo,
    /// Where the graded crate came from, when it was a submission (`grader grade`/`batch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<SubmissionInfo>,
    /// Facts about the run.
    pub metadata: Metadata,
    /// Instructor overrides applied to the scores above (a batch folder's `overrides.csv`; never
    /// in a `report.json` the grader wrote, which holds what it measured).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<crate::output::overrides::Override>,
    /// How late it was and what that cost, where the batch folder has a `course.toml` (applied,
    /// like overrides, to the gradebook, dashboard and pages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lateness: Option<crate::output::deadline::Lateness>,
}

impl Report {
    /// Whether every check that ran passed.
    pub fn all_passed(&self) -> bool {
        self.build.ok && self.checks.iter().all(|c| c.status == Status::Passed)
    }

    /// This report with the results of the checks `newer` ran put in place of its own (a
    /// `--regrade-check` run), its totals recomputed; the rest stays as it was. `newer`'s build and
    /// timing facts are the latest.
    pub fn with_results_of(mut self, newer: Report) -> Report {
        for result in newer.checks {
            match self.checks.iter_mut().find(|c| c.id == result.id) {
                Some(old) => *old = result,
                None => self.checks.push(result),
            }
        }
        let profile =
            crate::profile::ProfileName::parse(&self.metadata.profile).unwrap_or(crate::profile::ProfileName::Smoke);
        self.total_up(profile);
        self.build = newer.build;
        self.metadata.finished_at = newer.metadata.finished_at;
        self
    }

    /// Puts the check results in catalog order and sets every total from them: the score, the
    /// points possible, each exercise's (of a run in `profile`), whether hidden checks ran.
    pub fn total_up(&mut self, profile: crate::profile::ProfileName) {
        self.checks.sort_by_key(|c| crate::catalog::CHECKS.iter().position(|row| row.id == c.id));
        self.score = round2(self.checks.iter().map(|c| c.score).sum());
        self.max_score = self.checks.iter().map(|c| c.max_score).sum();
        self.exercises = Report::exercise_totals(&self.checks, profile);
        self.hidden_checks_included = self.checks.iter().any(|c| c.visibility == crate::catalog::Visibility::Hidden);
    }

    /// Totals per exercise from the check results of a run in `profile`.
    pub fn exercise_totals(checks: &[CheckResult], profile: crate::profile::ProfileName) -> Vec<ExerciseTotal> {
        Exercise::ALL
            .iter()
            .filter_map(|e| {
                let mine: Vec<&CheckResult> = checks.iter().filter(|c| c.exercise == *e).collect();
                if mine.is_empty() {
                    return None;
                }
                let status = if mine.iter().all(|c| c.status == Status::Passed) {
                    Status::Passed
                } else if mine.iter().all(|c| matches!(c.status, Status::NotImplemented)) {
                    Status::NotImplemented
                } else {
                    Status::Failed
                };
                Some(ExerciseTotal {
                    id: *e,
                    title: e.title_in(profile),
                    file: e.file().to_string(),
                    score: round2(mine.iter().map(|c| c.score).sum()),
                    max_score: mine.iter().map(|c| c.max_score).sum(),
                    status,
                })
            })
            .collect()
    }
}

/// The report of the fixture `name` (`tests/fixtures/reports/<name>/report.json`), for tests.
#[cfg(test)]
pub fn fixture(name: &str) -> Report {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/fixtures/reports/{name}/report.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Rounds points to hundredths (scores are shown and summed at that precision).
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// How a submission's grading ended, as the gradebook's `status` column and the dashboard say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SubmissionStatus {
    /// Every check ran within its limit.
    Graded,
    /// Graded, and some check hit its time limit (worth a look: a slow machine, or an endless loop).
    GradedWithTimeouts,
    /// The answer files did not compile; every check scored 0.
    DoesNotCompile,
    /// The submission was not graded (an unreadable or hostile archive); the report says why.
    Refused,
}

impl SubmissionStatus {
    /// Every status.
    pub const ALL: [SubmissionStatus; 4] =
        [Self::Graded, Self::GradedWithTimeouts, Self::DoesNotCompile, Self::Refused];

    /// Its name in `grades.csv` and the pages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Graded => "graded",
            Self::GradedWithTimeouts => "graded_with_timeouts",
            Self::DoesNotCompile => "does_not_compile",
            Self::Refused => "refused",
        }
    }

    /// Whether its checks ran (so that their failures say something about the class's work).
    pub fn was_graded(self) -> bool {
        matches!(self, Self::Graded | Self::GradedWithTimeouts)
    }
}

impl std::fmt::Display for SubmissionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl Report {
    /// How this submission's grading ended.
    pub fn submission_status(&self) -> SubmissionStatus {
        match (&self.submission, self.build.ok) {
            (Some(s), _) if s.refused.is_some() => SubmissionStatus::Refused,
            (_, false) => SubmissionStatus::DoesNotCompile,
            _ if self.checks.iter().any(|c| c.status == Status::Timeout) => SubmissionStatus::GradedWithTimeouts,
            _ => SubmissionStatus::Graded,
        }
    }

    /// One short sentence on why points were lost (the gradebook's `reason`).
    pub fn short_reason(&self) -> String {
        let report = self;
        let text = if let Some(refused) = report.submission.as_ref().and_then(|s| s.refused.clone()) {
            refused
        } else if let Some(errors) = &report.build.errors {
            errors.lines().next().unwrap_or("").to_string()
        } else if let Some(c) = report.checks.iter().find(|c| c.status != Status::Passed) {
            format!("{}: {}", c.id, c.message)
        } else {
            String::new()
        };
        let mut short: String = text.chars().take(160).collect();
        if text.chars().count() > 160 {
            short.push('…');
        }
        short
    }
}
