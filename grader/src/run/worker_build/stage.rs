//! The worker's own workspace for a graded crate: manifests made standalone (workspace inheritance
//! resolved), sources mirrored, files rewritten only when they change.

use super::{GRADED_PACKAGE, Workspace};
use anyhow::{Context, Result, anyhow};
use std::path::{Path, PathBuf};
use toml_edit::{DocumentMut, Item, Table};

pub(super) fn read_manifest(path: &Path) -> Result<DocumentMut> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.parse::<DocumentMut>().with_context(|| format!("{} is not valid TOML", path.display()))
}

/// The name prefix of a file being written (another build's may be under way in a shared folder).
const IN_FLIGHT: &str = ".staging-";

/// Writes `text` to `path` unless it already holds exactly that (keeps mtimes for cargo); through a
/// temporary file and a rename, so that a build running beside (the shared crates are staged by
/// every build) never reads half a file.
fn write_if_changed(path: &Path, text: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(text) {
        let folder = path.parent().expect("has parent");
        std::fs::create_dir_all(folder)?;
        let mut file = tempfile::Builder::new().prefix(IN_FLIGHT).tempfile_in(folder)?;
        std::io::Write::write_all(&mut file, text)?;
        file.persist(path).map_err(|e| e.error).with_context(|| format!("cannot write {}", path.display()))?;
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
pub(super) fn standalone_manifest(
    manifest: &Path,
    root: &DocumentMut,
    name: &str,
    workspace_root: bool,
) -> Result<DocumentMut> {
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
    // Regular files only: a symbolic link in a crate's sources is not followed.
    for relative in crate::walk::files_below(from, from, &[])? {
        if std::fs::symlink_metadata(from.join(&relative))?.is_file() {
            write_if_changed(&to.join(&relative), &std::fs::read(from.join(&relative))?)?;
            wanted.insert(relative);
        }
    }
    if to.is_dir() {
        let in_flight = |f: &PathBuf| f.file_name().is_some_and(|n| n.to_string_lossy().starts_with(IN_FLIGHT));
        for stale in crate::walk::files_below(to, to, &[])?.into_iter().filter(|f| !wanted.contains(f) && !in_flight(f))
        {
            // Another build beside may have removed it first.
            match std::fs::remove_file(to.join(&stale)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
    }
    Ok(())
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
pub(super) fn stage_worker(workspace: &Workspace, crate_dir: &Path, staging: &Path, key: &str) -> Result<String> {
    let root = workspace.root_manifest()?;
    let package = format!("{GRADED_PACKAGE}-{key}");
    let mut graded = standalone_manifest(&crate_dir.join("Cargo.toml"), &root, &package, false)?;
    let mut lib = Table::new();
    lib.insert("name", toml_edit::value(package.replace('-', "_")));
    lib.insert("path", toml_edit::value("src/lib.rs"));
    graded.insert("lib", Item::Table(lib));
    use_staged_shared_crates(&mut graded, workspace);
    write_if_changed(&staging.join("graded/Cargo.toml"), graded.to_string().as_bytes())?;
    mirror_dir(&crate_dir.join("src"), &staging.join("graded/src"))?;
    for shared in SHARED_CRATES {
        stage_crate(&workspace.root.join(shared.folder), &shared.stage(workspace), &root, shared.package)?;
    }
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
    let mut assignment = toml_edit::InlineTable::new();
    assignment.insert("package", package.as_str().into());
    assignment.insert("path", "graded".into());
    manifest["dependencies"]["assignment"] = toml_edit::value(assignment);
    use_staged_shared_crates(&mut manifest, workspace);
    write_if_changed(&staging.join("Cargo.toml"), manifest.to_string().as_bytes())?;
    let lock = staging.join("Cargo.lock");
    if !lock.exists() {
        write_if_changed(&lock, &std::fs::read(workspace.root.join("Cargo.lock"))?)?;
    }
    Ok(bin_name)
}

/// A crate of this workspace that a worker build uses besides the graded crate and the worker:
/// nothing secret and nothing of a student's in it, so it is staged once, read-only to every build.
#[derive(Debug, Clone, Copy)]
pub(super) struct SharedCrate {
    /// Its folder in the workspace.
    pub(super) folder: &'static str,
    /// Its package name.
    pub(super) package: &'static str,
}

/// The wire crate (the worker's protocol) and the plots crate (the assignment crate draws with it).
pub(super) const SHARED_CRATES: [SharedCrate; 2] = [
    SharedCrate { folder: "grader/wire", package: "resnet-lab-wire" },
    SharedCrate { folder: "plots", package: "resnet-lab-plots" },
];

impl SharedCrate {
    /// Where it is staged for every worker build.
    pub(super) fn stage(&self, workspace: &Workspace) -> PathBuf {
        workspace.target_dir().join("grader/shared").join(self.package)
    }
}

/// Points `manifest`'s dependencies on a shared crate at its staged copy (their paths in the
/// workspace are hidden from the build).
pub(super) fn use_staged_shared_crates(manifest: &mut DocumentMut, workspace: &Workspace) {
    let Some(deps) = manifest.get_mut("dependencies").and_then(Item::as_table_like_mut) else { return };
    for (name, dependency) in deps.iter_mut() {
        let package = dependency.get("package").and_then(Item::as_str).unwrap_or(name.get()).to_string();
        let shared = SHARED_CRATES.iter().find(|s| s.package == package);
        if let (Some(shared), Some(table)) = (shared, dependency.as_table_like_mut()) {
            table.insert("path", toml_edit::value(shared.stage(workspace).display().to_string()));
        }
    }
}
