//! Builds the judge once, and `grader-worker` against each crate being graded.
//!
//! The judge (`grader-judge`, the reference and the checks) is a member of this workspace and is
//! built as one. A submission's worker is built in a workspace of its own,
//! `target/grader/workers/<key>/`: the graded crate staged as package `resnet-lab-graded-<key>`
//! (its `Cargo.toml` with workspace inheritance resolved, and its `src/`), the worker's sources, the
//! shared crates (wire and plots: one staged copy under `target/grader/shared/` that every build
//! reads and none writes), the build script, the workspace's lockfile and a generated root manifest.
//! Cargo runs in a mount namespace that shows it that folder, its target folder
//! (`target/grader/worker-target`, shared by every worker build so that libtorch's bindings compile
//! once), libtorch and the toolchain, and hides the rest of this workspace (the solution, the hidden
//! checks, the tests, other submissions) and every folder the caller names private: whatever the
//! student's code includes at compile time (`include_str!`, `#[path]`, macros), it reads nothing
//! secret. Files are rewritten only when they change, so regrading an unchanged crate builds
//! nothing; a private build (a submission) removes its staged crate and its artifacts after.

mod stage;
#[cfg(test)]
mod tests;
mod view;

pub use view::libtorch_folders;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};
use stage::{read_manifest, stage_worker};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use toml_edit::DocumentMut;
use view::{build_allow_list, build_view, jailed_build};

/// The package name the graded crate is staged under, followed by `-<key>`. Cargo hashes path
/// packages by their path relative to the workspace root, which is the same for every staged crate
/// (`graded/`), so only a distinct name keeps their artifacts apart in the shared target folder.
pub const GRADED_PACKAGE: &str = "resnet-lab-graded";

/// A successful build.
#[derive(Debug, Clone)]
pub struct Built {
    /// The worker binary.
    pub binary: PathBuf,
    /// Wall-clock seconds of the build.
    pub seconds: f64,
    /// How the build was confined, in words (for the report).
    pub confinement: String,
    /// A copy of this submission's own, removed once the run holds its copy (batch builds).
    pub temporary: bool,
}

impl Built {
    /// A worker someone built beforehand (`--worker`).
    pub fn prebuilt(binary: PathBuf) -> Self {
        Built { binary, seconds: 0.0, confinement: "none here (a prebuilt worker was given)".into(), temporary: false }
    }
}

/// How a build in bubblewrap is confined, in words.
const JAILED_BUILD: &str = "the student's files compiled with the worker in bubblewrap, with an allow-list view (system programs, the toolchain, the crate registry, libtorch, the shared wire and plots crates, its own staging folder): no solution, hidden check, other submission or host file to read, no network";

/// Why no worker could be built.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BuildFailure {
    /// The graded crate does not compile: a graded outcome.
    #[error("the crate does not compile:\n{first_errors}")]
    Compile {
        /// The compiler's first errors, for the student.
        first_errors: String,
        /// The whole build log.
        log: String,
    },
    /// The toolchain itself failed (cargo missing, libtorch missing, …): could not grade.
    #[error("{0}")]
    Tool(String),
}

/// Where to build: the workspace that holds `grader/`, `solution/` and `target/`.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Its root folder.
    pub root: PathBuf,
}

impl Workspace {
    /// The workspace this grader was built in, or `RESNET_LAB_ROOT`.
    pub fn locate() -> Result<Self> {
        let root = std::env::var_os("RESNET_LAB_ROOT").map(PathBuf::from).unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("grader/ has a parent").to_path_buf()
        });
        if !root.join("grader/judge/Cargo.toml").is_file() {
            bail!("{} is not a resnet-lab workspace (no grader/judge/Cargo.toml); set RESNET_LAB_ROOT", root.display());
        }
        Ok(Self { root: root.canonicalize()? })
    }

    pub(super) fn target_dir(&self) -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| self.root.join("target"))
    }

    pub(super) fn root_manifest(&self) -> Result<DocumentMut> {
        read_manifest(&self.root.join("Cargo.toml"))
    }
}

/// A short stable key for a crate folder.
pub fn crate_key(crate_dir: &Path) -> String {
    hex::encode(&Sha256::digest(crate_dir.display().to_string().as_bytes())[..6])
}

