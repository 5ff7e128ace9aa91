//! The report's JSON Schema, `grader/report.schema.json`: derived from the report's types with
//! schemars (their doc comments are its descriptions), so that it cannot restate them wrongly. A
//! test keeps the published file equal to the derived schema (`RESNET_LAB_UPDATE_SCHEMA=1 cargo test
//! -p resnet-lab-grader --lib schema` rewrites it), and tests validate real reports against it with
//! the jsonschema crate.

use crate::output::report::{Report, SCHEMA_VERSION};
use serde_json::Value;

/// The report schema shipped with the grader.
pub const REPORT_SCHEMA: &str = include_str!("../../report.schema.json");

/// The schema of [`Report`], as published.
pub fn derived() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Report)).expect("a schema is JSON");
    let object = schema.as_object_mut().expect("a schema is an object");
    object.insert("$id".into(), "https://resnet-lab.invalid/report.schema.json".into());
    object.insert("title".into(), "resnet-lab grading report".into());
    object.insert(
        "description".into(),
        format!("What `grader check` / `grader grade` write as report.json. schema_version {SCHEMA_VERSION}.").into(),
    );
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_schema_is_the_one_derived_from_the_report_types() {
        let mut text = serde_json::to_string_pretty(&derived()).unwrap();
        text.push('\n');
        if std::env::var_os("RESNET_LAB_UPDATE_SCHEMA").is_some() {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("report.schema.json");
            std::fs::write(&path, &text).unwrap();
        }
        assert!(
            REPORT_SCHEMA == text,
            "grader/report.schema.json is not the schema of the report's types; rewrite it with RESNET_LAB_UPDATE_SCHEMA=1 cargo test -p resnet-lab-grader --lib schema"
        );
    }

    #[test]
    fn real_reports_validate_and_broken_ones_do_not() {
        let schema: Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/reports");
        for name in ["correct", "huge_file", "fake_report"] {
            let report: Value =
                serde_json::from_str(&std::fs::read_to_string(root.join(name).join("report.json")).unwrap()).unwrap();
            let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{name}: {errors:?}");
            let mut broken = report.clone();
            broken["checks"][0]["status"] = "great".into();
            broken["score"] = "65".into();
            broken["surprise"] = true.into();
            assert_eq!(
                validator.iter_errors(&broken).count(),
                3,
                "{name}: a bad status, a string score, an unknown field"
            );
        }
    }
}
