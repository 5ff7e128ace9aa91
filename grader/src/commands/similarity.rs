//! `grader similarity SUBMISSIONS --out DIR`: leads for a person to review (see [`crate::similarity`]).

use crate::catalog::Exercise;
use crate::exit::Exit;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Arguments of `grader similarity`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The folder of submissions (as `grader batch` reads it).
    submissions: PathBuf,
    /// Where the report goes (index.html, pairs.csv, pairs/, files/).
    #[arg(long)]
    out: PathBuf,
    /// Pairs sharing at least this share of fingerprints are listed and get a page (0–1).
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
}

/// Runs the command.
pub fn run(args: Args) -> Result<Exit> {
    let root = crate::run::worker_build::Workspace::locate()?.root;
    let mut stubs = std::collections::BTreeMap::new();
    for exercise in Exercise::ALL {
        let path = root.join("student").join(exercise.file());
        stubs.insert(
            exercise,
            std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?,
        );
    }
    let (submissions, skipped) = crate::similarity::read_submissions(&args.submissions)?;
    let pairs = crate::similarity::compare(&submissions, &stubs);
    let leads = crate::similarity::write(&args.out, &submissions, &pairs, args.threshold)?;
    for (student, reason) in &skipped {
        println!("skipped {student}: {reason}");
    }
    for pair in leads.iter().take(10) {
        println!("{:>4.0}%  {} · {}", pair.score * 100.0, pair.students.0, pair.students.1);
    }
    println!(
        "{} pairs at or above {:.0}% of {} compared: {}",
        leads.len(),
        args.threshold * 100.0,
        pairs.len(),
        args.out.join("index.html").display()
    );
    Ok(Exit::Success)
}
