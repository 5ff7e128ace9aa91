//! `grader submit` (`make submit`): the student's submission zip — the answer files and a
//! `manifest.json` (student id, tool version, UTC time, sha256 of each file, and the public-check
//! summary at submit time). Warns loudly about exercises that still hold a `todo!()`.

use super::common::GradingArgs;
use crate::catalog::Exercise;
use crate::grade::GradeOptions;
use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::PathBuf;

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
        .filter(|f| std::fs::read_to_string(crate_dir.join(f)).is_ok_and(|text| crate::transplant::has_todo(&text)))
        .collect()
}

/// Runs the command.
pub fn run(args: Args) -> Result<i32> {
    let Some(student) = args.student_id.filter(|s| !s.trim().is_empty()) else {
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
    let checks = if args.skip_checks {
        serde_json::Value::Null
    } else {
        let options = GradeOptions {
            trusted: true,
            ..args.grading.options(args.crate_dir.clone(), PathBuf::from("target/grader/submit"), false)
        };
        let report = crate::grade::grade(&options)?;
        serde_json::json!({
            "score": report.score,
            "max_score": report.max_score,
            "exercises": report.exercises.iter().map(|e| (e.id.clone(), serde_json::json!({"score": e.score, "max_score": e.max_score, "status": e.status.as_str()}))).collect::<serde_json::Map<_, _>>(),
        })
    };
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
    Ok(0)
}
