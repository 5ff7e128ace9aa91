//! `grader batch`: grade a folder of submissions into per-student reports and a gradebook.

use super::common::GradingArgs;
use crate::batch::{BatchOptions, Ending, Regrade, Shard, run as run_batch};
use crate::catalog::CheckId;
use crate::exit::Exit;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `grader batch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder of submissions (zips or folders, one per student).
    submissions: PathBuf,
    /// Where per-student folders, grades.csv and check_stats.csv go.
    #[arg(long)]
    out: PathBuf,
    /// Grade only shard K of N (K/N, 1-based), e.g. for a Slurm array.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Regrade submissions already graded with the same settings.
    #[arg(long, conflicts_with = "regrade_status")]
    regrade: bool,
    /// Regrade only the submissions already graded whose report ended so: a check's status
    /// (timeout, error, failed, not_implemented, skipped) or the submission's (refused,
    /// does_not_compile, graded_with_timeouts), e.g. `timeout,error` after an infrastructure
    /// hiccup. Comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "STATUS,…", conflicts_with = "regrade_check")]
    regrade_status: Vec<Ending>,
    /// Run these checks again (and what they need) for every submission already graded, keeping the
    /// rest of each report: after a check changed. Comma-separated check ids.
    #[arg(long, value_delimiter = ',', value_name = "CHECK,…", conflicts_with = "regrade")]
    regrade_check: Vec<CheckId>,
    /// Public checks only.
    #[arg(long)]
    public_only: bool,
    /// Submissions graded at the same time (their checks share the CPU/GPU: the cores and 90% of
    /// the GPU's memory split among them; builds stay one at a time and overlap with grading). On a
    /// GPU, run MPS (`nvidia-cuda-mps-control -d`); `make bench-throughput DATA=dir` measures
    /// submissions per hour for several values on your machine (README: "Measured").
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    jobs: u64,
    #[command(flatten)]
    grading: GradingArgs,
}

/// Runs the command: exit 0 when the batch completed (whatever the scores).
pub fn run(args: Args) -> Result<Exit> {
    args.grading.refuse_without_protection()?;
    let grading = args.grading.options(PathBuf::new(), args.out.clone(), !args.public_only);
    let options = BatchOptions {
        submissions: args.submissions,
        out: args.out.clone(),
        shard: args.shard,
        regrade: match (args.regrade, args.regrade_status, args.regrade_check) {
            (true, _, _) => Regrade::Everything,
            (false, _, checks) if !checks.is_empty() => Regrade::Checks(checks),
            (false, endings, _) if endings.is_empty() => Regrade::Nothing,
            (false, endings, _) => Regrade::Ended(endings),
        },
        jobs: args.jobs as usize,
        grading,
    };
    let outcome = run_batch(&options)?;
    println!("graded {} submission(s) now, {} already graded earlier", outcome.graded, outcome.reused);
    println!("{}", crate::output::files::describe_batch(&args.out)?);
    println!("gradebook: {}", args.out.join("grades.csv").display());
    Ok(Exit::Success)
}
