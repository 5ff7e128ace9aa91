//! Builds the judge once, and `grader-worker` against each crate being graded.
//!
//! The judge (`grader-judge`, the reference and the checks) is a member of this workspace and is
//! built as one. A submission's worker is built in a workspace of its own,
//! `target/grader/workers/<key>/`: the graded crate staged as package `resnet-lab-graded-<key>`
//! (its `Cargo.toml` with workspace inheritance resolved, and its `src/`), copies of the worker and
//! wire crates and of the build script, the workspace's lockfile, and a generated root manifest.
//! Cargo runs in a mount namespace that shows it that folder, its target folder
//! (`target/grader/worker-target`, shared by every worker build so that libtorch's bindings compile
//! once), libtorch and the toolchain, and hides the rest of this workspace (the solution, the hidden
//! checks, the tests, other submissions) and every folder the caller names private: whatever the
//! student's code includes at compile time (`include_str!`, `#[path]`, macros), it reads nothing
//! secret. Files are rewritten only when they change, so regrading an unchanged crate builds
//! nothing; a private build (a submission) removes its staged crate and its artifacts after.

use anyhow::{Context, Result, anyhow, bail};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use toml_edit::{DocumentMut, Item, Table};

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
const JAILED_BUILD: &str = "the student's files compiled with the worker in bubblewrap, with an allow-list view (system programs, the toolchain, the crate registry, libtorch, its own staging folder): no solution, hidden check, other submission or host file to read, no network";

/// Why no runner could be built.
#[derive(Debug, Clone)]
pub enum BuildFailure {
    /// The graded crate does not compile: a graded outcome.
    Compile {
        /// The compiler's first errors, for the student.
        first_errors: String,
        /// The whole build log.
        log: String,
    },
    /// The toolchain itself failed (cargo missing, libtorch missing, …): could not grade.
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

    fn target_dir(&self) -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| self.root.join("target"))
    }

    fn root_manifest(&self) -> Result<DocumentMut> {
        read_manifest(&self.root.join("Cargo.toml"))
    }
}

fn read_manifest(path: &Path) -> Result<DocumentMut> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.parse::<DocumentMut>().with_context(|| format!("{} is not valid TOML", path.display()))
}

