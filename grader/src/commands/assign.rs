//! `grader assign`: write (or `--check`) the student crate from the solution crate.

use crate::exit::Exit;
use anyhow::{Result, bail};
use std::path::PathBuf;

/// Arguments of `grader assign`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The solution crate (the single source of truth).
    #[arg(long, default_value = "solution")]
    solution: PathBuf,
    /// Where to write the student crate.
    #[arg(long, default_value = "student")]
    out: PathBuf,
    /// Only compare: exit 1 and list the differences when the student crate is out of date.
    #[arg(long)]
    check: bool,
}

/// Runs the command.
pub fn run(args: Args) -> Result<Exit> {
    let student = crate::assign::generate(&args.solution)?;
    if args.check {
        let problems = crate::assign::differences(&student, &args.out)?;
        if problems.is_empty() {
            println!("{} is up to date with {}", args.out.display(), args.solution.display());
            return Ok(Exit::Success);
        }
        for problem in &problems {
            eprintln!("{}: {problem}", args.out.display());
        }
        eprintln!("run `make student` (grader assign) to regenerate it");
        return Ok(Exit::ChecksFailed);
    }
    if student.answer_files.is_empty() {
        bail!("{} has no `// BEGIN SOLUTION` regions: is it the solution crate?", args.solution.display());
    }
    let written = crate::assign::write(&student, &args.out)?;
    println!(
        "{}: {} files, {} changed; answer files: {}",
        args.out.display(),
        student.files.len(),
        written.len(),
        student.answer_files.iter().map(|(f, n)| format!("{} ({n} stubs)", f.display())).collect::<Vec<_>>().join(", ")
    );
    Ok(Exit::Success)
}
