//! `grader merge`: combine the output folders of batch shards into one gradebook.

use crate::exit::Exit;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `grader merge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shards' output folders.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The merged output folder.
    #[arg(long)]
    out: PathBuf,
}

/// Runs the command.
pub fn run(args: Args) -> Result<Exit> {
    let students = crate::batch::merge(&args.inputs, &args.out)?;
    println!("merged {students} students into {}", args.out.join("grades.csv").display());
    println!("{}", crate::output::files::describe_batch(&args.out)?);
    Ok(Exit::Success)
}
