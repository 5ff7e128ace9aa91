//! The batch outputs computed from the per-student reports in a folder: `grades.csv` (one row per
//! student, a points-possible row first, as otter writes it), `check_stats.csv` (per check: pass
//! rate, mean score, most common failure), and the one-screen summary. Everything here reads
//! reports only, so `grader batch` and `grader merge` share it.

use crate::catalog::{CHECKS, Exercise};
use crate::output::report::{Report, Status, SubmissionStatus};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::Path;

/// The reports of a graded folder someone named (`grader pages`, `grader merge`): an error that
/// says what is wrong when it is not a folder, or holds neither a `<student>/report.json` nor the
/// `grades.csv` of a batch (a shard with no submissions has only that).
pub fn load_graded_folder(folder: &Path) -> Result<BTreeMap<String, Report>> {
    if !folder.is_dir() {
        bail!("{} is not a folder; name a `grader batch` output folder", folder.display());
    }
    let reports = load_reports(folder)?;
    if reports.is_empty() && !folder.join("grades.csv").is_file() {
        bail!(
            "{} holds no <student>/report.json; name a `grader batch` output folder (or one report's folder)",
            folder.display()
        );
    }
    Ok(reports)
}

/// The `report.json` in `folder`: an error naming it when it does not read or is not a report.
pub fn read_report(folder: &Path) -> Result<Report> {
    let path = folder.join("report.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a grading report", path.display()))
}

/// Every `<student>/report.json` below `out` (hidden folders skipped), by student; none when
/// `out` does not exist yet.
pub fn load_reports(out: &Path) -> Result<BTreeMap<String, Report>> {
    let mut reports = BTreeMap::new();
    if !out.is_dir() {
        return Ok(reports);
    }
    for entry in std::fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("").to_string();
        if name.starts_with('.') || !path.join("report.json").is_file() {
            continue;
        }
        reports.insert(name, read_report(&path)?);
    }
    Ok(reports)
}

/// Text for a spreadsheet cell: a leading `=`, `+`, `-`, `@`, tab or carriage return (which
/// spreadsheets run as a formula; a file name or a message is a student's text) gets a `'` before it.
fn text_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_string() }
}

/// The number of columns of the first row (the header).
fn header_len(rows: &[Vec<String>]) -> usize {
    rows.first().map_or(0, Vec::len)
}

/// The score the grader measured, before overrides and the late penalty.
fn raw_total(report: &Report) -> f64 {
    let before_penalty = report.lateness.as_ref().map_or(report.score, |l| l.score_before);
    before_penalty - crate::output::overrides::change(report)
}

/// `submitted_at`, `time_source`, `late_hours`, `penalty_percent` (empty without a course file).
fn lateness_cells(lateness: Option<&crate::output::deadline::Lateness>) -> [String; 4] {
    match lateness {
        None => Default::default(),
        Some(l) => [
            l.submitted_at.clone().unwrap_or_default(),
            l.source.as_str().to_string(),
            format!("{:.2}", l.late_by_s as f64 / 3600.0),
            points(l.penalty_percent),
        ],
    }
}

/// `rows` as CSV text (RFC 4180 quoting where a field needs it, `\n` line ends), by the `csv` crate.
pub fn csv_text(rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    for row in rows {
        writer.write_record(&row).expect("writing to memory does not fail");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory does not fail")).expect("fields are UTF-8")
}

fn points(x: f64) -> String {
    format!("{}", (x * 100.0).round() / 100.0)
}

/// `grades.csv`: header, points possible, then one row per student.
pub fn grades_csv(reports: &BTreeMap<String, Report>) -> String {
    let mut header = vec!["student".to_string()];
    header.extend(Exercise::ALL.iter().map(|e| e.id().to_string()));
    header.extend(
        [
            "total",
            "max",
            "status",
            "reason",
            "source",
            "override",
            "raw_total",
            "submitted_at",
            "time_source",
            "late_hours",
            "penalty_percent",
        ]
        .map(String::from),
    );
    let mut rows = vec![header];
    let mut possible = vec!["POINTS POSSIBLE".to_string()];
    possible.extend(Exercise::ALL.iter().map(|e| points(e.points())));
    let total: f64 = Exercise::ALL.iter().map(|e| e.points()).sum();
    possible.extend([points(total), points(total)]);
    possible.resize(header_len(&rows), String::new());
    rows.push(possible);
    for (student, report) in reports {
        // An id holds no `=`, `+`, `@` or space (see `batch::student_id`) and is the folder's name:
        // it is not quoted.
        let mut row = vec![student.clone()];
        for exercise in Exercise::ALL {
            let score = report.exercises.iter().find(|e| e.id == exercise).map_or(0.0, |e| e.score);
            row.push(points(score));
        }
        row.extend([
            points(report.score),
            points(report.max_score),
            report.submission_status().as_str().to_string(),
            text_cell(&report.short_reason()),
            text_cell(report.submission.as_ref().map_or("", |s| s.source.as_str())),
            if report.overrides.is_empty() {
                String::new()
            } else {
                format!("{:+}", crate::output::overrides::change(report))
            },
            points(raw_total(report)),
        ]);
        row.extend(lateness_cells(report.lateness.as_ref()));
        rows.push(row);
    }
    csv_text(rows)
}

/// What one check did across a batch (the reports that ran it).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckStat {
    /// The check.
    pub check: &'static crate::catalog::Check,
    /// Reports that ran it.
    pub submissions: usize,
    /// Fraction of those that passed it.
    pub pass_rate: f64,
    /// Mean points earned.
    pub mean_score: f64,
    /// The most frequent message of those that did not pass, and how often it came ("" and 0
    /// when all passed).
    pub most_common_failure: (String, usize),
}

