//! `grader check`: grade an assignment crate in place and write its report.

use super::common::GradingArgs;
use crate::grade::GradeOptions;
use crate::grade::grade;
use crate::report::write_report_files;
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `report.json` (and `report.html`).
    Json,
    /// `report.json`, `report.html` and Gradescope's `results.json`.
    Gradescope,
}

/// Arguments of `grader check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The assignment crate to grade.
    #[arg(long = "crate", default_value = "student")]
    crate_dir: PathBuf,
    /// Where report.json goes.
    #[arg(long, default_value = "target/grader")]
    out: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Run the hidden checks too (instructors).
    #[arg(long)]
    hidden: bool,
    #[command(flatten)]
    grading: GradingArgs,
}

/// Runs the command: exit 0 when every check passed, 1 when some did not.
pub fn run(args: Args) -> Result<i32> {
    // A student's own crate, on their own machine: graded whatever protection is there.
    let options = GradeOptions { trusted: true, ..args.grading.options(args.crate_dir, args.out.clone(), args.hidden) };
    let report = grade(&options)?;
    let path = write_report_files(&args.out, &report, args.format == Format::Gradescope)?;
    print!("{}", crate::summary::render(&report, &path, std::io::stdout().is_terminal()));
    Ok(if report.all_passed() { 0 } else { 1 })
}
