//! PrairieLearn's external-grader `results.json` for a report: a score in 0–1, `gradable: false`
//! when the submission could not be judged at all (refused), one test per check, and the report's
//! plots as images.

use crate::output::html::charts_of;
use crate::output::report::{Report, SubmissionStatus};
use base64::Engine;

impl Report {
    /// PrairieLearn's `results.json` for this report.
    pub fn to_prairielearn(&self) -> serde_json::Value {
        let tests: Vec<serde_json::Value> = self
            .checks
            .iter()
            .map(|c| {
                serde_json::json!({
                    "name": c.test_name(),
                    "description": format!("{} ({} check)", c.exercise.title(), c.visibility.as_str()),
                    "points": c.score,
                    "max_points": c.max_score,
                    "message": c.message_with_hint(),
                })
            })
            .collect();
        let images: Vec<serde_json::Value> = charts_of(self)
            .into_iter()
            .filter_map(|chart| {
                let svg = chart.svg.ok()?;
                let url =
                    format!("data:image/svg+xml;base64,{}", base64::engine::general_purpose::STANDARD.encode(svg));
                Some(serde_json::json!({"label": chart.caption, "url": url}))
            })
            .collect();
        let refused = self.submission.as_ref().and_then(|s| s.refused.as_deref());
        let mut message =
            format!("Score {:.1} / {:.1} ({} profile).", self.score, self.max_score, self.metadata.profile);
        if let Some(reason) = refused {
            message = format!("The submission could not be graded: {reason}");
        } else if let Some(errors) = &self.build.errors {
            message.push_str(&format!("\nYour crate does not compile:\n{errors}"));
        }
        serde_json::json!({
            "gradable": self.submission_status() != SubmissionStatus::Refused,
            "score": if self.max_score > 0.0 { (self.score / self.max_score).clamp(0.0, 1.0) } else { 0.0 },
            "message": message,
            "tests": tests,
            "images": images,
        })
    }
}

#[cfg(test)]
mod tests {

    use crate::output::report::fixture;

    #[test]
    fn scores_are_fractions_tests_carry_points_and_plots_are_images() {
        let report = fixture("correct");
        let results = report.to_prairielearn();
        assert_eq!(results["gradable"], true);
        let score = results["score"].as_f64().unwrap();
        assert!((score - report.score / report.max_score).abs() < 1e-9 && score <= 1.0, "{score}");
        let tests = results["tests"].as_array().unwrap();
        assert_eq!(tests.len(), report.checks.len());
        assert_eq!(tests[0]["max_points"], report.checks[0].max_score);
        let images = results["images"].as_array().unwrap();
        assert!(images.len() >= 3, "training, He-init and ablation plots: {}", images.len());
        assert!(images.iter().all(|i| i["url"].as_str().unwrap().starts_with("data:image/svg+xml;base64,")));
    }

    #[test]
    fn a_refused_submission_is_not_gradable_and_says_why() {
        let mut report = fixture("correct");
        let info = report.submission.get_or_insert_with(|| {
            serde_json::from_value(serde_json::json!({
            "student": "s", "source": "s.zip", "sha256": "x", "used": [], "missing": [], "ignored": [], "refused": null
        })).unwrap()
        });
        info.refused = Some("not a readable zip archive (x)".into());
        let results = report.to_prairielearn();
        assert_eq!(results["gradable"], false);
        assert_eq!(results["message"], "The submission could not be graded: not a readable zip archive (x)");
    }
}
