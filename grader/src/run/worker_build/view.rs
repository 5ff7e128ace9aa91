//! What a worker build may see: bubblewrap's allow-list view, or Landlock's and the hiding mount
//! namespace where bubblewrap is unavailable.

use super::Workspace;
use super::stage::SHARED_CRATES;
use std::path::{Path, PathBuf};
use std::process::Command;

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
/// linker), the toolchain, the crate registry, libtorch, cargo's configuration, the shared crates
/// (wire and plots, read-only), and its own staging folder and the worker target folder (writable). Nothing else
/// of the host — no other checkout, no home folder, no `/etc` beyond the linker's needs — opens for
/// it. Enforced by bubblewrap's binds ([`jailed_build`]) or, without bubblewrap, by Landlock.
/// `None` where the toolchain or the crate registry cannot be found.
pub(super) fn build_allow_list(
    workspace: &Workspace,
    staging: &Path,
    target: &Path,
) -> Option<crate::run::jail::AllowList> {
    let (sysroot, cargo_home) = (sysroot()?, cargo_home()?);
    let mut read: Vec<PathBuf> = crate::run::jail::SYSTEM_PROGRAMS
        .iter()
        .chain(&["/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d"])
        .map(PathBuf::from)
        .collect();
    read.extend([sysroot, cargo_home.join("registry"), cargo_home.join("git")]);
    read.extend(libtorch_folders(workspace));
    read.push(workspace.root.join(".cargo"));
    read.extend(SHARED_CRATES.iter().map(|shared| shared.stage(workspace)));
    let write = vec![staging.to_path_buf(), target.to_path_buf()];
    Some(crate::run::jail::AllowList { read, read_write: vec![PathBuf::from("/dev")], write })
}

/// bubblewrap and its arguments for a worker build with [`build_allow_list`]'s view, a private
/// `/tmp`, no network and an empty environment. `None` where bubblewrap cannot run (then Landlock
/// and the hiding view of [`build_view`] apply).
pub(super) fn jailed_build(
    workspace: &Workspace,
    staging: &Path,
    target: &Path,
) -> Option<(PathBuf, Vec<std::ffi::OsString>)> {
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
/// folder, the staged shared crates, cargo's configuration and libtorch; everything else in the workspace is hidden, and so
/// is every folder of `private` (other submissions, reports).
pub(super) fn build_view(workspace: &Workspace, staging: &Path, private: &[PathBuf]) -> crate::run::sandbox::Isolation {
    let mut keep: Vec<PathBuf> = vec![staging.to_path_buf(), workspace.target_dir().join("grader/worker-target")];
    keep.extend(SHARED_CRATES.iter().map(|shared| shared.stage(workspace)));
    keep.extend([".cargo", ".venv"].iter().map(|d| workspace.root.join(d)));
    keep.extend(std::env::var_os("LIBTORCH").map(PathBuf::from));
    let keep: Vec<PathBuf> = keep.into_iter().filter_map(|p| p.canonicalize().ok()).collect();
    let mut hide = crate::run::sandbox::all_but(&workspace.root, &keep);
    hide.extend(
        private.iter().filter_map(|p| p.canonicalize().ok()).filter(|p| !keep.iter().any(|k| k.starts_with(p))),
    );
    crate::run::sandbox::Isolation { hide, writable: Vec::new(), read_only: false, ..Default::default() }
}
