//! Validates JSON against the subset of JSON Schema that `report.schema.json` uses (`type`,
//! `const`, `enum`, `properties`, `required`, `additionalProperties: false`, `items`, `minimum`,
//! local `$ref`s). Tests check real reports against the published schema with it.

use serde_json::Value;

/// The report schema shipped with the grader.
pub const REPORT_SCHEMA: &str = include_str!("../../report.schema.json");

/// Every violation of `schema` by `value`, as `path: problem` lines (empty when valid).
pub fn validate(value: &Value, schema: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    check(value, schema, schema, "$", &mut problems);
    problems
}

fn type_matches(value: &Value, name: &str) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

fn check(value: &Value, schema: &Value, root: &Value, path: &str, problems: &mut Vec<String>) {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let target = reference.trim_start_matches("#/").split('/').try_fold(root, |node, key| node.get(key));
        match target {
            Some(target) => check(value, target, root, path, problems),
            None => problems.push(format!("{path}: unresolvable $ref {reference}")),
        }
        return;
    }
    if let Some(expected) = schema.get("const")
        && value != expected
    {
        problems.push(format!("{path}: must be {expected}"));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        problems.push(format!("{path}: {value} is not one of {}", Value::Array(options.clone())));
    }
    match schema.get("type") {
        Some(Value::String(name)) if !type_matches(value, name) => {
            problems.push(format!("{path}: expected {name}, got {value}"))
        }
        Some(Value::Array(names)) if !names.iter().filter_map(Value::as_str).any(|n| type_matches(value, n)) => {
            problems.push(format!("{path}: expected one of {}, got {value}", Value::Array(names.clone())))
        }
        _ => {}
    }
    if let (Some(minimum), Some(number)) = (schema.get("minimum").and_then(Value::as_f64), value.as_f64())
        && number < minimum
    {
        problems.push(format!("{path}: {number} is below {minimum}"));
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
        {
            if !object.contains_key(required) {
                problems.push(format!("{path}: missing {required}"));
            }
        }
        for (key, item) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => check(item, sub, root, &format!("{path}.{key}"), problems),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    problems.push(format!("{path}: unexpected property {key}"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            check(item, items, root, &format!("{path}[{i}]"), problems);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_missing_extra_mistyped_and_out_of_enum_values() {
        let schema = json!({"type": "object", "additionalProperties": false, "required": ["a", "s"],
            "properties": {"a": {"type": "integer", "minimum": 0}, "s": {"$ref": "#/$defs/s"}, "n": {"type": ["string", "null"]}},
            "$defs": {"s": {"enum": ["x", "y"]}}});
        assert!(validate(&json!({"a": 1, "s": "x", "n": null}), &schema).is_empty());
        let problems = validate(&json!({"a": -1, "s": "z", "n": 3, "extra": true}), &schema);
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(validate(&json!({"s": "x"}), &schema)[0].contains("missing a"));
    }

    #[test]
    fn the_shipped_schema_parses() {
        let schema: Value = serde_json::from_str(REPORT_SCHEMA).unwrap();
        assert_eq!(schema["properties"]["schema_version"]["const"], json!(crate::output::report::SCHEMA_VERSION));
    }
}