/// Writes `text` to `path` unless it already holds exactly that (keeps mtimes for cargo).
fn write_if_changed(path: &Path, text: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(text) {
        std::fs::create_dir_all(path.parent().expect("has parent"))?;
        std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Replaces `key.workspace = true` entries of a package table with the workspace's values.
fn inherit(table: &mut Table, from: Option<&Item>) {
    let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
    for key in keys {
        let inherits = table.get(&key).and_then(|v| v.get("workspace")).and_then(Item::as_bool) == Some(true);
        if let (true, Some(value)) = (inherits, from.and_then(|f| f.get(&key))) {
            table.insert(&key, value.clone());
        }
    }
}

/// Resolves `dep.workspace = true` against `[workspace.dependencies]`, keeping per-crate keys
/// (`features`, `optional`, `package`), and makes `path` dependencies absolute (relative to `base`).
fn resolve_dependencies(deps: &mut Table, workspace_deps: Option<&Item>, base: &Path) {
    let names: Vec<String> = deps.iter().map(|(k, _)| k.to_string()).collect();
    for name in names {
        let item = deps.get(&name).cloned().expect("listed");
        let mut resolved = if item.get("workspace").and_then(Item::as_bool) == Some(true) {
            let mut shared = match workspace_deps.and_then(|w| w.get(&name)) {
                Some(Item::Value(toml_edit::Value::String(version))) => {
                    let mut t = toml_edit::InlineTable::new();
                    t.insert("version", version.value().as_str().into());
                    t
                }
                Some(other) => other
                    .as_inline_table()
                    .cloned()
                    .or_else(|| other.as_table().map(|t| t.clone().into_inline_table()))
                    .unwrap_or_default(),
                None => toml_edit::InlineTable::new(),
            };
            if let Some(local) =
                item.as_inline_table().cloned().or_else(|| item.as_table().map(|t| t.clone().into_inline_table()))
            {
                for (k, v) in local.iter().filter(|(k, _)| *k != "workspace") {
                    shared.insert(k, v.clone());
                }
            }
            shared
        } else {
            item.as_inline_table()
                .cloned()
                .or_else(|| item.as_table().map(|t| t.clone().into_inline_table()))
                .unwrap_or_else(|| {
                    let mut t = toml_edit::InlineTable::new();
                    if let Some(v) = item.as_str() {
                        t.insert("version", v.into());
                    }
                    t
                })
        };
        if let Some(path) = resolved.get("path").and_then(|p| p.as_str()).map(PathBuf::from) {
            let absolute = if path.is_absolute() { path } else { base.join(path) };
            resolved.insert("path", absolute.display().to_string().into());
        }
        deps.insert(&name, toml_edit::value(resolved));
    }
}

/// A package manifest rewritten to live elsewhere: workspace inheritance resolved, paths absolute;
/// with `workspace_root`, a workspace of its own with the root's profiles (members below it join it).
fn standalone_manifest(manifest: &Path, root: &DocumentMut, name: &str, workspace_root: bool) -> Result<DocumentMut> {
    let mut doc = read_manifest(manifest)?;
    let base = manifest.parent().expect("manifest in a folder").to_path_buf();
    let workspace = root.get("workspace");
    let package = doc
        .get_mut("package")
        .and_then(Item::as_table_mut)
        .ok_or_else(|| anyhow!("{} has no [package]", manifest.display()))?;
    inherit(package, workspace.and_then(|w| w.get("package")));
    package.insert("name", toml_edit::value(name));
    if workspace_root {
        if let Some(build) = package.get("build").and_then(Item::as_str).map(PathBuf::from) {
            package.insert("build", toml_edit::value(base.join(build).display().to_string()));
        }
    } else {
        // The graded crate is only a library of the worker: its build script (student code that
        // would run at compile time) is never needed, and never run.
        package.insert("build", toml_edit::value(false));
    }
    for flag in ["autobins", "autoexamples", "autotests", "autobenches"] {
        package.insert(flag, toml_edit::value(false));
    }
    if !workspace_root {
        for targets in ["bin", "example", "test", "bench"] {
            doc.remove(targets);
        }
    }
    if let Some(deps) = doc.get_mut("dependencies").and_then(Item::as_table_mut) {
        resolve_dependencies(deps, workspace.and_then(|w| w.get("dependencies")), &base);
    }
    doc.remove("dev-dependencies");
    doc.remove("lints");
    if workspace_root {
        doc.insert("workspace", Item::Table(Table::new()));
        if let Some(profile) = root.get("profile") {
            doc.insert("profile", profile.clone());
        }
    }
    Ok(doc)
}

fn mirror_dir(from: &Path, to: &Path) -> Result<()> {
    let mut wanted = std::collections::BTreeSet::new();
    let mut stack = vec![from.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            let relative = path.strip_prefix(from).expect("inside").to_path_buf();
            if entry.file_type()?.is_dir() {
                stack.push(path);
            } else if entry.file_type()?.is_file() {
                write_if_changed(&to.join(&relative), &std::fs::read(&path)?)?;
                wanted.insert(relative);
            }
        }
    }
    if to.is_dir() {
        let mut stack = vec![to.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    stack.push(path);
                } else if !wanted.contains(path.strip_prefix(to).expect("inside")) {
                    std::fs::remove_file(&path)?;
                }
            }
        }
    }
    Ok(())
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

