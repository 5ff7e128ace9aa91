//! `grader similarity`: leads for a person to review, never a grade. Every pair of submissions is
//! compared, per answer file, by token fingerprints that survive renaming, reformatting and
//! comments ([`fingerprint`]); fingerprints of the handed-out stubs are left out, so the provided
//! text is not evidence. It writes a ranked table (`index.html`, `pairs.csv`), a page per pair
//! with the matched lines side by side, groups of byte-identical answer files, and the answer
//! files laid out one folder per student (`files/`) for JPlag or Dolos.

pub mod fingerprint;

use crate::catalog::Exercise;
use crate::submission::intake::{self, IntakeLimits};
use crate::submission::transplant;
use anyhow::Result;
use maud::{DOCTYPE, Markup, html};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// One submission's answer files (those it has).
#[derive(Debug, Clone)]
pub struct Submitted {
    /// Its student id (as the batch names it).
    pub student: String,
    /// Answer file text by exercise.
    pub files: BTreeMap<Exercise, String>,
}

/// How much two submissions share.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// The two students, in name order.
    pub students: (String, String),
    /// Shared fingerprints over the smaller side's, across all answer files (0–1).
    pub score: f64,
    /// The same per exercise, where both have the file.
    pub by_exercise: BTreeMap<Exercise, f64>,
    /// The lines of each side's files that shared fingerprints cover, by exercise.
    pub lines: BTreeMap<Exercise, (BTreeSet<usize>, BTreeSet<usize>)>,
}

/// Submissions left out of the comparison: student and why (refused, unreadable).
pub type Skipped = Vec<(String, String)>;

/// The answer files of every submission in `dir` (unreadable or refused ones are skipped, with
/// their reasons returned).
pub fn read_submissions(dir: &Path) -> Result<(Vec<Submitted>, Skipped)> {
    let (mut read, mut skipped) = (Vec::new(), Vec::new());
    for submission in crate::batch::list(dir)? {
        let files = match intake::read_submission(&submission.path, &IntakeLimits::default()) {
            Ok(files) => files,
            Err(refusal) => {
                skipped.push((submission.student, refusal.to_string()));
                continue;
            }
        };
        let mut answers = BTreeMap::new();
        for exercise in Exercise::ALL {
            if let Ok(Some(path)) = transplant::find(&files, exercise.file())
                && let Ok(text) = String::from_utf8(files[path].clone())
            {
                answers.insert(exercise, text);
            }
        }
        read.push(Submitted { student: submission.student, files: answers });
    }
    Ok((read, skipped))
}

type Prints = BTreeMap<u64, (usize, usize)>;

/// Compares every pair; `stubs` are the handed-out answer files, whose fingerprints do not count.
pub fn compare(submissions: &[Submitted], stubs: &BTreeMap<Exercise, String>) -> Vec<Pair> {
    let stub_prints: BTreeMap<Exercise, Prints> =
        stubs.iter().map(|(e, text)| (*e, fingerprint::fingerprints(text))).collect();
    let prints: Vec<BTreeMap<Exercise, Prints>> = submissions
        .iter()
        .map(|s| {
            s.files
                .iter()
                .map(|(e, text)| {
                    let mut p = fingerprint::fingerprints(text);
                    if let Some(stub) = stub_prints.get(e) {
                        p.retain(|h, _| !stub.contains_key(h));
                    }
                    (*e, p)
                })
                .collect()
        })
        .collect();
    let mut pairs = Vec::new();
    for i in 0..submissions.len() {
        for j in i + 1..submissions.len() {
            let (mut shared, mut smaller) = (0usize, 0usize);
            let (mut by_exercise, mut lines) = (BTreeMap::new(), BTreeMap::new());
            for (exercise, a) in &prints[i] {
                let Some(b) = prints[j].get(exercise) else { continue };
                let common: Vec<&u64> = a.keys().filter(|h| b.contains_key(h)).collect();
                let least = a.len().min(b.len());
                if least == 0 {
                    continue;
                }
                shared += common.len();
                smaller += least;
                by_exercise.insert(*exercise, common.len() as f64 / least as f64);
                let cover = |p: &Prints| common.iter().flat_map(|h| p[h].0..=p[h].1).collect::<BTreeSet<usize>>();
                lines.insert(*exercise, (cover(a), cover(b)));
            }
            let score = if smaller == 0 { 0.0 } else { shared as f64 / smaller as f64 };
            let students = (submissions[i].student.clone(), submissions[j].student.clone());
            pairs.push(Pair { students, score, by_exercise, lines });
        }
    }
    pairs.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.students.cmp(&b.students)));
    pairs
}

