//! Gradescope's `results.json` for a report.

use crate::catalog::Visibility;
use crate::output::report::{Report, Status};

impl Report {
    /// Gradescope's `results.json` for this report: one test per check, hidden checks visible after
    /// grades are published.
    pub fn to_gradescope(&self) -> serde_json::Value {
        let tests: Vec<serde_json::Value> = self
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut output = c.message.clone();
                if let (Some(hint), false) = (&c.hint, c.status == Status::Passed) {
                    output.push_str(&format!("\nHint: {hint}"));
                }
                serde_json::json!({
                    "name": format!("{} — {}", c.id, c.name),
                    "number": format!("{}", i + 1),
                    "score": c.score,
                    "max_score": c.max_score,
                    "status": if c.status == Status::Passed { "passed" } else { "failed" },
                    "output": output,
                    "tags": [c.exercise.clone(), c.status.as_str()],
                    "visibility": if c.visibility == Visibility::Hidden { "after_published" } else { "visible" },
                })
            })
            .collect();
        let mut output =
            format!("Score {:.1} / {:.1} ({} profile).", self.score, self.max_score, self.metadata.profile);
        if let Some(errors) = &self.build.errors {
            output.push_str(&format!("\nYour crate does not compile:\n{errors}"));
        }
        serde_json::json!({
            "score": self.score,
            "execution_time": self.metadata.duration_s.round() as u64,
            "output": output,
            "output_format": "text",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "extra_data": {"schema_version": self.schema_version, "sources_sha256": self.metadata.sources_sha256},
            "tests": tests,
        })
    }
}