/// The first compiler errors of a cargo log (at most three, each with its context lines).
pub fn first_errors(log: &str) -> String {
    let mut blocks: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for line in log.lines() {
        let starts =
            line.starts_with("error[") || (line.starts_with("error:") && !line.starts_with("error: could not compile"));
        if starts {
            if let Some(block) = current.take() {
                blocks.push(block);
            }
            current = Some(line.to_string());
        } else if let Some(block) = current.as_mut() {
            if line.trim().is_empty() || line.starts_with("warning") || line.starts_with("error: could not compile") {
                blocks.push(current.take().expect("some"));
            } else {
                block.push('\n');
                block.push_str(line);
            }
        }
    }
    blocks.extend(current);
    if blocks.is_empty() {
        return log.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
    }
    blocks.into_iter().take(3).collect::<Vec<_>>().join("\n\n")
}

/// `path` relative to the current folder when it is inside it (how a student would type it).
fn shown_path(path: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|here| path.strip_prefix(here).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
}

/// A build log with the staging copy's paths (absolute, or `graded/src/…` as rustc prints a
/// workspace member's) replaced by `src`, the student's own `src` folder, so that an error points
/// at the file to open.
fn in_students_crate(log: &str, staging: &Path, src: &Path) -> String {
    let src = src.display().to_string();
    let log = log.replace(&staging.join("graded/src").display().to_string(), &src);
    ["--> ", "::: "]
        .iter()
        .fold(log, |log, arrow| log.replace(&format!("{arrow}graded/src/"), &format!("{arrow}{src}/")))
}

/// The folder the judge and every worker are built in (`debug` or `release`).
fn profile_dir(release: bool) -> &'static str {
    if release { "release" } else { "debug" }
}

pub(super) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Builds `grader-judge` in this workspace (quick when it is up to date) and returns its path.
pub fn build_judge(workspace: &Workspace, release: bool) -> Result<PathBuf> {
    let mut command = Command::new(cargo());
    command
        .current_dir(&workspace.root)
        .args(["build", "--offline", "--quiet", "--color", "never", "-p", "resnet-lab-judge", "--target-dir"])
        .arg(workspace.target_dir());
    if release {
        command.arg("--release");
    }
    let output = command.output().with_context(|| format!("cannot run {}", cargo()))?;
    if !output.status.success() {
        bail!("building the judge failed:\n{}", first_errors(&String::from_utf8_lossy(&output.stderr)));
    }
    Ok(workspace.target_dir().join(profile_dir(release)).join("grader-judge"))
}

/// Removes what a private build left in the shared worker target folder: every artifact whose name
/// carries `key` (the graded crate and the worker of that submission).
fn remove_artifacts(target: &Path, key: &str) {
    let mut stack = vec![target.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            // Keys are hex: the same in package names (`-`) and file names (`_`).
            if name.contains(key) {
                let _ = if is_dir { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            } else if is_dir {
                stack.push(path);
            }
        }
    }
}

/// Stages `crate_dir` and builds a worker against it, in the build sandbox (see the module docs).
/// `private` names folders the build must not see; when it is not empty (a submission), the staged
/// crate and its artifacts are removed after the build and the binary is kept on its own.
pub fn build(
    workspace: &Workspace,
    crate_dir: &Path,
    release: bool,
    private: &[PathBuf],
) -> std::result::Result<Built, BuildFailure> {
    let tool = |e: anyhow::Error| BuildFailure::Tool(format!("{e:#}"));
    let crate_dir = assignment_crate(crate_dir)?;
    let key = crate_key(&crate_dir);
    let staging = workspace.target_dir().join("grader/workers").join(&key);
    let target = workspace.target_dir().join("grader/worker-target");
    std::fs::create_dir_all(&target).map_err(|e| tool(e.into()))?;
    let bin_name = stage_worker(workspace, &crate_dir, &staging, &key).map_err(tool)?;
    let started = Instant::now();
    let cargo_build = CargoBuild { workspace, staging: &staging, target: &target, release, private };
    let (output, confinement) = cargo_build.run()?;
    let seconds = started.elapsed().as_secs_f64();
    let built = target.join(profile_dir(release)).join(&bin_name);
    let private_build = !private.is_empty();
    let result = if !output.status.success() {
        // A student's own crate: paths as they would type them; a batch's staged copy: `src/…`.
        let shown = if private_build { PathBuf::new() } else { shown_path(&crate_dir) };
        Err(failure(&in_students_crate(&String::from_utf8_lossy(&output.stderr), &staging, &shown.join("src"))))
    } else if private_build {
        // Moved, not copied: what the build left in the shared target folder goes below anyway.
        let kept = workspace.target_dir().join("grader/worker-bins").join(&bin_name);
        std::fs::create_dir_all(kept.parent().expect("a folder"))
            .and_then(|()| std::fs::rename(&built, &kept))
            .map(|()| Built { binary: kept.clone(), seconds, confinement, temporary: true })
            .map_err(|e| BuildFailure::Tool(format!("cannot keep the worker binary: {e}")))
    } else {
        Ok(Built { binary: built, seconds, confinement, temporary: false })
    };
    if private_build {
        let _ = std::fs::remove_dir_all(&staging);
        remove_artifacts(&target, &key);
    }
    result
}

