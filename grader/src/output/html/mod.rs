//! Self-contained HTML pages (inline CSS and SVG, no network): `report.html` for one student next
//! to `report.json`, and `index.html`, the class dashboard of a batch.
//!
//! The pages are built from the reports alone, so they can be regenerated from any output folder.
//! They are written with maud's `html!` templates: checked at compile time, and every value is
//! escaped unless it is marked as markup (the SVG charts, the scripts and the style sheet).

use crate::output::deadline::{Lateness, TimeSource};
use crate::output::overrides::Override;
use crate::output::report::{CheckResult, Report, Status};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use resnet_lab_plots::{self as charts, LineChart, Series, Target};

mod dashboard;
pub use dashboard::{SimilarityLead, dashboard_page};
use serde_json::Value;

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

/// A whole page: `title`, the style sheet, `body`, and `script` at the end.
fn page(title: &str, body: Markup, script: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (body)
                script { (PreEscaped(script)) }
            }
        }
    }
    .into_string()
}

/// A coloured status label (`graded with timeouts`).
fn badge(status: &str) -> Markup {
    html! { span class={ "badge " (status) } { (status.replace('_', " ")) } }
}

/// One of a report's charts: the SVG (or why it could not be drawn) and its caption.
pub struct Chart {
    /// The SVG, or why there is none.
    pub svg: Result<String, charts::Error>,
    /// What it shows, in a sentence.
    pub caption: String,
}

