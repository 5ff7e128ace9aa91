//! `grader list`: the check catalog, as a table or as JSON — for each check, what it is worth, who
//! sees it, its time limit, and the file that implements it.

use crate::catalog::{CHECKS, Check, Exercise, Visibility};
use crate::exit::Exit;
use crate::run::sandbox::Clock;
use anyhow::Result;
use serde::Serialize;
use std::fmt::Write;

/// How `grader list` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One aligned line per check.
    Table,
    /// A JSON array of checks (for scripts and course tooling).
    Json,
}

/// Arguments of `grader list`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Include hidden checks (instructors).
    #[arg(long)]
    hidden: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// One check as `grader list --format json` prints it: its catalog row and where it is scored.
#[derive(Debug, Serialize)]
pub struct Listed<'a> {
    /// The catalog row.
    #[serde(flatten)]
    pub check: &'a Check,
    /// Where it is scored (the judge's source file, relative to the workspace).
    pub implemented_in: &'static str,
}

impl<'a> From<&'a Check> for Listed<'a> {
    fn from(check: &'a Check) -> Self {
        Self { check, implemented_in: check.implemented_in() }
    }
}

/// Prints the checks.
pub fn run(args: Args) -> Result<Exit> {
    let shown: Vec<&Check> = CHECKS.iter().filter(|c| args.hidden || c.visibility == Visibility::Public).collect();
    let text = match args.format {
        Format::Json => {
            let listed: Vec<Listed<'_>> = shown.into_iter().map(Listed::from).collect();
            serde_json::to_string_pretty(&listed)? + "\n"
        }
        Format::Table => table(&shown),
    };
    // `grader list | head` closes the pipe early: that is not an error.
    match std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(Exit::Success),
    }
}

/// The checks as an aligned table, and where each exercise's checks are scored.
fn table(checks: &[&Check]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<30} {:>6} {:<7} {:<16} title", "check", "points", "shown", "limit smoke/full");
    for check in checks {
        let [smoke, full] = check.limit.seconds;
        let clock = match check.limit.clock {
            Clock::Wall => "wall",
            Clock::Cpu => "CPU",
        };
        let limit = format!("{smoke}/{full} s {clock}");
        let _ = writeln!(
            out,
            "{:<30} {:>6.1} {:<7} {:<16} {}",
            check.id,
            check.points,
            check.visibility.as_str(),
            limit,
            check.title
        );
    }
    let total: f64 = checks.iter().map(|c| c.points).sum();
    let _ = writeln!(out, "\n{} checks, {total} points. Each exercise's checks are scored in:", checks.len());
    for exercise in Exercise::ALL {
        let mut files: Vec<&str> =
            checks.iter().filter(|c| c.exercise == exercise).map(|c| c.implemented_in()).collect();
        files.dedup();
        if !files.is_empty() {
            let _ = writeln!(out, "  {:<12} {}", exercise.id(), files.join(", "));
        }
    }
    let _ = writeln!(
        out,
        "(the judge's `implementation` match, grader/judge/src/checks/mod.rs, maps each check to its function)"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_rows_say_what_each_check_is_worth_and_where_it_is_scored() {
        let rows: Vec<serde_json::Value> =
            CHECKS.iter().map(|c| serde_json::to_value(Listed::from(c)).unwrap()).collect();
        let row = &rows[0];
        assert_eq!(row["id"], "basic_block.shape");
        assert_eq!(row["exercise"], "basic_block");
        assert_eq!(row["visibility"], "public");
        assert_eq!(row["limit"], serde_json::json!({"seconds": [60, 60], "clock": "wall"}));
        assert_eq!(row["implemented_in"], "grader/judge/src/checks/blocks/mod.rs");
        assert_eq!(row["points"], 2.0);
        let accuracy = rows.iter().find(|r| r["id"] == "training.accuracy").unwrap();
        assert_eq!(accuracy["after"], "training.runs");
    }
}