/// `crate_dir`, canonical, if it looks like the assignment crate.
fn assignment_crate(crate_dir: &Path) -> std::result::Result<PathBuf, BuildFailure> {
    let canonical = crate_dir
        .canonicalize()
        .map_err(|e| BuildFailure::Tool(format!("cannot open the crate {}: {e}", crate_dir.display())))?;
    if !canonical.join("Cargo.toml").is_file() || !canonical.join("src/lib.rs").is_file() {
        return Err(BuildFailure::Tool(format!(
            "{} is not the assignment crate (no Cargo.toml or src/lib.rs)",
            canonical.display()
        )));
    }
    Ok(canonical)
}

/// Why a build with this log failed: the graded crate's errors (a graded outcome), or the worker's
/// own (could not grade).
fn failure(log: &str) -> BuildFailure {
    if log.contains(GRADED_PACKAGE) {
        BuildFailure::Compile { first_errors: first_errors(log), log: log.to_string() }
    } else {
        BuildFailure::Tool(format!(
            "building the grader's worker failed (not in the graded crate):\n{}",
            first_errors(log)
        ))
    }
}

/// One `cargo build` of a staged worker.
struct CargoBuild<'a> {
    workspace: &'a Workspace,
    staging: &'a Path,
    target: &'a Path,
    release: bool,
    private: &'a [PathBuf],
}

impl CargoBuild<'_> {
    fn args(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> =
            ["build", "--offline", "--color", "never", "--manifest-path"].iter().map(Into::into).collect();
        args.push(self.staging.join("Cargo.toml").into());
        args.push("--target-dir".into());
        args.push(self.target.as_os_str().into());
        if self.release {
            args.push("--release".into());
        }
        args
    }

    /// Runs cargo in bubblewrap where it works, else under Landlock and the hiding mount namespace;
    /// returns its output and how it was confined, in words.
    fn run(&self) -> std::result::Result<(std::process::Output, String), BuildFailure> {
        let cannot_run = |e: std::io::Error| {
            BuildFailure::Tool(format!("cannot run {}: {e}; is Rust installed (https://rustup.rs)?", cargo()))
        };
        if let Some((bwrap, args)) = jailed_build(self.workspace, self.staging, self.target) {
            let mut command = Command::new(bwrap);
            command.args(args).args(self.args()).stdin(std::process::Stdio::null());
            lowest_priority(&mut command);
            return Ok((command.output().map_err(cannot_run)?, JAILED_BUILD.to_string()));
        }
        // Without bubblewrap: its allow-list through Landlock, temporary files in the staging
        // folder, and the hiding mount namespace where the grader may make one.
        let tmp = self.staging.join("tmp");
        std::fs::create_dir_all(&tmp)
            .map_err(|e| BuildFailure::Tool(format!("cannot create {}: {e}", tmp.display())))?;
        let mut allowed = build_allow_list(self.workspace, self.staging, self.target).unwrap_or_default();
        allowed.read.extend(["/proc", "/sys"].map(PathBuf::from));
        let make = || {
            let mut command = Command::new(cargo());
            command.current_dir(&self.workspace.root).args(self.args()).env("TMPDIR", &tmp);
            lowest_priority(&mut command);
            command
        };
        let view = build_view(self.workspace, self.staging, self.private);
        let (output, how) = crate::run::sandbox::output_confined(make, &view, &allowed).map_err(cannot_run)?;
        Ok((output, format!("the student's files compiled with the worker under {how} (bubblewrap unavailable)")))
    }
}

/// Builds run beside the checks of the submission before (a batch builds ahead): at the lowest
/// priority, so that they take no CPU time a running check wants and cannot make it time out.
fn lowest_priority(command: &mut Command) {
    // SAFETY: setpriority is async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(command, || {
            libc::setpriority(libc::PRIO_PROCESS, 0, 19);
            Ok(())
        });
    }
}
