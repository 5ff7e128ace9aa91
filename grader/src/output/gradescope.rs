//! Gradescope's `results.json` for a report.

use crate::catalog::{CheckId, Visibility};
use crate::output::report::{Report, Status};

impl Report {
    /// The line every student sees at once: the public checks' points only. Hidden checks'
    /// results (and so the total) appear with their tests once grades are published.
    fn gradescope_summary(&self) -> String {
        let public: Vec<_> = self.checks.iter().filter(|c| c.visibility == Visibility::Public).collect();
        let (score, max): (f64, f64) = public.iter().fold((0.0, 0.0), |(s, m), c| (s + c.score, m + c.max_score));
        let hidden = self.checks.len() - public.len();
        let mut line = format!("Public checks: {score:.1} / {max:.1} ({} profile).", self.metadata.profile);
        if hidden > 0 {
            line.push_str(&format!(
                " {hidden} hidden checks were graded too; they and your total appear when grades are published."
            ));
        }
        line
    }

    /// Gradescope's `results.json` for this report: one test per check, hidden checks visible after
    /// grades are published.
    pub fn to_gradescope(&self) -> serde_json::Value {
        let tests: Vec<serde_json::Value> = self
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                serde_json::json!({
                    "name": c.test_name(),
                    "number": format!("{}", i + 1),
                    "score": c.score,
                    "max_score": c.max_score,
                    "status": if c.status == Status::Passed { "passed" } else { "failed" },
                    "output": c.message_with_hint(),
                    "tags": [c.exercise.clone(), c.status.as_str()],
                    "visibility": if c.visibility == Visibility::Hidden { "after_published" } else { "visible" },
                })
            })
            .collect();
        let mut output = self.gradescope_summary();
        if let Some(errors) = &self.build.errors {
            output.push_str(&format!("\nYour crate does not compile:\n{errors}"));
        }
        let mut results = serde_json::json!({
            "score": self.score,
            "execution_time": self.metadata.duration_s.round() as u64,
            "output": output,
            "output_format": "text",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "extra_data": {"schema_version": self.schema_version, "sources_sha256": self.metadata.sources_sha256},
            "tests": tests,
        });
        // The training exercise's natural leaderboard: the test accuracy the grader measured.
        let accuracy = self.checks.iter().find(|c| c.id == CheckId::TrainingAccuracy);
        if let Some(accuracy) = accuracy.and_then(|c| c.details["test_accuracy"].as_f64()) {
            results["leaderboard"] =
                serde_json::json!([{"name": "Test accuracy (%)", "value": accuracy, "order": "desc"}]);
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        crate::output::report::fixture("correct")
    }

    #[test]
    fn the_text_students_see_at_once_holds_no_hidden_points_and_accuracy_goes_to_the_leaderboard() {
        let report = report();
        assert!(report.hidden_checks_included);
        let results = report.to_gradescope();
        let output = results["output"].as_str().unwrap();
        let public: f64 =
            report.checks.iter().filter(|c| c.visibility == Visibility::Public).map(|c| c.max_score).sum();
        assert!(output.starts_with(&format!("Public checks: {public:.1} / {public:.1}")), "{output}");
        assert!(!output.contains(&format!("{:.1}", report.max_score)), "the total leaks: {output}");
        assert!(output.contains("hidden checks were graded too"), "{output}");
        assert_eq!(results["leaderboard"][0]["name"], "Test accuracy (%)");
        assert_eq!(results["leaderboard"][0]["value"], 80.6);
        assert_eq!(results["leaderboard"][0]["order"], "desc");
        let hidden =
            results["tests"].as_array().unwrap().iter().filter(|t| t["visibility"] == "after_published").count();
        assert_eq!(hidden, report.checks.iter().filter(|c| c.visibility == Visibility::Hidden).count());
    }
}