/// Per exercise, the groups (two or more students) whose answer files are byte-identical.
pub fn identical_groups(submissions: &[Submitted]) -> BTreeMap<Exercise, Vec<Vec<String>>> {
    let mut groups = BTreeMap::new();
    for exercise in Exercise::ALL {
        let mut by_text: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for s in submissions {
            if let Some(text) = s.files.get(&exercise) {
                by_text.entry(text.trim()).or_default().push(s.student.clone());
            }
        }
        let same: Vec<Vec<String>> = by_text.into_values().filter(|g| g.len() > 1).collect();
        if !same.is_empty() {
            groups.insert(exercise, same);
        }
    }
    groups
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e8ecf0}.num{text-align:right}.meta{color:#5b6570}.side{display:flex;gap:1rem}.side pre{flex:1;overflow-x:auto;background:#f4f6f8;padding:.5rem;font-size:.8rem}.hit{background:#ffe08a}";

fn page(title: &str, body: Markup) -> String {
    html! { (DOCTYPE) html lang="en" { head { meta charset="utf-8"; title { (title) } style { (maud::PreEscaped(STYLE)) } } body { (body) } } }
        .into_string()
}

fn pair_file(pair: &Pair) -> String {
    format!("pairs/{}--{}.html", pair.students.0, pair.students.1)
}

/// A file's lines, those in `hits` highlighted.
fn numbered(text: &str, hits: &BTreeSet<usize>) -> Markup {
    html! { pre { @for (i, line) in text.lines().enumerate() {
        @if hits.contains(&(i + 1)) { span.hit { (format!("{:>4} {line}", i + 1)) } "\n" } @else { (format!("{:>4} {line}", i + 1)) "\n" }
    } } }
}

/// Writes the report into `out`; returns the pairs at or above `threshold`.
pub fn write(out: &Path, submissions: &[Submitted], pairs: &[Pair], threshold: f64) -> Result<Vec<Pair>> {
    std::fs::create_dir_all(out.join("pairs"))?;
    let by_student: BTreeMap<&str, &Submitted> = submissions.iter().map(|s| (s.student.as_str(), s)).collect();
    let leads: Vec<Pair> = pairs.iter().filter(|p| p.score >= threshold).cloned().collect();
    let mut rows = vec![vec!["student_a".to_string(), "student_b".to_string(), "score".to_string()]];
    rows[0].extend(Exercise::ALL.iter().map(|e| e.id().to_string()));
    for pair in pairs {
        let mut row = vec![pair.students.0.clone(), pair.students.1.clone(), format!("{:.3}", pair.score)];
        row.extend(Exercise::ALL.iter().map(|e| pair.by_exercise.get(e).map_or(String::new(), |s| format!("{s:.3}"))));
        rows.push(row);
    }
    let csv = crate::output::gradebook::csv_text(rows);
    crate::output::files::write_atomic(&out.join("pairs.csv"), csv.as_bytes())?;
    for pair in &leads {
        let (a, b) = (by_student[pair.students.0.as_str()], by_student[pair.students.1.as_str()]);
        let body = html! {
            h1 { (pair.students.0) " and " (pair.students.1) }
            p.meta { (format!("{:.0}%", pair.score * 100.0)) " of the smaller side's fingerprints are shared; highlighted: the lines they cover. A lead to review, not a finding." }
            @for (exercise, (left, right)) in &pair.lines {
                h2 { (exercise.title()) " — " (format!("{:.0}%", pair.by_exercise[exercise] * 100.0)) }
                div.side { (numbered(&a.files[exercise], left)) (numbered(&b.files[exercise], right)) }
            }
        };
        std::fs::write(out.join(pair_file(pair)), page("Similarity", body))?;
    }
    for s in submissions {
        for (exercise, text) in &s.files {
            let path = out.join("files").join(&s.student).join(exercise.file().trim_start_matches("src/"));
            std::fs::create_dir_all(path.parent().expect("a folder"))?;
            std::fs::write(path, text)?;
        }
    }
    let groups = identical_groups(submissions);
    let body = html! {
        h1 { "Similarity" }
        p.meta { (submissions.len()) " submissions, " (pairs.len()) " pairs; " (leads.len()) " at or above " (format!("{:.0}%", threshold * 100.0)) ". Leads for a person to review; no grade changes. " a href="pairs.csv" { "pairs.csv" } " · " code { "files/" } " for JPlag or Dolos" }
        table { thead { tr { th { "Students" } th.num { "Shared" } @for e in Exercise::ALL { th.num { (e.id()) } } } }
            tbody { @for pair in &leads { tr {
                td { a href=(pair_file(pair)) { (pair.students.0) " · " (pair.students.1) } }
                td.num { (format!("{:.0}%", pair.score * 100.0)) }
                @for e in Exercise::ALL { td.num { (pair.by_exercise.get(&e).map_or(String::new(), |s| format!("{:.0}%", s * 100.0))) } }
            } } } }
        h2 { "Identical answer files" }
        @if groups.is_empty() { p.meta { "None." } }
        ul { @for (exercise, same) in &groups { @for group in same { li { code { (exercise.file()) } ": " (group.join(", ")) } } } }
    };
    std::fs::write(out.join("index.html"), page("Similarity", body))?;
    Ok(leads)
}
