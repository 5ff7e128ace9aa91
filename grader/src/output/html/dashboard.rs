//! `index.html`, the class dashboard of a batch folder.

use super::{READY, SORT_SCRIPT, badge, figure, lateness_line, overrides_table, page};
use crate::output::deadline::{Lateness, TimeSource};
use crate::output::gradebook;
use crate::output::overrides::Override;
use crate::output::report::{Report, Status, SubmissionStatus};
use maud::{Markup, html};
use resnet_lab_plots as charts;
use std::collections::BTreeMap;

/// `index.html`: the class dashboard of a batch folder, built from its reports (student → report).
pub fn dashboard_page(reports: &BTreeMap<String, Report>, leads: &[SimilarityLead]) -> String {
    let body = html! {
        (dashboard_header(reports))
        (check_stats_table(reports))
        (common_failures(reports))
        (status_lists(reports))
        (dashboard_overrides(reports))
        (dashboard_lateness(reports))
        (dashboard_similarity(leads))
        (students_table(reports))
    };
    page("ResNet assignment — class dashboard", body, &format!("{SORT_SCRIPT}{READY}"))
}

/// The title line, the class's totals and the score histogram.
fn dashboard_header(reports: &BTreeMap<String, Report>) -> Markup {
    let max = reports.values().map(|r| r.max_score).fold(0.0, f64::max).max(1.0);
    let scores: Vec<f64> = reports.values().map(|r| r.score).collect();
    let mean = if scores.is_empty() { 0.0 } else { scores.iter().sum::<f64>() / scores.len() as f64 };
    html! {
        h1 { "ResNet assignment — class dashboard" }
        p.meta {
            (reports.len()) " submissions · mean " (format!("{mean:.1}")) " / " (max) " · "
            a href="grades.csv" { "grades.csv" } " · " a href="check_stats.csv" { "check_stats.csv" }
        }
        div.charts {
            (figure(
                charts::histogram("Scores", "points", &scores, max, 13),
                "Total score per submission (refused and non-compiling submissions count as 0).",
            ))
        }
    }
}

/// Per check: pass rate, mean score, submissions.
fn check_stats_table(reports: &BTreeMap<String, Report>) -> Markup {
    html! {
        h2 { "Checks" }
        table #check-stats {
            thead { tr {
                th.sortable { "Check" } th.sortable { "Exercise" } th.sortable.num { "Pass rate" }
                th.sortable.num { "Mean score" } th.sortable.num { "Submissions" }
            } }
            tbody {
                @for stat in gradebook::check_stats(reports) {
                    @let percent = stat.pass_rate * 100.0;
                    tr {
                        td { code { (stat.check.id) } }
                        td { (stat.check.exercise.id()) }
                        td.num data-value=(format!("{:.4}", stat.pass_rate)) {
                            span.bar { span style=(format!("width:{percent:.0}%")) {} } (format!(" {percent:.0}%"))
                        }
                        td.num { (format!("{:.2}", stat.mean_score)) " / " (stat.check.points) }
                        td.num { (stat.submissions) }
                    }
                }
            }
        }
    }
}

/// The most frequent failure messages of submissions whose checks ran.
fn common_failures(reports: &BTreeMap<String, Report>) -> Markup {
    // Submissions that were refused or did not compile fail every check for one reason; they are
    // listed below instead of flooding this table.
    let mut failures: BTreeMap<(String, String), usize> = BTreeMap::new();
    for report in reports.values().filter(|r| r.submission_status().was_graded()) {
        for c in report.checks.iter().filter(|c| !matches!(c.status, Status::Passed | Status::Skipped)) {
            *failures.entry((c.id.to_string(), c.message.clone())).or_default() += 1;
        }
    }
    let mut common: Vec<_> = failures.into_iter().collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    html! {
        h2 { "Most common failures" }
        table #failures {
            thead { tr { th.num { "Count" } th { "Check" } th { "Message" } } }
            tbody {
                @for ((id, message), count) in common.iter().take(15) {
                    tr { td.num { (count) } td { code { (id) } } td { (message) } }
                }
            }
        }
    }
}

