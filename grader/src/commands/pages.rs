//! `grader pages`: (re)write the HTML pages of a graded folder from its reports — every
//! `<student>/report.html` and the dashboard `index.html` (after a merge, or an older grader).

use crate::exit::Exit;
use crate::output::files::{Pages, write_batch_outputs, write_page};
use anyhow::Result;
use std::path::PathBuf;

/// Arguments of `grader pages`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A batch output folder (with `<student>/report.json`), or one report's folder.
    folder: PathBuf,
}

/// Runs the command.
pub fn run(args: Args) -> Result<Exit> {
    let single = args.folder.join("report.json");
    if single.is_file() {
        let report = crate::output::gradebook::read_report(&args.folder)?;
        println!("{}", write_page(&args.folder, &report)?.display());
        return Ok(Exit::Success);
    }
    // Refuses a folder that is not graded, with the reason.
    crate::output::gradebook::load_graded_folder(&args.folder)?;
    let reports = write_batch_outputs(&args.folder, Pages::Every)?;
    println!("{} student pages and {}", reports.len(), args.folder.join("index.html").display());
    println!("{}", crate::output::files::describe_batch(&args.folder)?);
    Ok(Exit::Success)
}
