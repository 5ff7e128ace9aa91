//! `grader samples DIR`: write the bundled sample submissions (instructors; `make` grades them).

use crate::exit::Exit;
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `grader samples`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder to write them into (emptied first).
    out: PathBuf,
}

/// Runs the command.
pub fn run(args: Args) -> Result<Exit> {
    let root = crate::run::worker_build::Workspace::locate()?.root;
    crate::samples::write(&root, &args.out)?;
    println!("wrote the sample submissions into {}", args.out.display());
    Ok(Exit::Success)
}
