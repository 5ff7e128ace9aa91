//! Instructor overrides (a regrade request granted, a late fix accepted): `OUT/overrides.csv` in a
//! batch folder, applied whenever its gradebook, dashboard and pages are written — after every
//! student, after a merge, by `grader pages` — so they survive re-runs and merges. The reports
//! themselves stay what the grader measured; the gradebook, the dashboard and the student's page
//! show the overridden score, each override with its reason, author and date.
//!
//! ```csv
//! student,target,points,reason,who,when
//! jdoe,training.accuracy,+2,regrade: GPU preempted during the run,TA Kim,2026-11-30
//! asmith,bottleneck,12,late fix accepted,Prof. Lee,2026-12-01
//! ```
//!
//! `target` is a check id or an exercise id; `points` with a sign adds to the score, without one
//! sets it; either way the result stays between 0 and the target's points.

use crate::output::report::{Report, round2};
use crate::output::table::read_rows;
use anyhow::{Context, Result, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The overrides file of a batch folder.
pub const FILE: &str = "overrides.csv";

/// One line of `overrides.csv`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct Line {
    student: String,
    target: String,
    points: String,
    reason: String,
    who: String,
    when: String,
}

/// An override as applied to a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Override {
    /// The check or exercise id.
    pub target: String,
    /// Its points before.
    pub before: f64,
    /// Its points after.
    pub after: f64,
    /// Why.
    pub reason: String,
    /// Who granted it.
    pub who: String,
    /// When.
    pub when: String,
}

/// A points column: `+2`/`-1.5` adds, `7` sets.
enum Points {
    Add(f64),
    Set(f64),
}

impl Points {
    fn parse(text: &str) -> Option<Points> {
        let text = text.trim();
        let value: f64 = text.parse().ok().filter(|v: &f64| v.is_finite())?;
        Some(if text.starts_with(['+', '-']) { Points::Add(value) } else { Points::Set(value) })
    }

    fn on(&self, before: f64, max: f64) -> f64 {
        let after = match *self {
            Points::Add(delta) => before + delta,
            Points::Set(value) => value,
        };
        round2(after.clamp(0.0, max))
    }
}

/// Applies `folder/overrides.csv`, if there is one, to `reports` (student → report).
pub fn apply_file(folder: &Path, reports: &mut BTreeMap<String, Report>) -> Result<()> {
    let path = folder.join(FILE);
    if !path.is_file() {
        return Ok(());
    }
    for row in read_rows::<Line>(&path, "student,target,points,reason,who,when")? {
        apply(&row.record, reports).with_context(|| row.at)?;
    }
    Ok(())
}

fn apply(line: &Line, reports: &mut BTreeMap<String, Report>) -> Result<()> {
    let Some(report) = reports.get_mut(&line.student) else {
        bail!("no graded student `{}` in this folder", line.student);
    };
    let Some(points) = Points::parse(&line.points) else {
        bail!("points `{}`: write +2 or -1.5 to add, 7 to set", line.points);
    };
    let exercise_of_check = report.checks.iter().position(|c| c.id == line.target.as_str());
    let (exercise, before, after) = if let Some(i) = exercise_of_check {
        let check = &mut report.checks[i];
        let (before, after) = (check.score, points.on(check.score, check.max_score));
        check.score = after;
        (check.exercise, before, after)
    } else if let Some(total) = report.exercises.iter().find(|e| e.id.id() == line.target) {
        (total.id, total.score, points.on(total.score, total.max_score))
    } else {
        bail!("`{}` is neither a check nor an exercise of {}'s report", line.target, line.student);
    };
    if let Some(total) = report.exercises.iter_mut().find(|e| e.id == exercise) {
        total.score = round2(total.score + after - before);
    }
    report.score = round2(report.score + after - before);
    report.overrides.push(Override {
        target: line.target.clone(),
        before,
        after,
        reason: line.reason.clone(),
        who: line.who.clone(),
        when: line.when.clone(),
    });
    Ok(())
}

/// The points the overrides of `report` added (negative: took), 0 without any.
pub fn change(report: &Report) -> f64 {
    round2(report.overrides.iter().map(|o| o.after - o.before).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reports() -> BTreeMap<String, Report> {
        BTreeMap::from([("jdoe".to_string(), crate::output::report::fixture("correct"))])
    }

    fn applied(csv: &str) -> Result<BTreeMap<String, Report>> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), csv).unwrap();
        let mut reports = reports();
        apply_file(dir.path(), &mut reports)?;
        Ok(reports)
    }

    #[test]
    fn deltas_and_values_move_the_check_its_exercise_and_the_total_within_bounds() {
        let raw = reports()["jdoe"].clone();
        let accuracy = raw.checks.iter().find(|c| c.id == "training.accuracy").unwrap().clone();
        let csv = "student,target,points,reason,who,when\n\
                   jdoe,training.accuracy,-3,late,TA Kim,2026-11-30\n\
                   jdoe, he_init ,+100,\"regrade, granted\",Prof. Lee,2026-12-01\n";
        let report = applied(csv).unwrap().remove("jdoe").unwrap();
        let check = report.checks.iter().find(|c| c.id == "training.accuracy").unwrap();
        assert_eq!(check.score, (accuracy.score - 3.0).max(0.0));
        let he = report.exercises.iter().find(|e| e.id.id() == "he_init").unwrap();
        assert_eq!(he.score, he.max_score, "a delta stops at the exercise's points");
        let expected_change = (check.score - accuracy.score)
            + (he.score - raw.exercises.iter().find(|e| e.id.id() == "he_init").unwrap().score);
        assert_eq!(report.score, round2(raw.score + expected_change));
        assert_eq!(change(&report), round2(expected_change));
        assert_eq!(report.overrides[1].reason, "regrade, granted");
        assert_eq!(report.overrides[1].who, "Prof. Lee");
    }

    #[test]
    fn mistakes_in_the_file_name_their_line() {
        let header = "student,target,points,reason,who,when\n";
        for (line, fragment) in [
            ("nobody,he_init,+1,r,w,d", "overrides.csv:2"),
            ("nobody,he_init,+1,r,w,d", "no graded student `nobody`"),
            ("jdoe,he_unit,+1,r,w,d", "`he_unit` is neither a check nor an exercise"),
            ("jdoe,he_init,lots,r,w,d", "points `lots`"),
            ("jdoe,he_init", "expected student,target,points,reason,who,when"),
        ] {
            let err = format!("{:#}", applied(&format!("{header}{line}\n")).unwrap_err());
            assert!(err.contains(fragment), "{line}: {err}");
        }
    }
}