/// A chart with its caption, or why it could not be drawn.
fn figure(svg: Result<String, charts::Error>, caption: &str) -> Markup {
    match svg {
        Ok(svg) => html! { figure { (PreEscaped(svg)) figcaption { (caption) } } },
        Err(problem) => html! { p.hint { (problem.to_string()) } },
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
pub fn charts_of(report: &Report) -> Vec<Chart> {
    let mut figures = Vec::new();
    let figure = |svg: Result<String, charts::Error>, caption: &str| Chart { svg, caption: caption.to_string() };
    if let Some(training) = check(report, "training.runs").filter(|c| !c.details["report"].is_null()) {
        let history = &training.details["report"]["history"];
        let target = check(report, "training.accuracy").and_then(|c| c.details["target"].as_f64()).unwrap_or(75.0);
        let label = format!("target {target}%");
        let accuracy = [
            Series { label: "train accuracy", values: history_points(history, "train_accuracy") },
            Series { label: "validation accuracy", values: history_points(history, "validation_accuracy") },
        ];
        figures.push(figure(
            charts::lines(&LineChart::new("Training accuracy", ("epoch", "%"), &accuracy).with_target(Target { value: target, label: &label }).with_y_max(100.0)),
            "Accuracy per epoch as your train_resnet18 reported it; the dashed line is the target the grader's own test measurement must reach.",
        ));
        let loss = [Series { label: "train loss", values: history_points(history, "train_loss") }];
        figures.push(figure(
            charts::lines(&LineChart::new("Training loss", ("epoch", "loss"), &loss)),
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
                charts::lines(&LineChart::new("Output variance per layer (log₁₀)", ("layer, in forward order", "log₁₀ variance"), &series)),
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
    let meta = &report.metadata;
    let checks_ran = if report.hidden_checks_included { "public and hidden checks" } else { "public checks only" };
    let figures: Vec<Markup> = charts_of(report).into_iter().map(|c| figure(c.svg, &c.caption)).collect();
    let body = html! {
        h1 { "ResNet assignment — " (who) }
        p.meta { (meta.profile) " profile · " (checks_ran) " · graded " (meta.finished_at) " · grader " (meta.grader_version) " (" (meta.git_revision) ")" }
        p { span.score #score { (report.score) " / " (report.max_score) } " " (badge(report.submission_status().as_str())) }
        @if let Some(reason) = report.submission.as_ref().and_then(|s| s.refused.as_deref()) {
            p { strong { "Refused:" } " " (reason) }
        }
        @if let Some(errors) = &report.build.errors {
            h2 { "Build" }
            p { "Your crate does not compile:" }
            pre { (errors) }
        }
        @if let Some(late) = &report.lateness {
            p.meta #lateness { (lateness_line(late)) }
        }
        @if !report.overrides.is_empty() {
            h2 { "Overrides" }
            (overrides_table(report.overrides.iter().map(|o| (None, o))))
        }
        h2 { "Exercises" }
        table #exercises {
            thead { tr { th { "Exercise" } th { "File" } th.num { "Score" } th { "Status" } } }
            tbody {
                @for e in &report.exercises {
                    tr { td { (e.title) } td { code { (e.file) } } td.num { (e.score) " / " (e.max_score) } td { (badge(e.status.as_str())) } }
                }
            }
        }
        h2 { "Checks" }
        table #checks {
            thead { tr { th { "Check" } th.num { "Score" } th { "Status" } th { "Message" } th.num { "Time" } } }
            tbody { @for c in &report.checks { (check_row(c)) } }
        }
        @if !figures.is_empty() {
            h2 { "Your plots" }
            div.charts { @for figure in &figures { (figure) } }
        }
        p.meta { "Device: " (meta.device) " · libtorch " (meta.libtorch) " · isolation: " (meta.isolation) " · seed " (meta.seed) }
    };
    page(&format!("{who} — ResNet assignment report"), body, READY)
}

/// One check's row: what it verifies, its score, status, message (and hint), time and limit.
fn check_row(c: &CheckResult) -> Markup {
    html! {
        tr id=(c.id) {
            td { (c.name) div.hint { code { (c.id) } " · " (c.visibility.as_str()) } }
            td.num { (c.score) " / " (c.max_score) }
            td { (badge(c.status.as_str())) }
            td {
                (c.message)
                @if let (Some(hint), true) = (&c.hint, c.status != Status::Passed) {
                    div.hint { "Hint: " (hint) }
                }
            }
            td.num {
                (format!("{:.1} s", c.duration_s))
                @if let Some(limit) = &c.limit {
                    div.hint {
                        "limit " (limit.describe())
                        @if let Some(why) = &limit.retried { "; " (why) }
                    }
                }
            }
        }
    }
}

/// A submission's time, due date and penalty, in a sentence.
fn lateness_line(late: &Lateness) -> String {
    let when = match (&late.submitted_at, late.source) {
        (Some(at), TimeSource::Platform) => format!("Submitted {at} (the course platform's time)"),
        (Some(at), _) => format!("Submitted {at} (by the submission's own manifest: the student's clock)"),
        (None, _) => "Submission time unknown (no platform time, no manifest): no penalty applied".to_string(),
    };
    let cost = if late.late_by_s == 0 {
        "on time".to_string()
    } else {
        format!(
            "{} late: −{}% ({} before the penalty)",
            humantime::format_duration(std::time::Duration::from_secs(late.late_by_s)),
            late.penalty_percent,
            late.score_before
        )
    };
    format!("{when}; due {}; {cost}.", late.due)
}

/// Overrides as a table (with the student's column when `student` is given).
fn overrides_table<'a>(rows: impl Iterator<Item = (Option<&'a str>, &'a Override)>) -> Markup {
    let rows: Vec<_> = rows.collect();
    let with_student = rows.iter().any(|(s, _)| s.is_some());
    html! {
        table.overrides {
            thead { tr {
                @if with_student { th { "Student" } }
                th { "Check or exercise" } th.num { "Points" } th { "Reason" } th { "By" } th { "When" }
            } }
            tbody {
                @for (student, o) in rows {
                    tr {
                        @if let Some(student) = student { td { a href=(format!("{student}/report.html")) { (student) } } }
                        td { code { (o.target) } }
                        td.num { (o.before) " → " (o.after) }
                        td { (o.reason) } td { (o.who) } td { (o.when) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_escaped_in_text_and_attributes() {
        let text = r#"<script>alert("x") & 'y'</script>"#;
        let markup = html! { p title=(text) { (text) } }.into_string();
        assert!(!markup.contains("<script>"), "{markup}");
        assert!(markup.contains("&lt;script&gt;alert(&quot;x&quot;) &amp;"), "{markup}");
        assert_eq!(
            badge("graded_with_timeouts").into_string(),
            r#"<span class="badge graded_with_timeouts">graded with timeouts</span>"#
        );
    }
}
