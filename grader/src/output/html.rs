//! Self-contained HTML pages (inline CSS and SVG, no network): `report.html` for one student next
//! to `report.json`, and `index.html`, the class dashboard of a batch.
//!
//! The pages are built from the reports alone, so they can be regenerated from any output folder.

use crate::output::charts::{self, Series, Target};
use crate::output::gradebook;
use crate::output::report::SubmissionStatus;
use crate::output::report::{CheckResult, Report, Status};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1180px; color: #1d232a; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #dde3ea; padding-bottom: 0.3rem; }
.meta { color: #5b6570; font-size: 0.9rem; }
.score { font-size: 2.4rem; font-weight: 700; }
table { border-collapse: collapse; width: 100%; margin: 0.6rem 0; font-size: 0.92rem; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #e8ecf0; vertical-align: top; }
th { background: #f4f6f8; } th.sortable { cursor: pointer; user-select: none; } th.sortable::after { content: " ↕"; color: #9aa4ad; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 0.05rem 0.5rem; border-radius: 0.7rem; font-size: 0.8rem; font-weight: 600; color: white; white-space: nowrap; }
.passed { background: #2e8540; } .failed { background: #c0392b; } .error { background: #8e44ad; } .timeout { background: #d35400; }
.not_implemented { background: #7f8c8d; } .skipped { background: #b0b8bf; } .refused { background: #8e44ad; } .does_not_compile { background: #c0392b; }
.graded { background: #2e8540; } .graded_with_timeouts { background: #d35400; }
.hint { color: #5b6570; font-size: 0.85rem; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; } .charts figure { margin: 0; } figcaption { color: #5b6570; font-size: 0.85rem; max-width: 560px; }
pre { background: #f4f6f8; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
.bar { background: #e8ecf0; height: 0.7rem; width: 8rem; display: inline-block; vertical-align: middle; } .bar > span { background: #2e8540; height: 100%; display: block; }
"#;

/// Click-to-sort for tables with `class="sortable"` headers; numbers sort numerically.
const SORT_SCRIPT: &str = r#"
document.querySelectorAll("th.sortable").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0];
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var ascending = th.dataset.order !== "asc"; th.dataset.order = ascending ? "asc" : "desc";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].dataset.value || a.cells[index].textContent;
      var y = b.cells[index].dataset.value || b.cells[index].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
"#;

/// Marks the page as fully scripted: browser tests look for `data-ready` on `<body>`.
const READY: &str = "document.body.dataset.ready = \"1\";";

fn page(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n<script>{script}</script>\n</body>\n</html>\n",
        escape(title)
    )
}

fn badge(status: &str) -> String {
    format!("<span class=\"badge {status}\">{}</span>", status.replace('_', " "))
}

fn figure(svg: Result<String, String>, caption: &str) -> String {
    match svg {
        Ok(svg) => format!("<figure>{svg}<figcaption>{}</figcaption></figure>", escape(caption)),
        Err(problem) => format!("<p class=\"hint\">{}</p>", escape(&problem)),
    }
}

fn check<'a>(report: &'a Report, id: &str) -> Option<&'a CheckResult> {
    report.checks.iter().find(|c| c.id == id)
}

/// (epoch, value) points of one field of a training history.
fn history_points(history: &Value, field: &str) -> Vec<(f64, f64)> {
    history
        .as_array()
        .map(|epochs| {
            epochs.iter().filter_map(|e| Some((e["epoch"].as_f64()?, e[field].as_f64()?))).collect::<Vec<_>>()
        })
        .unwrap_or_default()
}

/// The student's plots, from what the checks measured: training curves with the target line,
/// He-init variances beside the reference's, and the ablation's accuracies.
fn plots(report: &Report) -> Vec<String> {
    let mut figures = Vec::new();
    if let Some(training) = check(report, "training.runs").filter(|c| !c.details["report"].is_null()) {
        let history = &training.details["report"]["history"];
        let target = check(report, "training.accuracy").and_then(|c| c.details["target"].as_f64()).unwrap_or(75.0);
        let label = format!("target {target}%");
        let accuracy = [
            Series { label: "train accuracy", values: history_points(history, "train_accuracy") },
            Series { label: "validation accuracy", values: history_points(history, "validation_accuracy") },
        ];
        figures.push(figure(
            charts::lines("Training accuracy", ("epoch", "%"), &accuracy, Some(Target { value: target, label: &label }), Some(100.0)),
            "Accuracy per epoch as your train_resnet18 reported it; the dashed line is the target the grader's own test measurement must reach.",
        ));
        let loss = [Series { label: "train loss", values: history_points(history, "train_loss") }];
        figures.push(figure(
            charts::lines("Training loss", ("epoch", "loss"), &loss, None, None),
            "Mean training loss per epoch.",
        ));
    }
    if let Some(he) = check(report, "he_init.layers") {
        let layers = |key: &str| -> Vec<(String, f64)> {
            he.details[key]
                .as_array()
                .map(|l| {
                    l.iter()
                        .filter_map(|v| Some((v["name"].as_str()?.to_string(), v["variance"].as_f64()?)))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        let (expected, student, naive) = (layers("expected"), layers("student"), layers("naive"));
        if !expected.is_empty() {
            // log₁₀ of each layer's variance, by position in forward order: He's initialization
            // holds it of the same order, the naive one makes it collapse by orders of magnitude.
            let by_layer = |values: &[(String, f64)]| -> Vec<(f64, f64)> {
                expected
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (name, _))| {
                        let v = values.iter().find(|(n, _)| n == name)?.1;
                        (v > 0.0).then(|| (i as f64 + 1.0, v.log10()))
                    })
                    .collect()
            };
            let mut series = vec![
                Series { label: "yours (He init)", values: by_layer(&student) },
                Series { label: "grader's (He init)", values: by_layer(&expected) },
            ];
            if !naive.is_empty() {
                series.push(Series { label: "naive init, N(0, 0.01²)", values: by_layer(&naive) });
            }
            let network = he.details["network"].as_str().unwrap_or("the network");
            figures.push(figure(
                charts::lines("Output variance per layer (log₁₀)", ("layer, in forward order", "log₁₀ variance"), &series, None, None),
                &format!(
                    "{network}: the variance of each Conv2d/Linear output at initialization, yours beside the grader's. He's initialization keeps it of the same order with depth; the naive one shrinks it about 30-fold per layer. A missing point is a layer you did not report."
                ),
            ));
        }
    }
    // The check that re-measured each ablation model: per variant, its reported and test accuracy.
    let remeasured = report.checks.iter().find(|c| {
        c.exercise == crate::catalog::Exercise::Ablation
            && c.details.as_object().is_some_and(|m| !m.is_empty() && m.values().all(|v| v["test"].is_number()))
    });
    if let Some(ablation) = remeasured {
        let variants: Vec<String> =
            ablation.details.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        let field = |f: &str| variants.iter().map(|v| ablation.details[v][f].as_f64().unwrap_or(f64::NAN)).collect();
        let series = [
            Series { label: "reported (validation)", values: field("reported") },
            Series { label: "measured (test)", values: field("test") },
        ];
        figures.push(figure(
            charts::grouped_bars("Ablation", "accuracy %", &variants, &series, None, Some(100.0)),
            "Each ablation model's accuracy as you reported it and as the grader measured it on the test split.",
        ));
    }
    figures
}

/// `report.html`: one student's score per exercise, every check with its message, and their plots.
pub fn report_page(report: &Report) -> String {
    let who = report.submission.as_ref().map_or_else(|| report.metadata.crate_path.clone(), |s| s.student.clone());
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>ResNet assignment — {}</h1>\n<p class=\"meta\">{} profile · {} · graded {} · grader {} ({})</p>\n<p><span class=\"score\" id=\"score\">{} / {}</span> {}</p>\n",
        escape(&who),
        escape(&report.metadata.profile),
        if report.hidden_checks_included { "public and hidden checks" } else { "public checks only" },
        escape(&report.metadata.finished_at),
        escape(&report.metadata.grader_version),
        escape(&report.metadata.git_revision),
        report.score,
        report.max_score,
        badge(report.submission_status().as_str()),
    );
    if let Some(reason) = report.submission.as_ref().and_then(|s| s.refused.as_deref()) {
        let _ = write!(body, "<p><strong>Refused:</strong> {}</p>", escape(reason));
    }
    if let Some(errors) = &report.build.errors {
        let _ = write!(body, "<h2>Build</h2><p>Your crate does not compile:</p><pre>{}</pre>", escape(errors));
    }
    body.push_str("<h2>Exercises</h2>\n<table id=\"exercises\"><thead><tr><th>Exercise</th><th>File</th><th class=\"num\">Score</th><th>Status</th></tr></thead><tbody>\n");
    for e in &report.exercises {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{} / {}</td><td>{}</td></tr>",
            escape(&e.title),
            escape(&e.file),
            e.score,
            e.max_score,
            badge(e.status.as_str())
        );
    }
    body.push_str("</tbody></table>\n<h2>Checks</h2>\n<table id=\"checks\"><thead><tr><th>Check</th><th class=\"num\">Score</th><th>Status</th><th>Message</th><th class=\"num\">Time</th></tr></thead><tbody>\n");
    for c in &report.checks {
        let hint = match (&c.hint, c.status) {
            (Some(hint), status) if status != Status::Passed => {
                format!("<div class=\"hint\">Hint: {}</div>", escape(hint))
            }
            _ => String::new(),
        };
        let limit = c.limit.as_ref().map_or_else(String::new, |limit| {
            let retried = limit.retried.as_ref().map_or_else(String::new, |why| format!("; {}", escape(why)));
            format!("<div class=\"hint\">limit {}{retried}</div>", escape(&limit.describe()))
        });
        let _ = writeln!(
            body,
            "<tr id=\"{}\"><td>{}<div class=\"hint\"><code>{}</code> · {}</div></td><td class=\"num\">{} / {}</td><td>{}</td><td>{}{hint}</td><td class=\"num\">{:.1} s{limit}</td></tr>",
            c.id,
            escape(&c.name),
            c.id,
            c.visibility.as_str(),
            c.score,
            c.max_score,
            badge(c.status.as_str()),
            escape(&c.message),
            c.duration_s
        );
    }
    body.push_str("</tbody></table>\n");
    let figures = plots(report);
    if !figures.is_empty() {
        let _ = write!(body, "<h2>Your plots</h2>\n<div class=\"charts\">{}</div>\n", figures.join("\n"));
    }
    let _ = write!(
        body,
        "<p class=\"meta\">Device: {} · libtorch {} · isolation: {} · seed {}</p>",
        escape(&report.metadata.device),
        escape(&report.metadata.libtorch),
        escape(&report.metadata.isolation),
        report.metadata.seed
    );
    page(&format!("{who} — ResNet assignment report"), &body, READY)
}

/// `index.html`: the class dashboard of a batch folder, built from its reports (student → report).
pub fn dashboard_page(reports: &BTreeMap<String, Report>) -> String {
    let mut body = String::new();
    for section in [dashboard_header, check_stats_table, common_failures, status_lists, students_table] {
        section(&mut body, reports);
    }
    page("ResNet assignment — class dashboard", &body, &format!("{SORT_SCRIPT}{READY}"))
}

/// The title line, the class's totals and the score histogram.
fn dashboard_header(body: &mut String, reports: &BTreeMap<String, Report>) {
    let max = reports.values().map(|r| r.max_score).fold(0.0, f64::max).max(1.0);
    let scores: Vec<f64> = reports.values().map(|r| r.score).collect();
    let mean = if scores.is_empty() { 0.0 } else { scores.iter().sum::<f64>() / scores.len() as f64 };
    let _ = write!(
        body,
        "<h1>ResNet assignment — class dashboard</h1>\n<p class=\"meta\">{} submissions · mean {:.1} / {max} · <a href=\"grades.csv\">grades.csv</a> · <a href=\"check_stats.csv\">check_stats.csv</a></p>\n",
        reports.len(),
        mean
    );
    body.push_str("<div class=\"charts\">");
    body.push_str(&figure(
        charts::histogram("Scores", "points", &scores, max, 13),
        "Total score per submission (refused and non-compiling submissions count as 0).",
    ));
    body.push_str("</div>\n");
}

/// Per check: pass rate, mean score, submissions.
fn check_stats_table(body: &mut String, reports: &BTreeMap<String, Report>) {
    body.push_str("<h2>Checks</h2>\n<table id=\"check-stats\"><thead><tr><th class=\"sortable\">Check</th><th class=\"sortable\">Exercise</th><th class=\"sortable num\">Pass rate</th><th class=\"sortable num\">Mean score</th><th class=\"sortable num\">Submissions</th></tr></thead><tbody>\n");
    for stat in gradebook::check_stats(reports) {
        let passed = stat.pass_rate;
        let _ = writeln!(
            body,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"num\" data-value=\"{passed:.4}\"><span class=\"bar\"><span style=\"width:{:.0}%\"></span></span> {:.0}%</td><td class=\"num\">{:.2} / {}</td><td class=\"num\">{}</td></tr>",
            stat.check.id,
            stat.check.exercise.id(),
            passed * 100.0,
            passed * 100.0,
            stat.mean_score,
            stat.check.points,
            stat.submissions
        );
    }
    body.push_str("</tbody></table>\n");
}

/// The most frequent failure messages of submissions whose checks ran.
fn common_failures(body: &mut String, reports: &BTreeMap<String, Report>) {
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
    body.push_str("<h2>Most common failures</h2>\n<table id=\"failures\"><thead><tr><th class=\"num\">Count</th><th>Check</th><th>Message</th></tr></thead><tbody>\n");
    for ((id, message), count) in common.iter().take(15) {
        let _ = writeln!(
            body,
            "<tr><td class=\"num\">{count}</td><td><code>{}</code></td><td>{}</td></tr>",
            escape(id),
            escape(message)
        );
    }
    body.push_str("</tbody></table>\n");
}

/// Build failures, timeouts and refused submissions, each with its reason.
fn status_lists(body: &mut String, reports: &BTreeMap<String, Report>) {
    let listed = |status: SubmissionStatus| -> Vec<(&String, &Report)> {
        reports.iter().filter(|(_, r)| r.submission_status() == status).collect()
    };
    for (status, title) in [
        (SubmissionStatus::DoesNotCompile, "Build failures"),
        (SubmissionStatus::GradedWithTimeouts, "Timeouts"),
        (SubmissionStatus::Refused, "Refused submissions"),
    ] {
        let rows = listed(status);
        let _ = writeln!(body, "<h2>{title} ({})</h2>", rows.len());
        if rows.is_empty() {
            body.push_str("<p class=\"meta\">None.</p>\n");
            continue;
        }
        body.push_str("<ul>");
        for (student, report) in rows {
            let timed_out: Vec<&str> =
                report.checks.iter().filter(|c| c.status == Status::Timeout).map(|c| c.id.as_str()).collect();
            let reason = if status == SubmissionStatus::GradedWithTimeouts {
                format!("timed out: {}", timed_out.join(", "))
            } else {
                report.short_reason()
            };
            let _ = write!(
                body,
                "<li><a href=\"{}/report.html\">{}</a>: {}</li>",
                escape(student),
                escape(student),
                escape(&reason)
            );
        }
        body.push_str("</ul>\n");
    }
}

/// One row per student: exercise scores, total, status.
fn students_table(body: &mut String, reports: &BTreeMap<String, Report>) {
    body.push_str("<h2>Students</h2>\n<table id=\"students\"><thead><tr><th class=\"sortable\">Student</th>");
    let exercises: Vec<(crate::catalog::Exercise, String)> = reports
        .values()
        .next()
        .map(|r| r.exercises.iter().map(|e| (e.id, e.title.clone())).collect())
        .unwrap_or_default();
    for (_, title) in &exercises {
        let _ = write!(body, "<th class=\"sortable num\">{}</th>", escape(title));
    }
    body.push_str("<th class=\"sortable num\">Total</th><th class=\"sortable\">Status</th></tr></thead><tbody>\n");
    for (student, report) in reports {
        let _ = write!(body, "<tr><td><a href=\"{}/report.html\">{}</a></td>", escape(student), escape(student));
        for (id, _) in &exercises {
            let score = report.exercises.iter().find(|e| e.id == *id).map_or(0.0, |e| e.score);
            let _ = write!(body, "<td class=\"num\">{score}</td>");
        }
        let status = report.submission_status();
        let _ = writeln!(
            body,
            "<td class=\"num\">{} / {}</td><td data-value=\"{status}\">{}</td></tr>",
            report.score,
            report.max_score,
            badge(status.as_str())
        );
    }
    body.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_attributes() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
