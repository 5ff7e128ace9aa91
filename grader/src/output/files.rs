//! Writing what grading leaves: a report's files (`report.json`, `report.html`, Gradescope's
//! `results.json`) and a batch folder's gradebook and dashboard, each file atomically.

use crate::output::gradebook::{check_stats_csv, grades_csv, load_reports};
use crate::output::html::SimilarityLead;
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
fn similarity_leads(out: &Path) -> anyhow::Result<Vec<SimilarityLead>> {
    let path = out.join("similarity/pairs.csv");
    if !path.is_file() {
        return Ok(Vec::new());
    }
    let rows = crate::output::table::read_rows::<SimilarityLead>(&path, "student_a,student_b,score")?;
    let leads = rows.into_iter().map(|row| row.record);
    let paged =
        |l: &SimilarityLead| out.join(format!("similarity/pairs/{}--{}.html", l.student_a, l.student_b)).is_file();
    Ok(leads.filter(paged).collect())
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

/// Which students' pages a gradebook update rewrites from their adjusted reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pages<'a> {
    /// Every student's (`grader pages`, a merge, the end of a batch: the folder's overrides or
    /// course file may have changed since a page was written).
    Every,
    /// The one just graded, during a batch (every other page is as the last update left it).
    Of(&'a str),
}

/// Rewrites `grades.csv`, `check_stats.csv`, the dashboard `index.html` and the roster's exports
/// in `out` from the reports there, with the folder's overrides and lateness applied, and the
/// `pages` named, so that they show them; returns the reports so.
pub fn write_batch_outputs(out: &Path, pages: Pages<'_>) -> anyhow::Result<BTreeMap<String, Report>> {
    let reports = adjusted_reports(out)?;
    let rewritten = reports.iter().filter(|(student, _)| match pages {
        Pages::Every => true,
        Pages::Of(one) => student.as_str() == one,
    });
    for (student, report) in rewritten {
        write_page(&out.join(student), report)?;
    }
    write_atomic(&out.join("grades.csv"), grades_csv(&reports).as_bytes())?;
    write_atomic(&out.join("check_stats.csv"), check_stats_csv(&reports).as_bytes())?;
    let leads = similarity_leads(out)?;
    write_atomic(&out.join("index.html"), crate::output::html::dashboard_page(&reports, &leads).as_bytes())?;
    crate::output::roster::write_exports(out, &reports)?;
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::report::fixture;

    #[test]
    fn a_gradebook_update_rewrites_the_pages_it_names_with_their_adjustments() {
        let dir = tempfile::tempdir().unwrap();
        for student in ["ann", "bob"] {
            write_json_atomic(&dir.path().join(student).join("report.json"), &fixture("correct")).unwrap();
        }
        let overrides = "student,target,points,reason,who,when\nann,training,-1,r,TA,d\nbob,training,-1,r,TA,d\n";
        std::fs::write(dir.path().join("overrides.csv"), overrides).unwrap();
        let page = |student: &str| std::fs::read_to_string(dir.path().join(student).join("report.html")).ok();
        write_batch_outputs(dir.path(), Pages::Of("ann")).unwrap();
        assert!(page("ann").unwrap().contains("Overrides"), "the named page shows its override");
        assert_eq!(page("bob"), None, "a page it does not name is left as it was");
        assert!(dir.path().join("grades.csv").is_file() && dir.path().join("index.html").is_file());
        std::fs::remove_file(dir.path().join("overrides.csv")).unwrap();
        write_batch_outputs(dir.path(), Pages::Every).unwrap();
        assert!(!page("ann").unwrap().contains("Overrides"), "an override taken back leaves its page");
        assert!(page("bob").is_some());
    }
}
