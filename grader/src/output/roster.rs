//! The class list and the exports for an LMS. `OUT/roster.csv` in a batch folder (an LMS's export:
//! `name,email,sis_id,section`, optionally `canvas_id` and `id`) maps submissions to students — by
//! `id`, else by email (whole, or the part before `@`), else by name (case, accents and punctuation
//! aside) — and, whenever the folder's gradebook is written, `OUT/exports/` gets:
//!
//! - `long.csv`: one row per student and check (`student,check,exercise,score,max_score,status`),
//!   for analysis;
//! - with a roster, `canvas.csv`: Canvas's gradebook import (`Student,ID,SIS User ID,SIS Login
//!   ID,Section,<assignment>`), one row per student on the roster (an empty grade for a student
//!   without a submission), and `roster.csv`: every roster student's submission, and every
//!   submission no roster row claims.

use crate::output::gradebook::csv_text;
use crate::output::report::Report;
use anyhow::Result;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The roster of a batch folder.
pub const FILE: &str = "roster.csv";
/// The folder of exports in a batch folder.
pub const EXPORTS: &str = "exports";
/// The assignment's column in Canvas's import.
const ASSIGNMENT: &str = "ResNet assignment";

/// One student of the roster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Student {
    /// Full name.
    pub name: String,
    /// Email (the LMS login, usually).
    #[serde(default)]
    pub email: String,
    /// The student information system's id.
    #[serde(default)]
    pub sis_id: String,
    /// Section.
    #[serde(default)]
    pub section: String,
    /// Canvas's own user id, when the roster is Canvas's export.
    #[serde(default)]
    pub canvas_id: String,
    /// The id their submissions are named by, when it is none of the above.
    #[serde(default)]
    pub id: String,
}

/// Letters and digits only, lowercase, accents kept as written (`Doe, Jane` is `doejane`).
fn folded(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

impl Student {
    /// Whether the submission called `submission` (its student id) is theirs.
    fn owns(&self, submission: &str) -> bool {
        let email = self.email.to_lowercase();
        let local = email.split('@').next().unwrap_or_default();
        let submission_lower = submission.to_lowercase();
        (!self.id.is_empty() && self.id == submission)
            || (!email.is_empty() && (email == submission_lower || local == submission_lower))
            || (!self.sis_id.is_empty() && self.sis_id == submission)
            || (!self.name.is_empty() && folded(&self.name) == folded(submission))
    }
}

/// `roster.csv`'s students.
fn read(path: &Path) -> Result<Vec<Student>> {
    let rows = super::table::read_rows::<Student>(path, "name,email,sis_id,section")?;
    Ok(rows.into_iter().map(|row| row.record).collect())
}

/// Each roster student's submission (student id), if any, and the submissions no one claims.
pub fn matches<'a>(
    roster: &'a [Student],
    reports: &'a BTreeMap<String, Report>,
) -> (Vec<(&'a Student, Option<&'a str>)>, Vec<&'a str>) {
    let mut claimed = std::collections::BTreeSet::new();
    let matched: Vec<_> = roster
        .iter()
        .map(|student| {
            let found =
                reports.keys().find(|id| !claimed.contains(id.as_str()) && student.owns(id)).map(String::as_str);
            claimed.extend(found);
            (student, found)
        })
        .collect();
    let unmatched = reports.keys().map(String::as_str).filter(|id| !claimed.contains(id)).collect();
    (matched, unmatched)
}

/// Writes `out/exports/` for `reports` (with the folder's overrides and penalties applied).
pub fn write_exports(out: &Path, reports: &BTreeMap<String, Report>) -> Result<()> {
    let exports = out.join(EXPORTS);
    std::fs::create_dir_all(&exports)?;
    let mut long = vec![["student", "check", "exercise", "score", "max_score", "status"].map(String::from).to_vec()];
    for (student, report) in reports {
        for check in &report.checks {
            long.push(vec![
                student.clone(),
                check.id.to_string(),
                check.exercise.id().to_string(),
                check.score.to_string(),
                check.max_score.to_string(),
                check.status.as_str().to_string(),
            ]);
        }
    }
    crate::output::files::write_atomic(&exports.join("long.csv"), csv_text(long).as_bytes())?;
    let path = out.join(FILE);
    if !path.is_file() {
        return Ok(());
    }
    let roster = read(&path)?;
    let (matched, unmatched) = matches(&roster, reports);
    let header = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT].map(String::from).to_vec();
    let mut canvas = vec![header];
    let mut who = vec![["name", "email", "sis_id", "section", "submission", "score"].map(String::from).to_vec()];
    for (student, submission) in &matched {
        let score = submission.and_then(|s| reports.get(s)).map_or(String::new(), |r| r.score.to_string());
        canvas.push(vec![
            student.name.clone(),
            student.canvas_id.clone(),
            student.sis_id.clone(),
            student.email.clone(),
            student.section.clone(),
            score.clone(),
        ]);
        let row = [&student.name, &student.email, &student.sis_id, &student.section];
        let mut row: Vec<String> = row.into_iter().cloned().collect();
        row.extend([submission.unwrap_or("(no submission)").to_string(), score]);
        who.push(row);
    }
    for submission in &unmatched {
        who.push(vec![
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            submission.to_string(),
            "(not on the roster)".to_string(),
        ]);
    }
    crate::output::files::write_atomic(&exports.join("canvas.csv"), csv_text(canvas).as_bytes())?;
    crate::output::files::write_atomic(&exports.join("roster.csv"), csv_text(who).as_bytes())?;
    Ok(())
}

/// A line on the roster for the terminal: how many students it lists, who has no submission, and
/// which submissions it does not list; `None` without a roster.
pub fn describe(out: &Path, reports: &BTreeMap<String, Report>) -> Option<String> {
    let roster = read(&out.join(FILE)).ok()?;
    let (matched, unmatched) = matches(&roster, reports);
    let missing: Vec<&str> =
        matched.iter().filter(|(_, s)| s.is_none()).map(|(student, _)| student.name.as_str()).collect();
    let list = |names: &[&str]| if names.is_empty() { "none".to_string() } else { names.join(", ") };
    Some(format!(
        "roster: {} students; without a submission: {}; submissions not on the roster: {} (exports in {}/{EXPORTS}/)",
        roster.len(),
        list(&missing),
        list(&unmatched),
        out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submissions_are_matched_by_id_email_or_name() {
        let student = |name: &str, email: &str, id: &str| Student {
            name: name.into(),
            email: email.into(),
            id: id.into(),
            ..Student::default()
        };
        let roster = [
            student("Jane Doe", "jdoe@uni.edu", ""),
            student("Lǐ Wěi", "", ""),
            student("Sam Roe", "sam@uni.edu", "s-042"),
            student("Nobody Here", "nobody@uni.edu", ""),
        ];
        let report = crate::output::report::fixture("correct");
        let reports: BTreeMap<String, Report> = ["jdoe", "Li_Wei", "Lǐ_Wěi", "s-042", "stranger"]
            .into_iter()
            .map(|s| (s.to_string(), report.clone()))
            .collect();
        let (matched, unmatched) = matches(&roster, &reports);
        let found: Vec<Option<&str>> = matched.iter().map(|(_, s)| *s).collect();
        assert_eq!(found, [Some("jdoe"), Some("Lǐ_Wěi"), Some("s-042"), None]);
        assert_eq!(unmatched, ["Li_Wei", "stranger"], "a name matches as written, accents included");
    }
}
