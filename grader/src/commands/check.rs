//! `grader check`: grade an assignment crate in place and write its report.

use crate::grade::{GradeOptions, grade};
use crate::profile::ProfileName;
use crate::report::write_json_atomic;
use anyhow::Result;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `report.json` only.
    Json,
    /// `report.json` and Gradescope's `results.json`.
    Gradescope,
}

/// Arguments of `grader check`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The assignment crate to grade.
    #[arg(long = "crate", default_value = "student")]
    crate_dir: PathBuf,
    /// smoke: CPU, synthetic data, minutes. full: GPU, CIFAR-10 from --data, the notebook's 75%.
    #[arg(long, value_enum, default_value_t = ProfileName::Smoke)]
    profile: ProfileName,
    /// The CIFAR-10 folder (cifar-10-batches-bin) for the full profile.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where report.json goes.
    #[arg(long, default_value = "target/grader")]
    out: PathBuf,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Run the hidden checks too (instructors).
    #[arg(long)]
    hidden: bool,
    /// Run only these checks (and the checks they need); repeatable.
    #[arg(long = "only", value_name = "CHECK_ID")]
    only: Vec<String>,
    /// Seed for data, initialization and training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Use this prebuilt grader-runner instead of building one.
    #[arg(long)]
    runner: Option<PathBuf>,
    /// Build the runner with optimizations.
    #[arg(long)]
    release: bool,
    /// Cap every check's time limit at this many seconds.
    #[arg(long, value_name = "SECONDS")]
    max_check_seconds: Option<u64>,
    /// No per-check progress lines.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs the command: exit 0 when every check passed, 1 when some did not.
pub fn run(args: Args) -> Result<i32> {
    let options = GradeOptions {
        crate_dir: args.crate_dir,
        profile: args.profile,
        data: args.data,
        hidden: args.hidden,
        only: args.only,
        out_dir: args.out.clone(),
        seed: args.seed,
        runner: args.runner,
        release: args.release,
        progress: !args.quiet,
        max_check_seconds: args.max_check_seconds,
    };
    let report = grade(&options)?;
    let path = args.out.join("report.json");
    write_json_atomic(&path, &report)?;
    if args.format == Format::Gradescope {
        write_json_atomic(&args.out.join("results.json"), &report.to_gradescope())?;
    }
    print!("{}", crate::summary::render(&report, &path, std::io::stdout().is_terminal()));
    Ok(if report.all_passed() { 0 } else { 1 })
}
