//! `grader autograder` (`make autograder`): the Gradescope bundle — `setup.sh`, `run_autograder`
//! and the instructor workspace's sources under `source/` — as `autograder.zip`.

use crate::exit::Exit;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `grader autograder`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write autograder.zip.
    #[arg(long, default_value = "target/autograder")]
    out: PathBuf,
}

/// The workspace's source files: what git tracks, or (outside git) everything but build outputs.
fn sources(root: &Path) -> Result<Vec<String>> {
    let listed = std::process::Command::new("git").args(["ls-files", "-z"]).current_dir(root).output();
    if let Some(output) = listed.ok().filter(|o| o.status.success() && !o.stdout.is_empty()) {
        return Ok(String::from_utf8_lossy(&output.stdout)
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect());
    }
    let files = crate::walk::files_below(root, root, &["target", ".venv", ".git", ".cargo"])?;
    Ok(files.into_iter().map(|p| p.to_string_lossy().into_owned()).collect())
}

/// Runs the command.
pub fn run(args: Args) -> Result<Exit> {
    let root = crate::run::worker_build::Workspace::locate()?.root;
    std::fs::create_dir_all(&args.out)?;
    let path = args.out.join("autograder.zip");
    let mut zip =
        zip::ZipWriter::new(std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?);
    let executable = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    let plain = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    for script in ["setup.sh", "run_autograder"] {
        zip.start_file(script, executable)?;
        zip.write_all(&std::fs::read(root.join("packaging/gradescope").join(script))?)?;
    }
    let files = sources(&root)?;
    for file in &files {
        let full = root.join(file);
        if !full.is_file() {
            continue;
        }
        let mode = if std::fs::metadata(&full)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0)
            .unwrap_or(false)
        {
            executable
        } else {
            plain
        };
        zip.start_file(format!("source/{file}"), mode)?;
        zip.write_all(&std::fs::read(&full)?)?;
    }
    zip.finish()?;
    println!("wrote {} (setup.sh, run_autograder, {} source files)", path.display(), files.len());
    Ok(Exit::Success)
}