/// Build failures, timeouts and refused submissions, each with its reason.
fn status_lists(reports: &BTreeMap<String, Report>) -> Markup {
    let sections = [
        (SubmissionStatus::DoesNotCompile, "Build failures"),
        (SubmissionStatus::GradedWithTimeouts, "Timeouts"),
        (SubmissionStatus::Refused, "Refused submissions"),
    ];
    let reason = |status: SubmissionStatus, report: &Report| {
        if status == SubmissionStatus::GradedWithTimeouts {
            let timed_out: Vec<&str> =
                report.checks.iter().filter(|c| c.status == Status::Timeout).map(|c| c.id.as_str()).collect();
            format!("timed out: {}", timed_out.join(", "))
        } else {
            report.short_reason()
        }
    };
    html! {
        @for (status, title) in sections {
            @let rows: Vec<(&String, &Report)> = reports.iter().filter(|(_, r)| r.submission_status() == status).collect();
            h2 { (title) " (" (rows.len()) ")" }
            @if rows.is_empty() {
                p.meta { "None." }
            } @else {
                ul {
                    @for (student, report) in rows {
                        li { a href=(format!("{student}/report.html")) { (student) } ": " (reason(status, report)) }
                    }
                }
            }
        }
    }
}

/// Late submissions, and those whose time only the student's machine vouches for.
fn dashboard_lateness(reports: &BTreeMap<String, Report>) -> Markup {
    let dated: Vec<(&String, &Lateness)> =
        reports.iter().filter_map(|(student, r)| Some((student, r.lateness.as_ref()?))).collect();
    if dated.is_empty() {
        return html! {};
    }
    let late: Vec<_> = dated.iter().filter(|(_, l)| l.late_by_s > 0 || l.source != TimeSource::Platform).collect();
    html! {
        h2 { "Lateness (" (dated.iter().filter(|(_, l)| l.late_by_s > 0).count()) " late)" }
        @if late.is_empty() {
            p.meta { "Every submission was on time by the platform's clock." }
        } @else {
            ul { @for (student, l) in late { li { a href=(format!("{student}/report.html")) { (student) } ": " (lateness_line(l)) } } }
        }
    }
}

/// A pair `grader similarity` listed (a row of `OUT/similarity/pairs.csv`).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct SimilarityLead {
    /// One student.
    pub student_a: String,
    /// The other.
    pub student_b: String,
    /// The share of fingerprints they have in common (0–1).
    pub score: f64,
}

/// The similarity report's strongest leads, when the folder has one.
fn dashboard_similarity(leads: &[SimilarityLead]) -> Markup {
    if leads.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Similarity leads (" (leads.len()) ")" }
        p.meta { "Pairs sharing much of their code, for a person to review; no grade changes. " a href="similarity/index.html" { "The similarity report" } }
        ul { @for SimilarityLead { student_a: a, student_b: b, score } in leads.iter().take(20) {
            li { (format!("{:.0}%", score * 100.0)) " " a href=(format!("similarity/pairs/{a}--{b}.html")) { (a) " · " (b) } }
        } }
    }
}

/// Every override of the batch folder.
fn dashboard_overrides(reports: &BTreeMap<String, Report>) -> Markup {
    let all: Vec<(Option<&str>, &Override)> =
        reports.iter().flat_map(|(student, r)| r.overrides.iter().map(move |o| (Some(student.as_str()), o))).collect();
    html! {
        h2 { "Overrides (" (all.len()) ")" }
        @if all.is_empty() {
            p.meta { "None (" (crate::output::overrides::FILE) " in this folder lists them)." }
        } @else {
            (overrides_table(all.into_iter()))
        }
    }
}

/// One row per student: exercise scores, total, status.
fn students_table(reports: &BTreeMap<String, Report>) -> Markup {
    let exercises: Vec<(crate::catalog::Exercise, String)> = reports
        .values()
        .next()
        .map(|r| r.exercises.iter().map(|e| (e.id, e.title.clone())).collect())
        .unwrap_or_default();
    html! {
        h2 { "Students" }
        table #students {
            thead { tr {
                th.sortable { "Student" }
                @for (_, title) in &exercises { th.sortable.num { (title) } }
                th.sortable.num { "Total" } th.sortable { "Status" }
            } }
            tbody {
                @for (student, report) in reports {
                    @let status = report.submission_status();
                    tr {
                        td { a href=(format!("{student}/report.html")) { (student) } }
                        @for (id, _) in &exercises {
                            td.num { (report.exercises.iter().find(|e| e.id == *id).map_or(0.0, |e| e.score)) }
                        }
                        td.num { (report.score) " / " (report.max_score) }
                        td data-value=(status) { (badge(status.as_str())) }
                    }
                }
            }
        }
    }
}
