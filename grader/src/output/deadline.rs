//! Deadlines: `OUT/course.toml` in a batch folder says when the work is due, and how lateness
//! costs; applied, like overrides, whenever the folder's gradebook, dashboard and pages are
//! written. The time of a submission comes, in this order, from the course platform's own record
//! (`OUT/submitted.csv`, `student,submitted_at`, as LMS exports give it), else from the manifest
//! `make submit` wrote into the zip — which the student's machine dated, and which is flagged so.
//!
//! ```toml
//! due = "2026-12-01T23:59:00-05:00"     # or "2026-12-01T23:59:00[America/Toronto]"
//! grace = "15m"                          # submissions this late are on time
//! penalty_per_day = 10.0                 # % of the score per started day late (or penalty_per_hour)
//! max_penalty = 50.0                     # % the penalty never exceeds (default 100)
//!
//! [extensions]
//! jdoe = "2026-12-04T23:59:00-05:00"     # this student's own due date
//! ```
//!
//! Lateness counts from the due date once a submission is past the grace period.

use crate::output::report::{Report, round2};
use crate::output::table::{Row, read_rows};
use anyhow::{Context, Result, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The course file of a batch folder.
pub const COURSE: &str = "course.toml";
/// The platform's submission times of a batch folder.
pub const TIMES: &str = "submitted.csv";

/// Where a submission's time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// The course platform's record (`submitted.csv`).
    Platform,
    /// The submission's own manifest: the student's machine dated it.
    Manifest,
    /// None was found: no penalty applied.
    Unknown,
}

impl TimeSource {
    /// Its name in reports and the gradebook.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeSource::Platform => "platform",
            TimeSource::Manifest => "manifest",
            TimeSource::Unknown => "unknown",
        }
    }
}

/// How late a submission was and what it cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Lateness {
    /// When it was submitted (RFC 3339), if known.
    pub submitted_at: Option<String>,
    /// Where that time came from.
    pub source: TimeSource,
    /// Its due date (the course's, or the student's extension), RFC 3339.
    pub due: String,
    /// Seconds past the due date (0 when on time, grace included).
    pub late_by_s: u64,
    /// The share of the score taken, in percent.
    pub penalty_percent: f64,
    /// The score before the penalty.
    pub score_before: f64,
}

/// How lateness costs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Penalty {
    PerDay(f64),
    PerHour(f64),
    None,
}

/// `course.toml`.
#[derive(Debug, Clone)]
struct Course {
    due: jiff::Timestamp,
    grace: std::time::Duration,
    penalty: Penalty,
    max_penalty: f64,
    extensions: BTreeMap<String, jiff::Timestamp>,
}

/// A time as RFC 3339 with an offset (`…-05:00`, `…Z`) or with a time zone (`…[America/Toronto]`).
fn parse_time(text: &str) -> Result<jiff::Timestamp> {
    let text = text.trim();
    text.parse::<jiff::Timestamp>().or_else(|_| text.parse::<jiff::Zoned>().map(|z| z.timestamp())).map_err(|_| {
        anyhow::anyhow!(
            "`{text}` is not a time: write 2026-12-01T23:59:00-05:00 or 2026-12-01T23:59:00[America/Toronto]"
        )
    })
}

impl Course {
    fn parse(text: &str) -> Result<Course> {
        let doc: toml_edit::DocumentMut = text.parse()?;
        let string = |key: &str| doc.get(key).and_then(toml_edit::Item::as_str);
        let number = |key: &str| doc.get(key).and_then(|i| i.as_float().or_else(|| i.as_integer().map(|n| n as f64)));
        let due = parse_time(string("due").context("`due` is missing (the due date)")?).context("due")?;
        let grace = match string("grace") {
            Some(text) => {
                humantime::parse_duration(text).with_context(|| format!("grace `{text}`: write 15m or 1h"))?
            }
            None => std::time::Duration::ZERO,
        };
        let penalty = match (number("penalty_per_day"), number("penalty_per_hour")) {
            (Some(_), Some(_)) => bail!("give penalty_per_day or penalty_per_hour, not both"),
            (Some(day), None) => Penalty::PerDay(day),
            (None, Some(hour)) => Penalty::PerHour(hour),
            (None, None) => Penalty::None,
        };
        let mut extensions = BTreeMap::new();
        if let Some(table) = doc.get("extensions").and_then(toml_edit::Item::as_table) {
            for (student, due) in table.iter() {
                let due = due.as_str().with_context(|| format!("extensions.{student}: a time in quotes"))?;
                extensions
                    .insert(student.to_string(), parse_time(due).with_context(|| format!("extensions.{student}"))?);
            }
        }
        Ok(Course { due, grace, penalty, max_penalty: number("max_penalty").unwrap_or(100.0), extensions })
    }

