//! `grader list`: the check catalog, as a table or as JSON — for each check, what it is worth, who
//! sees it, its time limit, and the file that implements it.

use crate::catalog::{CHECKS, Check, CheckId, Exercise, Visibility};
use crate::exit::Exit;
use crate::run::sandbox::Clock;
use anyhow::Result;
use serde::Serialize;

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

/// One check as `grader list --format json` prints it.
#[derive(Debug, Serialize)]
pub struct Listed {
    /// The check's id.
    pub id: CheckId,
    /// Its exercise.
    pub exercise: Exercise,
    /// What it verifies.
    pub title: &'static str,
    /// Points for a full pass.
    pub points: f64,
    /// Who sees it.
    pub visibility: Visibility,
    /// Its time limit in the smoke (CPU) profile, seconds.
    pub limit_smoke_s: u64,
    /// Its time limit in the full (GPU) profile, seconds.
    pub limit_full_s: u64,
    /// The clock its limit is measured on.
    pub clock: Clock,
    /// The check whose artifacts it needs, if any.
    pub after: Option<CheckId>,
    /// The check whose process reports its result, if it has no process of its own.
    pub reported_by: Option<CheckId>,
    /// Where it is scored (the judge's source file, relative to the workspace).
    pub implemented_in: &'static str,
    /// What to look at when it fails.
    pub hint: &'static str,
}

impl From<&Check> for Listed {
    fn from(check: &Check) -> Self {
        let [limit_smoke_s, limit_full_s] = check.limit.seconds;
        Self {
            id: check.id,
            exercise: check.exercise,
            title: check.title,
            points: check.points,
            visibility: check.visibility,
            limit_smoke_s,
            limit_full_s,
            clock: check.limit.clock,
            after: check.after,
            reported_by: check.reported_by,
            implemented_in: check.implemented_in(),
            hint: check.hint,
        }
    }
}

/// Prints the checks.
pub fn run(args: Args) -> Result<Exit> {
    let shown: Vec<&Check> = CHECKS.iter().filter(|c| args.hidden || c.visibility == Visibility::Public).collect();
    match args.format {
        Format::Json => {
            let listed: Vec<Listed> = shown.into_iter().map(Listed::from).collect();
            println!("{}", serde_json::to_string_pretty(&listed)?);
        }
        Format::Table => print_table(&shown),
    }
    Ok(Exit::Success)
}

fn print_table(checks: &[&Check]) {
    println!("{:<30} {:>6} {:<7} {:<16} title", "check", "points", "shown", "limit smoke/full");
    for check in checks {
        let [smoke, full] = check.limit.seconds;
        let clock = match check.limit.clock {
            Clock::Wall => "wall",
            Clock::Cpu => "CPU",
        };
        let limit = format!("{smoke}/{full} s {clock}");
        println!(
            "{:<30} {:>6.1} {:<7} {:<16} {}",
            check.id,
            check.points,
            check.visibility.as_str(),
            limit,
            check.title
        );
    }
    let total: f64 = checks.iter().map(|c| c.points).sum();
    println!("\n{} checks, {total} points. Each exercise's checks are scored in:", checks.len());
    for exercise in Exercise::ALL {
        let mut files: Vec<&str> =
            checks.iter().filter(|c| c.exercise == exercise).map(|c| c.implemented_in()).collect();
        files.dedup();
        if !files.is_empty() {
            println!("  {:<12} {}", exercise.id(), files.join(", "));
        }
    }
    println!("(the judge's `implementation` match, grader/judge/src/checks/mod.rs, maps each check to its function)");
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
        assert_eq!(row["clock"], "wall");
        assert_eq!(row["implemented_in"], "grader/judge/src/checks/blocks/mod.rs");
        assert_eq!(row["points"], 2.0);
        let accuracy = rows.iter().find(|r| r["id"] == "training.accuracy").unwrap();
        assert_eq!(accuracy["after"], "training.runs");
    }
}