/// Per check of the catalog that some report ran, in catalog order.
pub fn check_stats(reports: &BTreeMap<String, Report>) -> Vec<CheckStat> {
    CHECKS
        .iter()
        .filter_map(|check| {
            let results: Vec<_> = reports.values().filter_map(|r| r.checks.iter().find(|c| c.id == check.id)).collect();
            if results.is_empty() {
                return None;
            }
            let n = results.len() as f64;
            let passed = results.iter().filter(|c| c.status == Status::Passed).count() as f64;
            let mut failures: BTreeMap<&str, usize> = BTreeMap::new();
            for c in results.iter().filter(|c| c.status != Status::Passed) {
                *failures.entry(c.message.as_str()).or_default() += 1;
            }
            let (message, count) =
                failures.into_iter().max_by_key(|(m, n)| (*n, std::cmp::Reverse(*m))).unwrap_or(("", 0));
            Some(CheckStat {
                check,
                submissions: results.len(),
                pass_rate: passed / n,
                mean_score: results.iter().map(|c| c.score).sum::<f64>() / n,
                most_common_failure: (message.to_string(), count),
            })
        })
        .collect()
}

/// `check_stats.csv`: [`check_stats`] as CSV.
pub fn check_stats_csv(reports: &BTreeMap<String, Report>) -> String {
    let header = [
        "check",
        "exercise",
        "max_score",
        "submissions",
        "pass_rate",
        "mean_score",
        "most_common_failure",
        "failure_count",
    ]
    .map(String::from)
    .to_vec();
    let mut rows = vec![header];
    for stat in check_stats(reports) {
        let (message, count) = stat.most_common_failure;
        rows.push(vec![
            stat.check.id.to_string(),
            stat.check.exercise.id().to_string(),
            points(stat.check.points),
            stat.submissions.to_string(),
            format!("{:.3}", stat.pass_rate),
            format!("{:.2}", stat.mean_score),
            text_cell(&message),
            count.to_string(),
        ]);
    }
    csv_text(rows)
}

/// The one-screen summary of a batch.
pub fn summary(reports: &BTreeMap<String, Report>) -> String {
    let count = |s: SubmissionStatus| reports.values().filter(|r| r.submission_status() == s).count();
    let mut totals: Vec<f64> = reports.values().map(|r| r.score).collect();
    totals.sort_by(f64::total_cmp);
    let mean = if totals.is_empty() { 0.0 } else { totals.iter().sum::<f64>() / totals.len() as f64 };
    let median = match totals.len() {
        0 => 0.0,
        n if n % 2 == 1 => totals[n / 2],
        n => (totals[n / 2 - 1] + totals[n / 2]) / 2.0,
    };
    let max = reports.values().map(|r| r.max_score).fold(0.0, f64::max);
    format!(
        "{} submissions: {} graded, {} with timeouts, {} do not compile, {} refused. Total: mean {:.1}, median {:.1} of {}.",
        reports.len(),
        count(SubmissionStatus::Graded),
        count(SubmissionStatus::GradedWithTimeouts),
        count(SubmissionStatus::DoesNotCompile),
        count(SubmissionStatus::Refused),
        mean,
        median,
        max
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_a_spreadsheet_would_run_as_a_formula_is_neutralized() {
        for (cell, written) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-2+3", "'-2+3"),
            ("jane.zip", "jane.zip"),
        ] {
            assert_eq!(text_cell(cell), written, "{cell}");
        }
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        let row = ["a", "b,c", "say \"hi\"", "two\nlines"].map(String::from).to_vec();
        assert_eq!(csv_text([row]), "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\"\n");
    }

    #[test]
    fn reports_from_before_the_isolation_field_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let report = serde_json::json!({
            "schema_version": 1, "score": 1.0, "max_score": 2.0, "hidden_checks_included": false,
            "checks": [], "exercises": [], "build": {"ok": true, "duration_s": 0.0, "errors": null},
            "metadata": {"grader_version": "0.1.0", "git_revision": "x", "profile": "smoke", "device": "cpu",
                "libtorch": "2.11.0", "seed": 0, "sources_sha256": "h", "crate_path": "/c",
                "started_at": "t", "finished_at": "t", "duration_s": 1.0}
        });
        std::fs::create_dir(dir.path().join("old")).unwrap();
        std::fs::write(dir.path().join("old/report.json"), report.to_string()).unwrap();
        let reports = load_reports(dir.path()).unwrap();
        assert_eq!(reports["old"].metadata.isolation, "");
    }

    #[test]
    fn an_empty_folder_has_just_the_header_and_points_possible() {
        let csv = grades_csv(&BTreeMap::new());
        assert_eq!(
            csv,
            "student,basic_block,bottleneck,he_init,training,ablation,total,max,status,reason,source,override,raw_total,submitted_at,time_source,late_hours,penalty_percent\nPOINTS POSSIBLE,15,15,10,15,10,65,65,,,,,,,,,\n"
        );
    }
}
