//! `grader check`: grade an assignment crate in place and write its report.

use super::common::GradingArgs;
use crate::grade::GradeOptions;
use crate::grade::grade;
use crate::report::write_report_files;
use anyhow::Result;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

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
    /// Where report.json goes [default: target/grader, and for a run with --only a folder of its
    /// own in it, e.g. target/grader/only-basic_block, so that the full report stays].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Run the hidden checks too (instructors).
    #[arg(long)]
    hidden: bool,
    #[command(flatten)]
    grading: GradingArgs,
}

/// Where the report goes: `out`, or for a run of some checks only (`--only`) a folder of its own in
/// it (`only-basic_block+he_init`), so that a quick look at one exercise keeps the full report.
fn report_dir(out: &Path, only: &[String]) -> PathBuf {
    if only.is_empty() {
        return out.to_path_buf();
    }
    let name: String =
        only.join("+").chars().map(|c| if c.is_ascii_alphanumeric() || "._+-".contains(c) { c } else { '_' }).collect();
    out.join(format!("only-{name}"))
}

/// Runs the command: exit 0 when every check passed, 1 when some did not.
pub fn run(args: Args) -> Result<i32> {
    // A student's own crate, on their own machine: graded whatever protection is there.
    let out = args.out.clone().unwrap_or_else(|| report_dir(Path::new("target/grader"), &args.grading.only));
    let options = GradeOptions { trusted: true, ..args.grading.options(args.crate_dir, out.clone(), args.hidden) };
    let report = grade(&options)?;
    let path = write_report_files(&out, &report, args.format == Format::Gradescope)?;
    print!("{}", crate::summary::render(&report, &path, std::io::stdout().is_terminal()));
    Ok(if report.all_passed() { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_some_checks_keeps_the_full_report() {
        let out = Path::new("target/grader/student");
        assert_eq!(report_dir(out, &[]), out);
        let only = ["basic_block".to_string(), "he_init.layers".to_string()];
        assert_eq!(report_dir(out, &only), out.join("only-basic_block+he_init.layers"));
        assert_eq!(report_dir(out, &["../x".to_string()]), out.join("only-.._x"));
    }
}
