//! The `grader` command line. Exit codes: see [`grader::exit::Exit`] (0 all passed, 1 some check
//! failed, 2 could not grade, 64 wrong command line).

use clap::{Parser, Subcommand};
use grader::exit::Exit;

#[derive(Debug, Parser)]
#[command(
    name = "grader",
    version,
    about = "Grades the Residual Networks assignment",
    long_about = None,
    after_help = Exit::help(),
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Grade an assignment crate in place (default: student/) and write report.json.
    Check(grader::commands::check::Args),
    /// Grade one submission (zip or folder) as the batch does.
    Grade(grader::commands::grade::Args),
    /// Grade a folder of submissions into per-student reports and grades.csv.
    Batch(grader::commands::batch::Args),
    /// Merge the output folders of batch shards.
    Merge(grader::commands::merge::Args),
    /// The notebook's demonstrations as pictures: the degradation problem, the loss landscape.
    Demo(grader::commands::demo::Args),
    /// Rewrite the HTML pages (report.html, index.html) of a graded folder from its reports.
    Pages(grader::commands::pages::Args),
    /// Write submission.zip with your answer files and a manifest (students).
    Submit(grader::commands::submit::Args),
    /// List the checks.
    List(grader::commands::list::Args),
    /// Compare every pair of submissions for shared code: leads to review (instructors).
    Similarity(grader::commands::similarity::Args),
    // BEGIN HIDDEN
    /// Write the Gradescope autograder bundle (instructors).
    Autograder(grader::commands::autograder::Args),
    /// Write the student handout: student crate, public grader, Makefile (instructors).
    Handout(grader::commands::handout::Args),
    /// Write the student crate from the solution crate (instructors).
    Assign(grader::commands::assign::Args),
    /// Write the bundled sample submissions into a folder (instructors; `make` grades them).
    Samples(grader::commands::samples::Args),
    // END HIDDEN
}

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            let exit = if err.use_stderr() { Exit::Usage } else { Exit::Success }; // --help, --version
            std::process::exit(exit.code());
        }
    };
    let exit = match cli.command {
        Command::Check(args) => grader::commands::check::run(args),
        Command::Grade(args) => grader::commands::grade::run(args),
        Command::Batch(args) => grader::commands::batch::run(args),
        Command::Merge(args) => grader::commands::merge::run(args),
        Command::Demo(args) => grader::commands::demo::run(args),
        Command::Pages(args) => grader::commands::pages::run(args),
        Command::Submit(args) => grader::commands::submit::run(args),
        Command::List(args) => grader::commands::list::run(args),
        Command::Similarity(args) => grader::commands::similarity::run(args),
        // BEGIN HIDDEN
        Command::Assign(args) => grader::commands::assign::run(args),
        Command::Autograder(args) => grader::commands::autograder::run(args),
        Command::Handout(args) => grader::commands::handout::run(args),
        Command::Samples(args) => grader::commands::samples::run(args),
        // END HIDDEN
    };
    match exit {
        Ok(exit) => std::process::exit(exit.code()),
        Err(err) => {
            eprintln!("grader: {err:#}");
            std::process::exit(Exit::CouldNotGrade.code());
        }
    }
}
