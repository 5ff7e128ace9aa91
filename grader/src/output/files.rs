//! Writing what grading leaves: a report's files (`report.json`, `report.html`, Gradescope's
//! `results.json`) and a batch folder's gradebook and dashboard, each file atomically.

use crate::output::gradebook::{check_stats_csv, grades_csv, load_reports};
use crate::output::report::Report;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Writes `bytes` to `path` atomically (a temporary file beside it, then a rename), creating the
/// folder if needed: a reader never sees half a file, and a killed grader leaves the old one.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut file = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut file, bytes)?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Writes `value` as pretty JSON to `path` atomically.
pub fn write_json_atomic(path: &std::path::Path, value: &impl Serialize) -> std::io::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}

/// Writes `report.html`, the page of `report`, into `dir`; returns its path.
pub fn write_page(dir: &std::path::Path, report: &Report) -> std::io::Result<std::path::PathBuf> {
    let page = dir.join("report.html");
    write_atomic(&page, crate::output::html::report_page(report).as_bytes())?;
    Ok(page)
}

/// Writes a report's files into `dir`: `report.json`, `report.html` (the page students and
/// instructors look at) and, for a course `platform`, its `results.json`. Returns the path of
/// `report.json`.
pub fn write_report_files(
    dir: &std::path::Path,
    report: &Report,
    platform: Option<Platform>,
) -> std::io::Result<std::path::PathBuf> {
    let json = dir.join("report.json");
    write_json_atomic(&json, report)?;
    match platform {
        Some(Platform::Gradescope) => write_json_atomic(&dir.join("results.json"), &report.to_gradescope())?,
        Some(Platform::Prairielearn) => write_json_atomic(&dir.join("results.json"), &report.to_prairielearn())?,
        None => {}
    }
    write_page(dir, report)?;
    Ok(json)
}

/// The reports of a batch folder with its overrides and its course file's penalties applied: the
/// scores its gradebook, dashboard and pages show.
pub fn adjusted_reports(out: &Path) -> anyhow::Result<BTreeMap<String, Report>> {
    let mut reports = load_reports(out)?;
    crate::output::overrides::apply_file(out, &mut reports)?;
    crate::output::deadline::apply_files(out, &mut reports)?;
    Ok(reports)
}

/// The pairs `grader similarity --out OUT/similarity` listed (at or above its threshold: those with
/// a page), strongest first; none without that report.
fn similarity_leads(out: &Path) -> anyhow::Result<Vec<crate::output::html::SimilarityLead>> {
    let path = out.join("similarity/pairs.csv");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let mut leads = Vec::new();
    for record in csv::Reader::from_path(&path)?.records() {
        let record = record?;
        let share: f64 = record.get(2).and_then(|s| s.parse().ok()).unwrap_or(0.0);
        let (a, b) = (record[0].to_string(), record[1].to_string());
        if out.join(format!("similarity/pairs/{a}--{b}.html")).is_file() {
            leads.push((a, b, share));
        }
    }
    Ok(leads)
}

/// What a batch folder holds, for the terminal: the gradebook's summary, and the roster's line.
pub fn describe_batch(out: &Path) -> anyhow::Result<String> {
    let reports = adjusted_reports(out)?;
    let mut text = crate::output::gradebook::summary(&reports);
    if let Some(roster) = crate::output::roster::describe(out, &reports) {
        text.push('\n');
        text.push_str(&roster);
    }
    Ok(text)
}

/// A course platform whose autograder reads a `results.json` of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    /// Gradescope's autograder results (hidden checks visible after publication).
    Gradescope,
    /// PrairieLearn's external-grader results (score 0–1, plots as images).
    Prairielearn,
}

/// Rewrites `grades.csv`, `check_stats.csv` and the dashboard `index.html` in `out` from the
/// reports there, with the folder's overrides applied (and the pages of the students they
/// concern rewritten to show them); returns the reports so.
pub fn write_batch_outputs(out: &Path) -> anyhow::Result<BTreeMap<String, Report>> {
    let reports = adjusted_reports(out)?;
    for (student, report) in reports.iter().filter(|(_, r)| !r.overrides.is_empty() || r.lateness.is_some()) {
        write_page(&out.join(student), report)?;
    }
    write_atomic(&out.join("grades.csv"), grades_csv(&reports).as_bytes())?;
    write_atomic(&out.join("check_stats.csv"), check_stats_csv(&reports).as_bytes())?;
    let leads = similarity_leads(out)?;
    write_atomic(&out.join("index.html"), crate::output::html::dashboard_page(&reports, &leads).as_bytes())?;
    crate::output::roster::write_exports(out, &reports)?;
    Ok(reports)
}