fn cargo() -> String {
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

/// Copies the crate at `from` (its `src/`, and its manifest made standalone under `name`, a
/// workspace of its own) to `to`.
fn stage_crate(from: &Path, to: &Path, root: &DocumentMut, name: &str) -> Result<()> {
    let mut manifest = standalone_manifest(&from.join("Cargo.toml"), root, name, false)?;
    // Cargo looks upwards for a workspace; the one above is hidden from the build.
    manifest.insert("workspace", Item::Table(Table::new()));
    write_if_changed(&to.join("Cargo.toml"), manifest.to_string().as_bytes())?;
    mirror_dir(&from.join("src"), &to.join("src"))
}

/// The worker's workspace for `crate_dir`, written under `staging`; returns the binary's name.
fn stage_worker(workspace: &Workspace, crate_dir: &Path, staging: &Path, key: &str) -> Result<String> {
    let root = workspace.root_manifest()?;
    let package = format!("{GRADED_PACKAGE}-{key}");
    let mut graded = standalone_manifest(&crate_dir.join("Cargo.toml"), &root, &package, false)?;
    let mut lib = Table::new();
    lib.insert("name", toml_edit::value(package.replace('-', "_")));
    lib.insert("path", toml_edit::value("src/lib.rs"));
    graded.insert("lib", Item::Table(lib));
    write_if_changed(&staging.join("graded/Cargo.toml"), graded.to_string().as_bytes())?;
    mirror_dir(&crate_dir.join("src"), &staging.join("graded/src"))?;
    // The wire crate holds nothing secret and nothing of a student: one copy, shared by every build.
    stage_crate(&workspace.root.join("grader/wire"), &wire_stage(workspace), &root, "resnet-lab-wire")?;
    mirror_dir(&workspace.root.join("grader/worker/src"), &staging.join("worker/src"))?;
    write_if_changed(
        &staging.join("build-support/link_libtorch.rs"),
        &std::fs::read(workspace.root.join("build-support/link_libtorch.rs"))?,
    )?;
    let worker_dir = workspace.root.join("grader/worker");
    let mut manifest =
        standalone_manifest(&worker_dir.join("Cargo.toml"), &root, &format!("resnet-lab-worker-{key}"), true)?;
    manifest["package"]["build"] = toml_edit::value("build-support/link_libtorch.rs");
    let bin_name = format!("grader-worker-{key}");
    let mut bin = Table::new();
    bin.insert("name", toml_edit::value(&bin_name));
    bin.insert("path", toml_edit::value("worker/src/main.rs"));
    let mut bins = toml_edit::ArrayOfTables::new();
    bins.push(bin);
    manifest.insert("bin", Item::ArrayOfTables(bins));
    let wire = wire_stage(workspace).display().to_string();
    for (name, package, path) in
        [("assignment", package.as_str(), "graded"), ("wire", "resnet-lab-wire", wire.as_str())]
    {
        let mut dependency = toml_edit::InlineTable::new();
        dependency.insert("package", package.into());
        dependency.insert("path", path.into());
        manifest["dependencies"][name] = toml_edit::value(dependency);
    }
    write_if_changed(&staging.join("Cargo.toml"), manifest.to_string().as_bytes())?;
    let lock = staging.join("Cargo.lock");
    if !lock.exists() {
        write_if_changed(&lock, &std::fs::read(workspace.root.join("Cargo.lock"))?)?;
    }
    Ok(bin_name)
}

/// Where the wire crate is staged for every worker build.
fn wire_stage(workspace: &Workspace) -> PathBuf {
    workspace.target_dir().join("grader/wire")
}

/// The folders libtorch lives in, what a build or a worker must see of it: `LIBTORCH` (for PyPI's
/// torch the whole `site-packages`, whose CUDA libraries are wheels beside it) and this workspace's
/// `.venv`.
pub fn libtorch_folders(workspace: &Workspace) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = Vec::new();
    if let Some(libtorch) = std::env::var_os("LIBTORCH").map(PathBuf::from) {
        if let Some(packages) = libtorch.parent().filter(|p| p.ends_with("site-packages")) {
            folders.push(packages.to_path_buf());
        }
        folders.push(libtorch);
    }
    folders.push(workspace.root.join(".venv"));
    folders.into_iter().filter_map(|p| p.canonicalize().ok()).collect()
}