    /// What submitting at `at` costs `student`.
    fn lateness(&self, student: &str, at: Option<(jiff::Timestamp, TimeSource)>, score: f64) -> Lateness {
        let due = self.extensions.get(student).copied().unwrap_or(self.due);
        let late = at.map_or(0, |(at, _)| (at.as_second() - due.as_second()).max(0) as u64);
        let late = if late <= self.grace.as_secs() { 0 } else { late };
        let started = |unit: u64| late.div_ceil(unit) as f64;
        let penalty = match self.penalty {
            Penalty::PerDay(percent) => started(86_400) * percent,
            Penalty::PerHour(percent) => started(3_600) * percent,
            Penalty::None => 0.0,
        }
        .clamp(0.0, self.max_penalty.clamp(0.0, 100.0));
        Lateness {
            submitted_at: at.map(|(at, _)| at.to_string()),
            source: at.map_or(TimeSource::Unknown, |(_, source)| source),
            due: due.to_string(),
            late_by_s: late,
            penalty_percent: round2(penalty),
            score_before: score,
        }
    }
}

/// `submitted.csv`: student → time.
fn platform_times(path: &Path) -> Result<BTreeMap<String, jiff::Timestamp>> {
    #[derive(Deserialize)]
    struct Line {
        student: String,
        submitted_at: String,
    }
    let mut times = BTreeMap::new();
    for Row { at, record } in read_rows::<Line>(path, "student,submitted_at")? {
        times.insert(record.student, parse_time(&record.submitted_at).with_context(|| at)?);
    }
    Ok(times)
}

/// Applies `folder/course.toml`, if there is one, to `reports` (student → report): each gets its
/// lateness, and its score the penalty.
pub fn apply_files(folder: &Path, reports: &mut BTreeMap<String, Report>) -> Result<()> {
    let path = folder.join(COURSE);
    if !path.is_file() {
        return Ok(());
    }
    let course = Course::parse(&std::fs::read_to_string(&path)?).with_context(|| path.display().to_string())?;
    let times = match folder.join(TIMES) {
        times if times.is_file() => platform_times(&times)?,
        _ => BTreeMap::new(),
    };
    for (student, report) in reports.iter_mut() {
        let claimed = report.submission.as_ref().and_then(|s| s.claimed_at.as_deref()).and_then(|t| parse_time(t).ok());
        let at = times.get(student).map(|t| (*t, TimeSource::Platform)).or(claimed.map(|t| (t, TimeSource::Manifest)));
        let lateness = course.lateness(student, at, report.score);
        report.score = round2(report.score * (1.0 - lateness.penalty_percent / 100.0));
        report.lateness = Some(lateness);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COURSE_TOML: &str = r#"
due = "2026-12-01T23:59:00-05:00"
grace = "15m"
penalty_per_day = 10
max_penalty = 25

[extensions]
jdoe = "2026-12-03T23:59:00[America/Toronto]"
"#;

    fn at(text: &str) -> Option<(jiff::Timestamp, TimeSource)> {
        Some((parse_time(text).unwrap(), TimeSource::Platform))
    }

    #[test]
    fn grace_started_days_the_cap_and_extensions() {
        let course = Course::parse(COURSE_TOML).unwrap();
        let cost = |student: &str, time: &str| course.lateness(student, at(time), 50.0).penalty_percent;
        assert_eq!(cost("ann", "2026-12-01T23:00:00-05:00"), 0.0, "early");
        assert_eq!(cost("ann", "2026-12-02T00:10:00-05:00"), 0.0, "within the grace period");
        assert_eq!(cost("ann", "2026-12-02T00:20:00-05:00"), 10.0, "a started day");
        assert_eq!(cost("ann", "2026-12-03T00:00:00-05:00"), 20.0, "two started days");
        assert_eq!(cost("ann", "2026-12-09T00:00:00-05:00"), 25.0, "capped");
        assert_eq!(cost("jdoe", "2026-12-03T12:00:00-05:00"), 0.0, "an extension");
        // 05:00Z is a minute past 23:59-05:00: within the grace; an hour later is an hour late.
        let late = course.lateness("ann", at("2026-12-02T05:00:00Z"), 50.0);
        assert_eq!((late.late_by_s, late.penalty_percent), (0, 0.0));
        let late = course.lateness("ann", at("2026-12-02T05:59:00Z"), 50.0);
        assert_eq!((late.late_by_s, late.penalty_percent), (3600, 10.0));
        let unknown = course.lateness("ann", None, 50.0);
        assert_eq!((unknown.source, unknown.penalty_percent), (TimeSource::Unknown, 0.0));
    }

    #[test]
    fn time_sources_are_named_alike_in_reports_and_the_gradebook() {
        for source in [TimeSource::Platform, TimeSource::Manifest, TimeSource::Unknown] {
            assert_eq!(serde_json::to_value(source).unwrap(), source.as_str());
        }
    }

    #[test]
    fn mistakes_in_the_course_file_say_what_to_write() {
        for (text, fragment) in [
            ("grace = \"1h\"", "`due` is missing"),
            ("due = \"tomorrow\"", "is not a time"),
            ("due = \"2026-12-01T23:59:00Z\"\npenalty_per_day = 1\npenalty_per_hour = 1", "not both"),
            ("due = \"2026-12-01T23:59:00Z\"\ngrace = \"a while\"", "grace `a while`"),
        ] {
            let err = format!("{:#}", Course::parse(text).unwrap_err());
            assert!(err.contains(fragment), "{text}: {err}");
        }
    }
}
