//! `grader autograder` (`make autograder`): the Gradescope bundle — `setup.sh`, `run_autograder`
//! and the instructor workspace's sources under `source/` — as `autograder.zip`; with
//! `--platform prairielearn` (`make autograder-pl`), PrairieLearn's grader image folder instead —
//! a `Dockerfile`, the question's `info.json` and the sources under `source/`.

use crate::exit::Exit;
use crate::output::files::Platform;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Arguments of `grader autograder`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write autograder.zip (Gradescope) or the image folder (PrairieLearn).
    #[arg(long, default_value = "target/autograder")]
    out: PathBuf,
    /// Whose autograder to build.
    #[arg(long, value_enum, default_value_t = Platform::Gradescope)]
    platform: Platform,
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

/// PrairieLearn's grader image folder: the Docker build context of the grader image.
fn prairielearn(root: &Path, out: &Path) -> Result<Exit> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("cannot empty {}", out.display()))?;
    }
    for file in ["Dockerfile", "info.json"] {
        let to = out.join(file);
        std::fs::create_dir_all(out)?;
        std::fs::copy(root.join("packaging/prairielearn").join(file), &to)?;
    }
    let files = sources(root)?;
    for file in &files {
        let (from, to) = (root.join(file), out.join("source").join(file));
        if from.is_file() {
            std::fs::create_dir_all(to.parent().expect("a folder"))?;
            std::fs::copy(&from, &to)?;
        }
    }
    println!(
        "wrote {} (Dockerfile, info.json, {} source files): docker build -t IMAGE {}",
        out.display(),
        files.len(),
        out.display()
    );
    Ok(Exit::Success)
}

/// Runs the command.
pub fn run(args: Args) -> Result<Exit> {
    let root = crate::run::worker_build::Workspace::locate()?.root;
    if args.platform == Platform::Prairielearn {
        return prairielearn(&root, &args.out);
    }
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
