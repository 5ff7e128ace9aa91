//! The terminal summary of a report: one line per exercise with ✓/✗ and its score, and one line per
//! check that did not pass with its message. Colours only on a terminal.

use crate::catalog::Exercise;
use crate::output::report::{ExerciseTotal, Report, Status};
use std::fmt::Write;

fn paint(text: &str, code: &str, color: bool) -> String {
    if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
}

fn mark(status: Status, color: bool) -> String {
    match status {
        Status::Passed => paint("✓", "32", color),
        Status::NotImplemented => paint("·", "33", color),
        _ => paint("✗", "31", color),
    }
}

/// Renders the summary of `report`; `report_path` is where the JSON was written.
pub fn render(report: &Report, report_path: &std::path::Path, color: bool) -> String {
    let mut out = String::new();
    let scope = if report.hidden_checks_included { "public and hidden checks" } else { "public checks" };
    let _ = writeln!(
        out,
        "resnet-lab grader · {} profile · {scope} · {}",
        report.metadata.profile, report.metadata.crate_path
    );
    if let Some(errors) = &report.build.errors {
        let _ = writeln!(
            out,
            "\n{} the crate does not compile; every check scores 0. The compiler says:\n{errors}\n",
            paint("✗", "31", color)
        );
    }
    for exercise in &report.exercises {
        exercise_lines(&mut out, report, exercise, color);
    }
    totals(&mut out, report);
    let _ = writeln!(out, "Report: {}", report_path.display());
    let _ = writeln!(
        out,
        "Page:   {} (open it in a browser: your plots are there)",
        report_path.with_extension("html").display()
    );
    out
}

/// An exercise's line, and a line (with its hint) for each of its checks that did not pass.
fn exercise_lines(out: &mut String, report: &Report, exercise: &ExerciseTotal, color: bool) {
    // Without the hidden checks the totals are the public share of the exercise's points.
    let later = Some(exercise.id.points() - exercise.max_score)
        .filter(|points| *points > 0.0 && !report.hidden_checks_included)
        .map_or_else(String::new, |points| format!("  (+{points:.0} in hidden checks after you submit)"));
    let _ = writeln!(
        out,
        "{} {:<32} {:>5.1} / {:<5.1} {}{later}",
        mark(exercise.status, color),
        exercise.title,
        exercise.score,
        exercise.max_score,
        exercise.file
    );
    // The compiler's errors are above, once; every check of every exercise failed for them.
    if report.build.errors.is_some() {
        return;
    }
    if exercise.status == Status::NotImplemented {
        let _ = writeln!(out, "    not implemented yet: open {} and replace the todo!()", exercise.file);
        return;
    }
    for check in report.checks.iter().filter(|c| c.exercise == exercise.id && c.status != Status::Passed) {
        let _ = writeln!(
            out,
            "    {} {} [{}, {:.1}/{:.1}]: {}",
            mark(check.status, color),
            check.id,
            check.status.as_str(),
            check.score,
            check.max_score,
            check.message
        );
        if let (Some(hint), false) = (&check.hint, check.status == Status::NotImplemented) {
            let _ = writeln!(out, "        hint: {hint}");
        }
    }
}

/// The score (out of what the grade is out of) and how many checks passed.
fn totals(out: &mut String, report: &Report) {
    let total: f64 =
        Exercise::ALL.iter().filter(|e| report.exercises.iter().any(|x| x.id == **e)).map(|e| e.points()).sum();
    if report.hidden_checks_included || total <= report.max_score {
        let _ = writeln!(out, "\nScore: {:.1} / {:.1}", report.score, report.max_score);
    } else {
        let _ = writeln!(
            out,
            "\nScore: {:.1} / {:.1} public points. The grade is out of {total:.0}: hidden checks, run after you submit, hold the other {:.0}.",
            report.score,
            report.max_score,
            total - report.max_score
        );
    }
    let passed = report.checks.iter().filter(|c| c.status == Status::Passed).count();
    let verdict = match (report.all_passed(), report.hidden_checks_included) {
        (true, true) => "All checks passed.".to_string(),
        (true, false) => {
            let checks = if passed == 1 { "public check" } else { "public checks" };
            format!("All {passed} {checks} passed. Hidden checks were not run: your grade also depends on them.")
        }
        (false, _) => format!("{passed} of {} checks passed.", report.checks.len()),
    };
    let _ = writeln!(out, "{verdict}");
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::output::report::fixture;

    #[test]
    fn compile_errors_come_once_at_the_top_and_not_under_every_check() {
        let report = fixture("extra_dependency");
        let text = render(&report, std::path::Path::new("target/grader/report.json"), false);
        let first = report.build.errors.as_deref().unwrap().lines().next().unwrap();
        assert_eq!(text.matches(first).count(), 1, "{text}");
        assert!(text.find(first) < text.find("BasicBlock"), "the errors come first: {text}");
        assert!(!text.contains("hint:"), "{text}");
    }

    #[test]
    fn without_hidden_checks_each_exercise_says_what_the_hidden_ones_hold() {
        let mut report = fixture("correct");
        report.checks.retain(|c| c.visibility == crate::catalog::Visibility::Public);
        report.hidden_checks_included = false;
        report.exercises = Report::exercise_totals(&report.checks, crate::profile::ProfileName::Smoke);
        report.max_score = report.checks.iter().map(|c| c.max_score).sum();
        report.score = report.max_score;
        let text = render(&report, std::path::Path::new("target/grader/report.json"), false);
        assert!(text.contains("7.0 / 7.0   src/basic_block.rs  (+8 in hidden checks after you submit)"), "{text}");
        assert!(
            text.contains("The grade is out of 65: hidden checks, run after you submit, hold the other 34."),
            "{text}"
        );
        assert!(text.contains("Train ResNet-18 (> 60% here, > 75% graded)"), "{text}");
    }
}