/// The toolchain's own folder (`rustc --print sysroot`), whose `bin/` holds the real cargo and rustc
/// (not rustup's proxies, which need rustup's whole home).
fn sysroot() -> Option<PathBuf> {
    static SYSROOT: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    SYSROOT
        .get_or_init(|| {
            let output = Command::new("rustc").args(["--print", "sysroot"]).output().ok()?;
            let path = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
            path.join("bin/cargo").is_file().then_some(path)
        })
        .clone()
}

/// Cargo's home (its registry of downloaded crates).
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .filter(|p| p.join("registry").is_dir())
}

/// What a worker build may see, from an allow-list: the system's programs and libraries (the C
/// linker), the toolchain, the crate registry, libtorch, cargo's configuration, the wire crate
/// (read-only), and its own staging folder and the worker target folder (writable). Nothing else
/// of the host — no other checkout, no home folder, no `/etc` beyond the linker's needs — opens for
/// it. Enforced by bubblewrap's binds ([`jailed_build`]) or, without bubblewrap, by Landlock.
/// `None` where the toolchain or the crate registry cannot be found.
fn build_allow_list(workspace: &Workspace, staging: &Path, target: &Path) -> Option<crate::run::jail::AllowList> {
    let (sysroot, cargo_home) = (sysroot()?, cargo_home()?);
    let mut read: Vec<PathBuf> = crate::run::jail::SYSTEM_PROGRAMS
        .iter()
        .chain(&["/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d"])
        .map(PathBuf::from)
        .collect();
    read.extend([sysroot, cargo_home.join("registry"), cargo_home.join("git")]);
    read.extend(libtorch_folders(workspace));
    read.extend([workspace.root.join(".cargo"), wire_stage(workspace)]);
    let write = vec![staging.to_path_buf(), target.to_path_buf()];
    Some(crate::run::jail::AllowList { read, read_write: vec![PathBuf::from("/dev")], write })
}

