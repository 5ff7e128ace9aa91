//! The worker's jail, made by the kernel rather than by rules over source text.
//!
//! - **bubblewrap** (Debian's `bwrap`, the sandbox builder Flatpak uses) makes new user, PID,
//!   mount, network, IPC, UTS and cgroup namespaces, a file view from an allow-list (the system's
//!   read-only folders, libtorch, the worker binary; the working folder writable; a private,
//!   size-capped `/tmp` and `/dev/shm`; GPU device nodes only for the GPU profile), a new session,
//!   death with its parent, no further user namespaces, and loads the seccomp filter right before
//!   the worker starts. Everything the worker starts lives in its PID namespace and dies with it.
//! - **An unprivileged uid**: a grader running as root switches to a uid of its own for each run
//!   before bubblewrap starts, so the worker holds no capability anywhere, and `RLIMIT_NPROC`
//!   applies to it.
//! - **seccomp** (compiled by `seccompiler`, Firecracker's BPF compiler): [`REFUSED`] system calls
//!   fail with `EPERM`.
//! - **rlimits**: address space (smoke profile), file size, open files, processes, CPU time, no core
//!   dumps.
//!
//! Where bubblewrap is missing or cannot make namespaces (inside Docker's default profile), the
//! worker still gets the uid, `no_new_privs`, seccomp and the rlimits, and — where the grader may
//! make mount namespaces itself — the hiding view of [`crate::run::sandbox`]; the report says which.

use std::path::{Path, PathBuf};

/// System calls the worker may not make, by name (the names of `man 2 syscalls`).
pub const REFUSED: &[(&str, i64)] = &[
    ("mount", libc::SYS_mount),
    ("umount2", libc::SYS_umount2),
    ("pivot_root", libc::SYS_pivot_root),
    ("chroot", libc::SYS_chroot),
    ("ptrace", libc::SYS_ptrace),
    ("process_vm_readv", libc::SYS_process_vm_readv),
    ("process_vm_writev", libc::SYS_process_vm_writev),
    ("bpf", libc::SYS_bpf),
    ("perf_event_open", libc::SYS_perf_event_open),
    ("keyctl", libc::SYS_keyctl),
    ("add_key", libc::SYS_add_key),
    ("request_key", libc::SYS_request_key),
    ("setns", libc::SYS_setns),
    ("unshare", libc::SYS_unshare),
    ("kexec_load", libc::SYS_kexec_load),
    ("init_module", libc::SYS_init_module),
    ("finit_module", libc::SYS_finit_module),
    ("delete_module", libc::SYS_delete_module),
    ("open_by_handle_at", libc::SYS_open_by_handle_at),
    ("name_to_handle_at", libc::SYS_name_to_handle_at),
    ("userfaultfd", libc::SYS_userfaultfd),
    ("swapon", libc::SYS_swapon),
    ("swapoff", libc::SYS_swapoff),
    ("reboot", libc::SYS_reboot),
    ("acct", libc::SYS_acct),
    ("quotactl", libc::SYS_quotactl),
    ("fsopen", libc::SYS_fsopen),
    ("fsmount", libc::SYS_fsmount),
    ("fspick", libc::SYS_fspick),
    ("move_mount", libc::SYS_move_mount),
    ("open_tree", libc::SYS_open_tree),
    ("mount_setattr", libc::SYS_mount_setattr),
];

/// The seccomp filter as BPF instructions (`struct sock_filter`, 8 bytes each).
pub fn seccomp_filter() -> Result<seccompiler::BpfProgram, String> {
    #[cfg(target_arch = "x86_64")]
    let arch = seccompiler::TargetArch::x86_64;
    #[cfg(target_arch = "aarch64")]
    let arch = seccompiler::TargetArch::aarch64;
    let rules = REFUSED.iter().map(|&(_, nr)| (nr, Vec::new())).collect();
    let filter = seccompiler::SeccompFilter::new(
        rules,
        seccompiler::SeccompAction::Allow,
        seccompiler::SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(|e| format!("cannot build the seccomp filter: {e}"))?;
    filter.try_into().map_err(|e: seccompiler::BackendError| format!("cannot compile the seccomp filter: {e}"))
}

/// The filter as the bytes bubblewrap's `--seccomp FD` reads.
pub fn seccomp_bytes(program: &seccompiler::BpfProgram) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(program.len() * 8);
    for instruction in program {
        bytes.extend_from_slice(&instruction.code.to_ne_bytes());
        bytes.push(instruction.jt);
        bytes.push(instruction.jf);
        bytes.extend_from_slice(&instruction.k.to_ne_bytes());
    }
    bytes
}

