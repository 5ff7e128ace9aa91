//! `grader grade`: grade one submission (zip or folder) as the batch does, isolated.

use super::common::GradingArgs;
use crate::exit::Exit;
use crate::output::files::Platform;
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `grader grade`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The submission: a .zip or a folder.
    submission: PathBuf,
    /// Where report.json, results.json and build.log go.
    #[arg(long)]
    out: PathBuf,
    /// Whose results.json to write: Gradescope's or PrairieLearn's (external grader).
    #[arg(long, value_enum, default_value_t = Platform::Gradescope)]
    format: Platform,
    /// Public checks only (the batch runs hidden checks too).
    #[arg(long)]
    public_only: bool,
    #[command(flatten)]
    grading: GradingArgs,
}

/// Runs the command: exit 0 when every check passed, 1 otherwise.
pub fn run(args: Args) -> Result<Exit> {
    args.grading.refuse_without_protection()?;
    let options = args.grading.options(PathBuf::new(), args.out.clone(), !args.public_only);
    let report = crate::batch::grade_one(&args.submission, &options, args.format)?;
    print!(
        "{}",
        crate::output::summary::render(&report, &args.out.join("report.json"), std::io::stdout().is_terminal())
    );
    Ok(Exit::graded(report.all_passed()))
}
