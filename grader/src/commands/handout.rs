//! `grader handout`: write the student handout (see [`crate::handout`]).

use crate::exit::Exit;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `grader handout`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the handout (must not exist, or be empty).
    #[arg(long, default_value = "target/handout")]
    out: PathBuf,
}

/// Runs the command.
pub fn run(args: Args) -> Result<Exit> {
    let root = crate::run::worker_build::Workspace::locate()?.root;
    let files = crate::handout::write(&root, &args.out)?;
    println!("wrote the handout to {} ({} files; public checks only)", args.out.display(), files.len());
    Ok(Exit::Success)
}