/// bubblewrap, if installed.
pub fn bwrap() -> Option<PathBuf> {
    std::env::var_os("RESNET_LAB_BWRAP")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap"].map(PathBuf::from))
        .find(|p| p.is_file())
}

/// A uid for one grading run's worker: unprivileged, outside the range of real accounts, and
/// different for concurrent runs (so that their process limits and signals do not meet).
pub fn run_uid(run: &Path) -> u32 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    run.hash(&mut hasher);
    200_000 + (hasher.finish() % 100_000) as u32
}

/// The system's programs and libraries (what builds and workers alike see read-only, where they exist).
pub const SYSTEM_PROGRAMS: [&str; 6] = ["/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin"];

/// What every worker sees read-only of the system, bubblewrap's view or Landlock's: its programs
/// and libraries, its configuration and `/opt` (where GPU machines keep their torch).
fn worker_system_folders() -> impl Iterator<Item = PathBuf> {
    SYSTEM_PROGRAMS.iter().chain(&["/etc", "/opt"]).map(PathBuf::from)
}

/// What the worker needs of a GPU: NVIDIA's device nodes, its driver's `/proc` entry, `/sys` (read
/// only, for the PCI topology) and, with MPS, its pipe folder.
fn gpu_paths() -> (Vec<PathBuf>, Vec<PathBuf>) {
    let devices = std::fs::read_dir("/dev")
        .map(|entries| {
            entries.flatten().map(|e| e.path()).filter(|p| p.to_string_lossy().starts_with("/dev/nvidia")).collect()
        })
        .unwrap_or_default();
    let mps =
        std::env::var_os("CUDA_MPS_PIPE_DIRECTORY").map_or_else(|| PathBuf::from("/tmp/nvidia-mps"), PathBuf::from);
    (devices, vec![PathBuf::from("/sys"), mps])
}

/// An allow-list of the file system, enforced by Landlock (the kernel's unprivileged access
/// control, Linux 5.13+) where namespaces cannot be made: what is not listed does not open, for
/// root as for anyone.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    /// Read and execute below these.
    pub read: Vec<PathBuf>,
    /// Read and write existing files below these (device files, CUDA's `/proc/self`).
    pub read_write: Vec<PathBuf>,
    /// Everything below these (create, remove, write).
    pub write: Vec<PathBuf>,
}

impl AllowList {
    /// The Landlock ruleset of this list, built before `fork` (the child applies it with
    /// [`landlock_restrict`]); it also refuses every TCP connection and listener where the
    /// kernel's Landlock covers the network (ABI 4+). It handles ABI 3's file rights, so device
    /// ioctls, which CUDA needs, stay open. `None` where the kernel has no Landlock.
    pub fn ruleset(&self) -> Option<std::os::fd::OwnedFd> {
        use landlock::{
            ABI, Access, AccessFs, AccessNet, Ruleset, RulesetAttr, RulesetCreatedAttr, path_beneath_rules,
        };
        let abi = ABI::V3;
        let all = AccessFs::from_all(abi);
        let read = AccessFs::from_read(abi);
        let existing = |paths: &[PathBuf]| paths.iter().filter(|p| p.exists()).cloned().collect::<Vec<_>>();
        let ruleset = Ruleset::default()
            .handle_access(all)
            .ok()?
            .handle_access(AccessNet::from_all(ABI::V4))
            .ok()?
            .create()
            .ok()?
            .add_rules(path_beneath_rules(existing(&self.read), read))
            .ok()?
            .add_rules(path_beneath_rules(existing(&self.read_write), read | AccessFs::WriteFile | AccessFs::Truncate))
            .ok()?
            .add_rules(path_beneath_rules(existing(&self.write), all))
            .ok()?;
        Option::<std::os::fd::OwnedFd>::from(ruleset)
    }
}

