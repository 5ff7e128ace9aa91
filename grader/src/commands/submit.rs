//! `grader submit` (`make submit`): the student's submission zip — the answer files and a
//! `manifest.json` (student id, tool version, UTC time, sha256 of each file, and the public-check
//! summary at submit time). Warns loudly about exercises that still hold a `todo!()`.

use super::common::GradingArgs;
use crate::catalog::{CheckId, Exercise};
use crate::exit::Exit;
use crate::grade::GradeOptions;
use crate::output::report::Report;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `grader submit`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Your student id (or set STUDENT_ID).
    #[arg(long, env = "STUDENT_ID")]
    student_id: Option<String>,
    /// The crate to submit.
    #[arg(long = "crate", default_value = "student")]
    crate_dir: PathBuf,
    /// The zip to write.
    #[arg(long, default_value = "submission.zip")]
    output: PathBuf,
    /// Overwrite an existing zip.
    #[arg(long)]
    force: bool,
    /// Do not run the public checks first (the manifest then has no summary).
    #[arg(long)]
    skip_checks: bool,
    #[command(flatten)]
    grading: GradingArgs,
}

/// Answer files that still hold a `todo!()` in their code.
pub fn unfinished(crate_dir: &std::path::Path) -> Vec<&'static str> {
    Exercise::ALL
        .iter()
        .map(|e| e.file())
        .filter(|f| {
            std::fs::read_to_string(crate_dir.join(f)).is_ok_and(|text| crate::submission::transplant::has_todo(&text))
        })
        .collect()
}

/// Where `submit` writes the report of the checks it runs.
const SUBMIT_REPORT_DIR: &str = "target/grader/submit";

/// Where earlier runs left reports of every public check on `crate_dir`: `make check` in the
/// handout (`target/grader`), in the instructor's workspace (`target/grader/<crate>`), and an
/// earlier `submit`.
fn check_reports(crate_dir: &Path) -> Vec<PathBuf> {
    let root = Path::new("target/grader");
    let mut folders = vec![root.to_path_buf(), PathBuf::from(SUBMIT_REPORT_DIR)];
    if let Some(name) = std::fs::canonicalize(crate_dir).ok().and_then(|p| p.file_name().map(PathBuf::from)) {
        folders.push(root.join(name));
    }
    folders.into_iter().map(|f| f.join("report.json")).collect()
}

fn any_check_report(crate_dir: &Path) -> bool {
    check_reports(crate_dir).iter().any(|p| p.is_file())
}

/// The newest report of every public check, by this grader, on exactly the answer files there are
/// now (their hash), if there is one: `submit` reuses it instead of running the checks again. (The
/// manifest's summary only informs; grading runs every check itself.)
fn last_check(crate_dir: &Path) -> Option<(PathBuf, Report)> {
    let hash = crate::grade::sources_hash(crate_dir);
    let public: Vec<CheckId> = crate::catalog::selected(false).map(|c| c.id).collect();
    check_reports(crate_dir)
        .into_iter()
        .filter_map(|path| {
            let report: Report = serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()?;
            let ran: Vec<CheckId> = report.checks.iter().map(|c| c.id).collect();
            let same_grader = report.metadata.grader_version == env!("CARGO_PKG_VERSION")
                && report.metadata.git_revision == env!("GRADER_GIT_REVISION");
            (report.metadata.sources_sha256 == hash && same_grader && ran == public).then_some((path, report))
        })
        .max_by(|(_, a), (_, b)| a.metadata.finished_at.cmp(&b.metadata.finished_at))
}

/// The public checks' summary for the manifest: the last `make check`'s when the answer files are
/// unchanged since, else a fresh run.
fn public_checks(args: &Args) -> Result<serde_json::Value> {
    let report = match last_check(&args.crate_dir) {
        Some((path, report)) => {
            println!(
                "Your answer files are unchanged since the public checks of {}: using their results.",
                path.display()
            );
            report
        }
        None => {
            println!(
                "Running the public checks on your answer files (a few minutes on a laptop): {}.",
                if any_check_report(&args.crate_dir) {
                    "they changed since your last full `make check`"
                } else {
                    "there is no report of a full `make check` to reuse"
                }
            );
            let options = GradeOptions {
                trusted: true,
                ..args.grading.options(args.crate_dir.clone(), PathBuf::from(SUBMIT_REPORT_DIR), false)
            };
            let report = crate::grade::grade(&options)?;
            // Kept, so that the next submit of the same files reuses it.
            crate::output::files::write_report_files(Path::new(SUBMIT_REPORT_DIR), &report, None)?;
            report
        }
    };
    let exercises: serde_json::Map<String, serde_json::Value> = report
        .exercises
        .iter()
        .map(|e| {
            let total = serde_json::json!({"score": e.score, "max_score": e.max_score, "status": e.status.as_str()});
            (e.id.id().to_string(), total)
        })
        .collect();
    Ok(serde_json::json!({"score": report.score, "max_score": report.max_score, "exercises": exercises}))
}

/// Runs the command.
pub fn run(args: Args) -> Result<Exit> {
    let Some(student) = args.student_id.clone().filter(|s| !s.trim().is_empty()) else {
        bail!("give your student id: `make submit STUDENT_ID=jdoe` (or --student-id jdoe)");
    };
    if args.output.exists() && !args.force {
        bail!("{} already exists; pass --force (make submit FORCE=1) to replace it", args.output.display());
    }
    let mut files = Vec::new();
    for exercise in Exercise::ALL {
        let path = args.crate_dir.join(exercise.file());
        let bytes = std::fs::read(&path)
            .with_context(|| format!("cannot read {}: is --crate the assignment crate?", path.display()))?;
        files.push((exercise.file(), bytes));
    }
    let todo = unfinished(&args.crate_dir);
    if !todo.is_empty() {
        eprintln!("\n!!! WARNING: {} exercise file(s) still contain todo!(): {}", todo.len(), todo.join(", "));
        eprintln!("!!! Those exercises will score 0. Submitting anyway.\n");
    }
    let checks = if args.skip_checks { serde_json::Value::Null } else { public_checks(&args)? };
    let manifest = serde_json::json!({
        "student_id": student.trim(),
        "tool": format!("resnet-lab grader {} ({})", env!("CARGO_PKG_VERSION"), env!("GRADER_GIT_REVISION")),
        "created_at": humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        "files": files.iter().map(|(name, bytes)| (name.to_string(), serde_json::Value::String(hex::encode(Sha256::digest(bytes))))).collect::<serde_json::Map<_, _>>(),
        "unfinished": todo,
        "public_checks": checks,
    });
    let temporary = tempfile::NamedTempFile::new_in(
        args.output.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new(".")),
    )?;
    let mut zip = zip::ZipWriter::new(temporary.reopen()?);
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    for (name, bytes) in &files {
        zip.start_file(*name, options)?;
        zip.write_all(bytes)?;
    }
    zip.start_file("manifest.json", options)?;
    zip.write_all(serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    zip.finish()?;
    temporary.persist(&args.output).map_err(|e| e.error)?;
    println!(
        "wrote {} for {} ({} answer files{})",
        args.output.display(),
        student.trim(),
        files.len(),
        if checks.is_null() {
            String::new()
        } else {
            format!("; public checks {}/{}", checks["score"], checks["max_score"])
        }
    );
    Ok(Exit::Success)
}
