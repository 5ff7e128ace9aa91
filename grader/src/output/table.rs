//! The CSV files an instructor writes into a graded folder (`roster.csv`, `overrides.csv`,
//! `submitted.csv`), read the same way: a header line, cells trimmed, each row a typed record, and
//! a mistake named by its file and line.

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use std::path::Path;

/// One row of a CSV file and where it stands (`path:line`, for the errors found in it later).
#[derive(Debug, Clone, PartialEq)]
pub struct Row<T> {
    /// `path:line`.
    pub at: String,
    /// The row's cells as a record.
    pub record: T,
}

/// Every row of the CSV file at `path` as a `T`; a row that is not one is an error naming its line
/// and the `columns` expected (`student,submitted_at`).
pub fn read_rows<T: DeserializeOwned>(path: &Path, columns: &str) -> Result<Vec<Row<T>>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let headers = reader.headers().with_context(|| format!("{}:1: expected {columns}", path.display()))?.clone();
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        // The reader's line (a quoted cell may span lines); the header is line 1.
        let line = match &record {
            Ok(record) => record.position().map(csv::Position::line),
            Err(error) => error.position().map(csv::Position::line),
        };
        let at = format!("{}:{}", path.display(), line.unwrap_or(index as u64 + 2));
        let record = record
            .map_err(anyhow::Error::from)
            .and_then(|r| Ok(r.deserialize::<T>(Some(&headers))?))
            .with_context(|| format!("{at}: expected {columns}"))?;
        rows.push(Row { at, record });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Time {
        student: String,
        hours: f64,
    }

    fn rows(text: &str) -> Result<Vec<Row<Time>>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        read_rows(&path, "student,hours").map(|rows| {
            rows.into_iter().map(|r| Row { at: r.at.rsplit('/').next().unwrap().to_string(), ..r }).collect()
        })
    }

    #[test]
    fn rows_are_trimmed_records_with_their_line() {
        let read = rows("student, hours\n jane , 2\n\"kim\nlee\",3.5\nzoe,1\n").unwrap();
        let places: Vec<&str> = read.iter().map(|r| r.at.as_str()).collect();
        assert_eq!(places, ["t.csv:2", "t.csv:3", "t.csv:5"], "a quoted cell over two lines counts both");
        assert_eq!(read[0].record, Time { student: "jane".into(), hours: 2.0 });
        assert_eq!(read[1].record.student, "kim\nlee");
    }

    #[test]
    fn a_bad_row_is_named_by_its_line_and_the_columns_expected() {
        let err = format!("{:#}", rows("student,hours\njane,2\nkim,lots\n").unwrap_err());
        assert!(err.contains("t.csv:3: expected student,hours"), "{err}");
        let err = format!("{:#}", rows("student,hours\njane,2,9\n").unwrap_err());
        assert!(err.contains("t.csv:2: expected student,hours"), "{err}");
        // Past a quoted cell over two lines, both kinds of mistake name the line they are on.
        let err = format!("{:#}", rows("student,hours\n\"kim\nlee\",3\nzoe,lots\n").unwrap_err());
        assert!(err.contains("t.csv:4: expected student,hours"), "{err}");
        let err = format!("{:#}", rows("student,hours\n\"kim\nlee\",3\nzoe,1,9\n").unwrap_err());
        assert!(err.contains("t.csv:4: expected student,hours"), "{err}");
    }
}