/// The allow-list view of [`bwrap_args`] for a worker where bubblewrap cannot run (inside Docker's
/// default profile): read and execute in the system folders, `/etc`, `/opt`, `/sys`, `visible` and
/// the worker's own folder; read in `/proc` (also written on a GPU); device files read and written
/// (`/dev/null`, the GPU's nodes) but nothing created in `/dev` (so not in a shared `/dev/shm`);
/// everything in `writable` (its working folder, MPS's pipe folder on a GPU). Nothing else of the
/// host opens for it: no other folder of the run, no home, no report.
pub fn worker_allow_list(visible: &[PathBuf], writable: &[PathBuf], gpu: bool) -> AllowList {
    let mut list = AllowList {
        read: worker_system_folders().chain([PathBuf::from("/sys")]).collect(),
        read_write: vec![PathBuf::from("/dev")],
        write: writable.to_vec(),
    };
    list.read.extend(visible.iter().cloned());
    // CUDA writes files under /proc/self (measured on an H200: cuInit fails with error 304
    // without), which no rule made before fork can name: /proc then (what else it holds is
    // writable only by root or the worker's own uid).
    if gpu {
        list.read_write.push(PathBuf::from("/proc"));
        list.write.extend(gpu_paths().1.into_iter().filter(|p| !p.starts_with("/sys")));
    } else {
        list.read.push(PathBuf::from("/proc"));
    }
    list
}

/// Applies a ruleset of [`AllowList::ruleset`] to the calling process (after `no_new_privs`, or as
/// root). Async-signal-safe: a bare system call, for between `fork` and `exec`.
pub fn landlock_restrict(ruleset: std::os::fd::RawFd) -> std::io::Result<()> {
    // SAFETY: a plain system call on a descriptor the caller owns.
    let rc = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) };
    if rc != 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// Largest file a worker may write (`RLIMIT_FSIZE`).
pub const FILE_BYTES: u64 = 256 << 20;

/// Files a worker may hold open (`RLIMIT_NOFILE`).
pub const OPEN_FILES: u64 = 4096;

/// Size of the worker's private `/tmp` and of its `/dev/shm`.
pub const TMPFS_BYTES: u64 = 256 << 20;

/// bubblewrap's arguments for a worker that sees `visible` read-only, may write in a fresh, capped
/// file system at each path of `writable`, starts
/// in `workdir`, and loads its seccomp filter from descriptor `seccomp_fd`; then `program`.
pub fn bwrap_args(
    visible: &[PathBuf],
    writable: &[PathBuf],
    gpu: bool,
    workdir: &Path,
    seccomp_fd: i32,
    program: &Path,
) -> Vec<String> {
    let mut args: Vec<String> = [
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--die-with-parent",
        "--new-session",
        // The worker is the namespace's first process: no bubblewrap init beside it, running as its
        // uid, whose memory it could open (its own children still die with it).
        "--as-pid-1",
        "--hostname",
        "worker",
    ]
    .map(String::from)
    .to_vec();
    let mut bind = |flag: &str, path: &Path| {
        args.extend([flag.to_string(), path.display().to_string(), path.display().to_string()]);
    };
    for dir in worker_system_folders().filter(|p| p.exists()) {
        bind("--ro-bind", &dir);
    }
    args.extend(["--proc", "/proc", "--dev", "/dev"].map(String::from));
    for dir in ["/tmp", "/dev/shm"] {
        args.extend(["--size".to_string(), TMPFS_BYTES.to_string(), "--tmpfs".to_string(), dir.to_string()]);
    }
    // After the fresh /tmp: what it binds may live below it (the run folder does).
    let mut bind = |flag: &str, path: &Path| {
        args.extend([flag.to_string(), path.display().to_string(), path.display().to_string()]);
    };
    for path in visible {
        bind("--ro-bind-try", path);
    }
    // The working folder is a fresh, size-capped file system: what the worker writes there lives
    // in memory, counts against the cap, and goes with the worker (the host's disk is not its to fill).
    for path in writable {
        args.extend(["--size".to_string(), TMPFS_BYTES.to_string(), "--tmpfs".to_string(), path.display().to_string()]);
    }
    if gpu {
        let (devices, folders) = gpu_paths();
        let mut bind = |flag: &str, path: &Path| {
            args.extend([flag.to_string(), path.display().to_string(), path.display().to_string()]);
        };
        for device in &devices {
            bind("--dev-bind-try", device);
        }
        bind("--ro-bind-try", Path::new("/proc/driver/nvidia"));
        for folder in &folders {
            bind("--bind-try", folder);
        }
    }
    args.extend([
        "--chdir".to_string(),
        workdir.display().to_string(),
        "--seccomp".to_string(),
        seccomp_fd.to_string(),
        "--".to_string(),
        program.display().to_string(),
    ]);
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_compiles_and_names_every_refused_call() {
        let program = seccomp_filter().unwrap();
        assert!(program.len() > REFUSED.len(), "one comparison per refused call at least");
        assert_eq!(seccomp_bytes(&program).len(), program.len() * 8);
        let names: Vec<&str> = REFUSED.iter().map(|(n, _)| *n).collect();
        for required in ["mount", "umount2", "pivot_root", "ptrace", "process_vm_readv", "process_vm_writev", "bpf"] {
            assert!(names.contains(&required), "{required}");
        }
        for required in ["perf_event_open", "keyctl", "setns", "unshare"] {
            assert!(names.contains(&required), "{required}");
        }
    }

    #[test]
    fn run_uids_are_unprivileged_and_differ_between_runs() {
        let (a, b) = (run_uid(Path::new("/tmp/run-a")), run_uid(Path::new("/tmp/run-b")));
        assert!(a >= 200_000 && b >= 200_000);
        assert_ne!(a, b);
        assert_eq!(a, run_uid(Path::new("/tmp/run-a")));
    }
}

