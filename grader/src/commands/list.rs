//! `grader list`: the check catalog as a table.

use crate::catalog::{CHECKS, Visibility};
use crate::sandbox::Clock;
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
    println!("{:<30} {:>6} {:<7} {:<16} title", "check", "points", "shown", "limit smoke/full");
    for check in CHECKS.iter().filter(|c| args.hidden || c.visibility == Visibility::Public) {
        let shown = if check.visibility == Visibility::Public { "public" } else { "hidden" };
        let [smoke, full] = check.limit.seconds;
        let clock = match check.limit.clock {
            Clock::Wall => "wall",
            Clock::Cpu => "CPU",
        };
        let limit = format!("{smoke}/{full} s {clock}");
        println!("{:<30} {:>6.1} {:<7} {:<16} {}", check.id, check.points, shown, limit, check.title);
    }
    Ok(0)
}