/// bubblewrap and its arguments for a worker build with [`build_allow_list`]'s view, a private
/// `/tmp`, no network and an empty environment. `None` where bubblewrap cannot run (then Landlock
/// and the hiding view of [`build_view`] apply).
fn jailed_build(workspace: &Workspace, staging: &Path, target: &Path) -> Option<(PathBuf, Vec<std::ffi::OsString>)> {
    let bwrap = crate::run::jail::bwrap().filter(|_| crate::run::sandbox::bubblewrap_allowed())?;
    let allowed = build_allow_list(workspace, staging, target)?;
    let (sysroot, cargo_home) = (sysroot()?, cargo_home()?);
    let libtorch = std::env::var_os("LIBTORCH").map(PathBuf::from);
    let mut args: Vec<std::ffi::OsString> =
        ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv"].iter().map(Into::into).collect();
    // The fresh /tmp first: what is bound next may live below it (a cargo home or a checkout in /tmp).
    args.extend(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"].iter().map(Into::into));
    for (flag, paths) in [("--ro-bind-try", &allowed.read), ("--bind", &allowed.write)] {
        for path in paths {
            args.extend([flag.into(), path.as_os_str().into(), path.as_os_str().into()]);
        }
    }
    let path = format!("{}:/usr/bin:/bin", sysroot.join("bin").display());
    let mut set = |key: &str, value: &std::ffi::OsStr| args.extend(["--setenv".into(), key.into(), value.into()]);
    set("PATH", path.as_ref());
    set("HOME", "/tmp".as_ref());
    set("CARGO_HOME", cargo_home.as_os_str());
    set("RUSTC", sysroot.join("bin/rustc").as_os_str());
    if let Some(libtorch) = &libtorch {
        set("LIBTORCH", libtorch.as_os_str());
    }
    args.extend(["--chdir".into(), staging.as_os_str().into(), "--".into(), sysroot.join("bin/cargo").into()]);
    Some((bwrap, args))
}

/// What a worker build may see of this workspace: its staging folder, the shared worker target
/// folder, cargo's configuration and libtorch; everything else in the workspace is hidden, and so
/// is every folder of `private` (other submissions, reports).
fn build_view(workspace: &Workspace, staging: &Path, private: &[PathBuf]) -> crate::run::sandbox::Isolation {
    let mut keep: Vec<PathBuf> =
        vec![staging.to_path_buf(), workspace.target_dir().join("grader/worker-target"), wire_stage(workspace)];
    keep.extend([".cargo", ".venv"].iter().map(|d| workspace.root.join(d)));
    keep.extend(std::env::var_os("LIBTORCH").map(PathBuf::from));
    let keep: Vec<PathBuf> = keep.into_iter().filter_map(|p| p.canonicalize().ok()).collect();
    let mut hide = crate::run::sandbox::all_but(&workspace.root, &keep);
    hide.extend(
        private.iter().filter_map(|p| p.canonicalize().ok()).filter(|p| !keep.iter().any(|k| k.starts_with(p))),
    );
    crate::run::sandbox::Isolation { hide, writable: Vec::new(), read_only: false, ..Default::default() }
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
    let crate_dir = crate_dir
        .canonicalize()
        .map_err(|e| BuildFailure::Tool(format!("cannot open the crate {}: {e}", crate_dir.display())))?;
    if !crate_dir.join("Cargo.toml").is_file() || !crate_dir.join("src/lib.rs").is_file() {
        return Err(BuildFailure::Tool(format!(
            "{} is not the assignment crate (no Cargo.toml or src/lib.rs)",
            crate_dir.display()
        )));
    }
    let key = crate_key(&crate_dir);
    let staging = workspace.target_dir().join("grader/workers").join(&key);
    let target = workspace.target_dir().join("grader/worker-target");
    std::fs::create_dir_all(&target).map_err(|e| tool(e.into()))?;
    let bin_name = stage_worker(workspace, &crate_dir, &staging, &key).map_err(tool)?;
    let started = Instant::now();
    let cargo_args = |release: bool| {
        let mut args: Vec<std::ffi::OsString> =
            ["build", "--offline", "--color", "never", "--manifest-path"].iter().map(Into::into).collect();
        args.push(staging.join("Cargo.toml").into());
        args.push("--target-dir".into());
        args.push(target.as_os_str().into());
        if release {
            args.push("--release".into());
        }
        args
    };
    // Builds run beside the checks of the submission before (a batch builds ahead): at the lowest
    // priority, so that they take no CPU time a running check wants and cannot make it time out.
    let lowest_priority = |command: &mut Command| {
        // SAFETY: setpriority is async-signal-safe.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(command, || {
                libc::setpriority(libc::PRIO_PROCESS, 0, 19);
                Ok(())
            });
        }
    };
    let cannot_run = |e: std::io::Error| {
        BuildFailure::Tool(format!("cannot run {}: {e}; is Rust installed (https://rustup.rs)?", cargo()))
    };
    let (output, confinement) = match jailed_build(workspace, &staging, &target) {
        Some((bwrap, args)) => {
            let mut command = Command::new(bwrap);
            command.args(args).args(cargo_args(release)).stdin(std::process::Stdio::null());
            lowest_priority(&mut command);
            (command.output().map_err(cannot_run)?, JAILED_BUILD.to_string())
        }
        None => {
            // Without bubblewrap: its allow-list through Landlock, temporary files in the staging
            // folder, and the hiding mount namespace where the grader may make one.
            let tmp = staging.join("tmp");
            std::fs::create_dir_all(&tmp).map_err(|e| tool(e.into()))?;
            let mut allowed = build_allow_list(workspace, &staging, &target).unwrap_or_default();
            allowed.read.extend(["/proc", "/sys"].map(PathBuf::from));
            let make = || {
                let mut command = Command::new(cargo());
                command.current_dir(&workspace.root).args(cargo_args(release)).env("TMPDIR", &tmp);
                lowest_priority(&mut command);
                command
            };
            let (output, how) =
                crate::run::sandbox::output_confined(make, &build_view(workspace, &staging, private), &allowed)
                    .map_err(cannot_run)?;
            (output, format!("the student's files compiled with the worker under {how} (bubblewrap unavailable)"))
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&output.stderr).into_owned();
    let built = target.join(profile_dir(release)).join(&bin_name);
    let private_build = !private.is_empty();
    let kept =
        if private_build { workspace.target_dir().join("grader/worker-bins").join(&bin_name) } else { built.clone() };
    let result = if !output.status.success() {
        // A student's own crate: paths as they would type them; a batch's staged copy: `src/…`.
        let shown = if private.is_empty() { shown_path(&crate_dir) } else { PathBuf::new() };
        let log = in_students_crate(&log, &staging, &shown.join("src"));
        if log.contains(&format!("`{GRADED_PACKAGE}")) || log.contains("resnet-lab-graded") {
            Err(BuildFailure::Compile { first_errors: first_errors(&log), log })
        } else {
            Err(BuildFailure::Tool(format!(
                "building the grader's worker failed (not in the graded crate):\n{}",
                first_errors(&log)
            )))
        }
    } else if private_build {
        // Moved, not copied: what the build left in the shared target folder goes below anyway.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_errors_keeps_the_first_three_error_blocks() {
        let log = "   Compiling x\nerror[E0425]: cannot find value `y`\n --> src/a.rs:1:1\n  |\n\nwarning: unused\nerror: expected `;`\n --> src/b.rs:2:2\n\nerror[E1]: a\n\nerror[E2]: b\n\nerror: could not compile `x`\n";
        let first = first_errors(log);
        assert!(first.starts_with("error[E0425]: cannot find value `y`\n --> src/a.rs:1:1"), "{first}");
        assert!(
            first.contains("error: expected `;`")
                && first.contains("error[E1]")
                && !first.contains("error[E2]")
                && !first.contains("could not compile")
        );
    }

    #[test]
    fn build_errors_point_at_the_students_own_files() {
        let staging = Path::new("/work/target/grader/workers/ab12");
        let log = "error[E0425]: cannot find value `y` in this scope\n  --> graded/src/basic_block.rs:43:20\n   |\nnote: defined here\n  ::: /work/target/grader/workers/ab12/graded/src/layers.rs:9:1\n";
        let shown = in_students_crate(log, staging, Path::new("student/src"));
        assert!(shown.contains("  --> student/src/basic_block.rs:43:20"), "{shown}");
        assert!(shown.contains("  ::: student/src/layers.rs:9:1"), "{shown}");
        assert!(!shown.contains("graded"), "{shown}");
    }

    #[test]
    fn manifests_become_standalone() {
        let root: DocumentMut = "[workspace.package]\nversion = \"1.2.3\"\nedition = \"2024\"\n[workspace.dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\nanyhow = \"1\"\n[profile.dev]\ndebug = 0\n".parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(&manifest, "[package]\nname = \"x\"\nversion.workspace = true\nedition.workspace = true\nbuild = \"../b.rs\"\n[dependencies]\nserde = { workspace = true, optional = true }\nanyhow.workspace = true\nlocal = { path = \"../local\" }\n[dev-dependencies]\nproptest = \"1\"\n").unwrap();
        let doc = standalone_manifest(&manifest, &root, "renamed", true).unwrap();
        assert_eq!(doc["package"]["name"].as_str(), Some("renamed"));
        assert_eq!(doc["package"]["version"].as_str(), Some("1.2.3"));
        assert_eq!(doc["package"]["build"].as_str().unwrap(), dir.path().join("../b.rs").display().to_string());
        let serde = doc["dependencies"]["serde"].as_inline_table().unwrap();
        assert_eq!(serde.get("version").unwrap().as_str(), Some("1"));
        assert_eq!(serde.get("optional").unwrap().as_bool(), Some(true));
        assert!(serde.get("workspace").is_none());
        assert_eq!(doc["dependencies"]["anyhow"]["version"].as_str(), Some("1"));
        assert!(doc["dependencies"]["local"]["path"].as_str().unwrap().starts_with('/'));
        assert!(doc.get("dev-dependencies").is_none() && doc.get("workspace").is_some());
        assert_eq!(doc["profile"]["dev"]["debug"].as_integer(), Some(0));
    }
}