/// A control group of its own for one worker, with a memory and a process limit, in every
/// hierarchy that has the controller (cgroup v1: `memory` and `pids`; v2: one group), below the
/// grader's own group. Removed when dropped (after the worker is gone).
#[derive(Debug)]
pub struct Cgroup {
    dirs: Vec<PathBuf>,
    /// The worker joins by writing its pid here (`cgroup.procs` of each group).
    pub procs: Vec<std::ffi::CString>,
    /// What it limits, in words.
    pub description: String,
}

/// The grader's own group in the hierarchy of `controller` (v1), or in the unified one (`None`).
fn own_group(controller: Option<&str>) -> Option<String> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = match controller {
            Some(c) => controllers.split(',').any(|x| x == c),
            None => controllers.is_empty(),
        };
        matches.then(|| path.to_string())
    })
}

fn write(path: &Path, value: &str) -> std::io::Result<()> {
    std::fs::write(path, value)
}

impl Cgroup {
    /// Creates `name` with these limits where the grader may (root, a writable cgroup file
    /// system); `None` elsewhere.
    pub fn create(name: &str, memory_bytes: Option<u64>, pids: u64) -> Option<Cgroup> {
        let root = Path::new("/sys/fs/cgroup");
        let mut group = Cgroup { dirs: Vec::new(), procs: Vec::new(), description: String::new() };
        let mut limits = Vec::new();
        if root.join("cgroup.controllers").is_file() {
            let dir = root.join(own_group(None)?.trim_start_matches('/')).join(name);
            std::fs::create_dir(&dir).ok()?;
            group.dirs.push(dir.clone());
            if let Some(bytes) = memory_bytes {
                write(&dir.join("memory.max"), &bytes.to_string()).ok()?;
                limits.push(format!("memory {} MiB", bytes >> 20));
            }
            write(&dir.join("pids.max"), &pids.to_string()).ok()?;
            limits.push(format!("{pids} tasks"));
            group.description = format!("cgroup v2 ({})", limits.join(", "));
        } else {
            for (controller, file, value, what) in [
                (
                    "memory",
                    "memory.limit_in_bytes",
                    memory_bytes,
                    memory_bytes.map(|b| format!("memory {} MiB", b >> 20)),
                ),
                ("pids", "pids.max", Some(pids), Some(format!("{pids} tasks"))),
            ] {
                let Some(value) = value else { continue };
                let base = root.join(controller);
                let Some(own) = own_group(Some(controller)) else { continue };
                let dir = base.join(own.trim_start_matches('/')).join(name);
                if std::fs::create_dir(&dir).is_err() {
                    continue;
                }
                group.dirs.push(dir.clone());
                if write(&dir.join(file), &value.to_string()).is_err() {
                    return None;
                }
                limits.extend(what);
            }
            if group.dirs.is_empty() {
                return None;
            }
            group.description = format!("cgroup v1 ({})", limits.join(", "));
        }
        group.procs = group
            .dirs
            .iter()
            .filter_map(|d| std::ffi::CString::new(d.join("cgroup.procs").as_os_str().as_encoded_bytes()).ok())
            .collect();
        Some(group)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for dir in &self.dirs {
            // Its last tasks may take a moment to be reaped.
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() || !dir.exists() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }
}
