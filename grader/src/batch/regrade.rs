//! Which already-graded submissions a batch grades again (`--regrade`, `--regrade-status`,
//! `--regrade-check`).

use crate::output::report::Report;
use std::path::Path;

/// Which already-graded submissions (same bytes, grader and settings) a batch grades again.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Regrade {
    /// None: their reports stay.
    #[default]
    Nothing,
    /// All of them (`--regrade`).
    Everything,
    /// Those whose report ended in one of these ways (`--regrade-status timeout,error`), e.g.
    /// after an infrastructure hiccup.
    Ended(Vec<Ending>),
    /// These checks (and what they need) for all of them, each report keeping its other results
    /// (`--regrade-check ID`, after a check changed).
    Checks(Vec<crate::catalog::CheckId>),
}

/// A way a report can end, as `--regrade-status` names it: a check's status (`timeout`, `error`,
/// `failed`, `not_implemented`, `skipped`) or the submission's (`refused`, `does_not_compile`,
/// `graded_with_timeouts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Some check of the report ended so.
    Check(crate::output::report::Status),
    /// The submission's grading ended so.
    Submission(crate::output::report::SubmissionStatus),
}

impl std::str::FromStr for Ending {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        use crate::output::report::{Status, SubmissionStatus};
        if let Ok(status) = serde_json::from_value::<Status>(serde_json::Value::String(s.to_string())) {
            return Ok(Ending::Check(status));
        }
        SubmissionStatus::ALL.into_iter().find(|status| status.as_str() == s).map(Ending::Submission).ok_or_else(|| {
            format!(
                "{s:?} is not a status: use a check's (passed, failed, not_implemented, error, timeout, skipped) or a submission's (refused, does_not_compile, graded_with_timeouts)"
            )
        })
    }
}

impl Ending {
    /// Whether `report` ended so.
    pub fn in_report(self, report: &Report) -> bool {
        match self {
            Ending::Check(status) => report.checks.iter().any(|c| c.status == status),
            Ending::Submission(status) => report.submission_status() == status,
        }
    }
}

impl Regrade {
    /// Whether a submission already graded with the same settings, whose report is in `folder`,
    /// is graded again.
    pub(super) fn again(&self, folder: &Path) -> bool {
        match self {
            Regrade::Nothing => false,
            Regrade::Everything | Regrade::Checks(_) => true,
            // An unreadable report is graded again.
            Regrade::Ended(endings) => {
                super::read_report(folder).is_none_or(|report| endings.iter().any(|ending| ending.in_report(&report)))
            }
        }
    }
}
