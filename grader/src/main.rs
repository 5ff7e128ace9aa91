//! The `grader` command line. Exit codes: 0 all passed, 1 some checks failed, 2 could not grade.

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "grader",
    version,
    about = "Grades the Residual Networks assignment"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write the student crate from the solution crate (instructors).
    Assign(grader::commands::assign::Args),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Assign(args) => grader::commands::assign::run(args),
    };
    match code {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            eprintln!("grader: {err:#}");
            std::process::exit(2);
        }
    }
}
