//! `grader check`: grade an assignment crate in place and write its report.

use super::common::GradingArgs;
use crate::catalog::Exercise;
use crate::exit::Exit;
use crate::grade::GradeOptions;
use crate::grade::grade;
use crate::output::files::{Platform, write_report_files};
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
    /// `report.json`, `report.html` and PrairieLearn's `results.json` (external grader).
    Prairielearn,
}

impl Format {
    /// The course platform whose results file it adds, if any.
    fn platform(self) -> Option<Platform> {
        match self {
            Format::Json => None,
            Format::Gradescope => Some(Platform::Gradescope),
            Format::Prairielearn => Some(Platform::Prairielearn),
        }
    }
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
    /// After the first run, re-check an exercise each time its answer file changes (Ctrl-C stops).
    #[arg(long)]
    watch: bool,
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
pub fn run(args: Args) -> Result<Exit> {
    let passed = check_once(&args, &args.grading.only)?;
    if !args.watch {
        return Ok(Exit::graded(passed));
    }
    watch(&args)
}

/// Grades `only` (everything when empty) and prints the summary; whether every check passed.
fn check_once(args: &Args, only: &[String]) -> Result<bool> {
    // A student's own crate, on their own machine: graded whatever protection is there.
    let out = args.out.clone().unwrap_or_else(|| report_dir(Path::new("target/grader"), only));
    let grading = GradingArgs { only: only.to_vec(), ..args.grading.clone() };
    let options = GradeOptions { trusted: true, ..grading.options(args.crate_dir.clone(), out.clone(), args.hidden) };
    let report = grade(&options)?;
    let path = write_report_files(&out, &report, args.format.platform())?;
    print!("{}", crate::output::summary::render(&report, &path, std::io::stdout().is_terminal()));
    Ok(report.all_passed())
}

/// The answer files' contents, by exercise (a missing file reads as empty).
fn answer_files(crate_dir: &Path) -> Vec<(Exercise, Vec<u8>)> {
    Exercise::ALL.iter().map(|&e| (e, std::fs::read(crate_dir.join(e.file())).unwrap_or_default())).collect()
}

/// The exercises whose answer file differs between two readings.
fn changed(before: &[(Exercise, Vec<u8>)], after: &[(Exercise, Vec<u8>)]) -> Vec<Exercise> {
    after.iter().filter(|(e, now)| before.iter().any(|(b, then)| b == e && then != now)).map(|(e, _)| *e).collect()
}

/// Polls the answer files twice a second and re-checks each exercise whose file changed (its
/// report in a folder of its own, as `--only` writes it). Runs until interrupted.
fn watch(args: &Args) -> Result<Exit> {
    let poll = std::time::Duration::from_millis(500);
    let mut seen = answer_files(&args.crate_dir);
    loop {
        println!("\nWatching {}/src: save an exercise's file to re-check it (Ctrl-C stops).", args.crate_dir.display());
        let exercises = loop {
            std::thread::sleep(poll);
            let now = answer_files(&args.crate_dir);
            let exercises = changed(&seen, &now);
            if !exercises.is_empty() {
                // An editor may write in steps: wait until the files hold still.
                std::thread::sleep(poll);
                seen = answer_files(&args.crate_dir);
                break exercises;
            }
        };
        let only: Vec<String> = exercises.iter().map(|e| e.id().to_string()).collect();
        let files: Vec<&str> = exercises.iter().map(|e| e.file()).collect();
        println!("\n{} changed: checking {}", files.join(", "), only.join(", "));
        if let Err(error) = check_once(args, &only) {
            // A run that could not grade (the crate does not build the judge, say) ends this
            // round, not the watch.
            eprintln!("grader: {error:#}");
        }
    }
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

    #[test]
    fn watching_re_checks_only_the_exercises_whose_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        for exercise in Exercise::ALL {
            std::fs::write(dir.path().join(exercise.file()), "todo").unwrap();
        }
        let before = answer_files(dir.path());
        assert!(changed(&before, &answer_files(dir.path())).is_empty());
        std::fs::write(dir.path().join(Exercise::HeInit.file()), "done").unwrap();
        std::fs::write(dir.path().join(Exercise::BasicBlock.file()), "todo").unwrap();
        assert_eq!(changed(&before, &answer_files(dir.path())), [Exercise::HeInit]);
        std::fs::remove_file(dir.path().join(Exercise::Ablation.file())).unwrap();
        assert_eq!(changed(&before, &answer_files(dir.path())), [Exercise::HeInit, Exercise::Ablation]);
    }
}
