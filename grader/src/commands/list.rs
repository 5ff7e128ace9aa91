//! `grader list`: the check catalog as a table.

use crate::catalog::{CHECKS, Visibility};
use anyhow::Result;

/// Arguments of `grader list`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Include hidden checks (instructors).
    #[arg(long)]
    hidden: bool,
}

/// Prints one line per check.
pub fn run(args: Args) -> Result<i32> {
    println!("{:<30} {:>6} {:<7} title", "check", "points", "shown");
    for check in CHECKS.iter().filter(|c| args.hidden || c.visibility == Visibility::Public) {
        let shown = if check.visibility == Visibility::Public { "public" } else { "hidden" };
        println!("{:<30} {:>6.1} {:<7} {}", check.id, check.points, shown, check.title);
    }
    Ok(0)
}
