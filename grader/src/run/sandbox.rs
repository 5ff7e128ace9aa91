//! Runs one check in a child process with a time limit, a memory ceiling and a process cap, and
//! collects its result from a private pipe (see [`crate::run::protocol`]).
//!
//! The child gets its own process group so that everything it spawns is killed with it; stdin
//! carries only the nonce; stdout and stderr are captured, bounded, and used only to explain a
//! failure, never to read a result.

use crate::run::protocol::{Message, RESULT_FD};
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Bytes of stdout/stderr kept from the end of each stream.
const OUTPUT_TAIL: usize = 16 * 1024;
/// Largest result message accepted.
const RESULT_LIMIT: u64 = 4 << 20;

/// How a check's time limit is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Time on the wall clock: for quick checks, whose limits are far above what they need.
    #[default]
    Wall,
    /// Computation: the CPU time the worker uses, per core of the machine. A busy machine slows a
    /// check down without using its budget, so a correct submission does not time out because
    /// other work shares the cores; the wall clock stops it only at [`BUSY_MACHINE_FACTOR`] times
    /// the limit (a worker that sleeps or waits uses no CPU time).
    Cpu,
}

/// On the [`Clock::Cpu`] clock, how many times its limit a check may take on the wall clock.
pub const BUSY_MACHINE_FACTOR: u32 = 3;

/// Resource limits of a check process.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Limits {
    /// The check's time limit, measured by `clock`.
    pub time: Duration,
    /// How `time` is measured.
    #[serde(default)]
    pub clock: Clock,
    /// Address space (`RLIMIT_AS`), if any.
    pub memory_bytes: Option<u64>,
    /// Processes and threads of the user (`RLIMIT_NPROC`; not enforced for root).
    pub processes: u64,
}

/// Namespaces for a check process, where the grader may create them (root or CAP_SYS_ADMIN): a
/// network namespace of its own (no network at all, not even the host's loopback), and a mount
/// namespace in which the whole file system is read-only (with `read_only`) except `writable`
/// and the kernel's `/dev`, `/proc` and `/sys`, each file of `hide`
/// reads as empty (`/dev/null` bound over it) and each folder of `hide` as an empty, read-only
/// folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Isolation {
    /// Files and folders to hide from the process (the CIFAR test split, the grader's sources,
    /// the other submissions and reports).
    pub hide: Vec<std::path::PathBuf>,
    /// The only folders the process may write to (its scratch folder), with `/dev`, `/proc` and
    /// `/sys`.
    pub writable: Vec<std::path::PathBuf>,
    /// Whether the rest of the file system is read-only (see [`Isolation::read_only_root`]); without
    /// bubblewrap, also whether Landlock's allow-list applies.
    pub read_only: bool,
    /// With bubblewrap (see [`crate::run::jail`]): what the process sees read-only besides the system's
    /// folders (an allow-list; `hide` is not needed then).
    #[serde(default)]
    pub visible: Vec<std::path::PathBuf>,
    /// The unprivileged uid the process runs as when the grader is root.
    #[serde(default)]
    pub uid: Option<u32>,
    /// Whether it needs the GPU's device nodes.
    #[serde(default)]
    pub gpu: bool,
    /// The instructor trusts the submission (`--trusted-submissions`): where no protection at all
    /// can be set up, run it anyway instead of refusing.
    #[serde(default)]
    pub trusted: bool,
}

impl Limits {
    /// When the process is stopped on the wall clock: the limit itself, or on the CPU clock a
    /// backstop of [`BUSY_MACHINE_FACTOR`] times it.
    pub fn wall(&self) -> Duration {
        match self.clock {
            Clock::Wall => self.time,
            Clock::Cpu => self.time * BUSY_MACHINE_FACTOR,
        }
    }

    /// The worker's CPU time budget in seconds (`RLIMIT_CPU`): the limit on every core of the
    /// machine. On the wall clock a backstop only (the wall clock ends the check first); on the CPU
    /// clock the limit itself.
    pub fn cpu_seconds(&self) -> u64 {
        self.time.as_secs().max(1) * cores() + if self.clock == Clock::Wall { 10 } else { 0 }
    }
}

/// The machine's cores (what libtorch starts one thread per by default).
pub fn cores() -> u64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as u64
}

impl Isolation {
    /// Whether check processes should see a read-only file system: yes, unless
    /// [`WRITABLE_ROOT_VARIABLE`] is set.
    pub fn read_only_root() -> bool {
        std::env::var_os(WRITABLE_ROOT_VARIABLE).is_none()
    }
}

/// Set (to anything) to keep the file system writable for check processes — for a grading machine
/// where a read-only view breaks something the checks need; the network namespace and the hidden
/// paths stay, Landlock's allow-list goes. (The grader also falls back by itself when CUDA fails
/// only under a read-only view.)
pub const WRITABLE_ROOT_VARIABLE: &str = "RESNET_LAB_WRITABLE_ROOT";

/// `struct mount_attr` of `mount_setattr(2)` (Linux 5.12).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;
const AT_RECURSIVE: libc::c_int = 0x8000;

/// Sets or clears read-only on the mount at `path` (and every mount below it with `recursive`).
/// Async-signal-safe: a bare syscall.
fn set_read_only(path: &std::ffi::CStr, read_only: bool, recursive: bool) -> std::io::Result<()> {
    let attr = MountAttr {
        attr_set: if read_only { MOUNT_ATTR_RDONLY } else { 0 },
        attr_clr: if read_only { 0 } else { MOUNT_ATTR_RDONLY },
        propagation: 0,
        userns_fd: 0,
    };
    let flags = if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: valid NUL-terminated path and a properly sized, initialized struct.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc != 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
}

/// The namespace set-up of [`Isolation`], prepared before `fork` (no allocation after it).
struct MountPlan {
    root: std::ffi::CString,
    dev_null: std::ffi::CString,
    read_only_root: bool,
    kernel_mounts: [std::ffi::CString; 3],
    tmpfs: std::ffi::CString,
    empty_options: std::ffi::CString,
    hidden_files: Vec<std::ffi::CString>,
    hidden_dirs: Vec<std::ffi::CString>,
    writable: Vec<std::ffi::CString>,
}

impl MountPlan {
    fn new(isolation: &Isolation) -> std::io::Result<Self> {
        let c = |p: &Path| {
            std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
        };
        let existing = |p: &&std::path::PathBuf| p.exists();
        // A path inside another hidden folder is hidden with it (and could not be mounted over).
        let outermost = |p: &&std::path::PathBuf| !isolation.hide.iter().any(|h| h != *p && p.starts_with(h));
        let (dirs, files): (Vec<_>, Vec<_>) =
            isolation.hide.iter().filter(existing).filter(outermost).partition(|p| p.is_dir());
        Ok(MountPlan {
            root: c(Path::new("/"))?,
            dev_null: c(Path::new("/dev/null"))?,
            read_only_root: isolation.read_only,
            kernel_mounts: [c(Path::new("/dev"))?, c(Path::new("/proc"))?, c(Path::new("/sys"))?],
            tmpfs: c(Path::new("tmpfs"))?,
            empty_options: c(Path::new("size=4k,mode=0555"))?,
            hidden_files: files.into_iter().map(|p| c(p)).collect::<std::io::Result<_>>()?,
            hidden_dirs: dirs.into_iter().map(|p| c(p)).collect::<std::io::Result<_>>()?,
            writable: isolation.writable.iter().filter(existing).map(|p| c(p)).collect::<std::io::Result<_>>()?,
        })
    }

    /// Runs in the child between `fork` and `exec`: only async-signal-safe calls.
    fn apply(&self) -> std::io::Result<()> {
        let check = |rc: libc::c_int| if rc != 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) };
        let null = std::ptr::null::<libc::c_char>();
        // SAFETY: plain syscalls with valid NUL-terminated strings.
        unsafe {
            check(libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS))?;
            // Keep our mounts to ourselves.
            check(libc::mount(null, self.root.as_ptr(), null, libc::MS_REC | libc::MS_PRIVATE, std::ptr::null()))?;
            // Each writable folder becomes a mount of its own, so that it can stay writable.
            for path in &self.writable {
                check(libc::mount(path.as_ptr(), path.as_ptr(), null, libc::MS_BIND | libc::MS_REC, std::ptr::null()))?;
            }
            if self.read_only_root {
                set_read_only(&self.root, true, true)?;
                // Device nodes and the kernel's file systems stay as they were (CUDA needs them).
                for path in &self.kernel_mounts {
                    let _ = set_read_only(path, false, true);
                }
                for path in &self.writable {
                    set_read_only(path, false, false)?;
                }
            }
            for path in &self.hidden_files {
                check(libc::mount(self.dev_null.as_ptr(), path.as_ptr(), null, libc::MS_BIND, std::ptr::null()))?;
            }
            for path in &self.hidden_dirs {
                let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
                check(libc::mount(
                    self.tmpfs.as_ptr(),
                    path.as_ptr(),
                    self.tmpfs.as_ptr(),
                    flags,
                    self.empty_options.as_ptr().cast(),
                ))?;
            }
        }
        Ok(())
    }
}

/// Every entry below `root` that is not one of `keep` and holds none of them: what to hide to show
/// only `keep` of a tree (an allow-list). `keep` holds canonical paths; links are left alone.
pub fn all_but(root: &Path, keep: &[std::path::PathBuf]) -> Vec<std::path::PathBuf> {
    let Ok(root) = root.canonicalize() else { return Vec::new() };
    let mut hide = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_symlink()) || keep.contains(&path) {
                continue;
            }
            if keep.iter().any(|k| k.starts_with(&path)) {
                stack.push(path);
            } else {
                hide.push(path);
            }
        }
    }
    hide.sort();
    hide
}

/// Runs the command `make` gives (a worker build) confined as far as this machine allows: in a
/// mount namespace with `isolation`'s hiding view where the grader may make one, and inside
/// `allow`'s Landlock view where the kernel has it. `make` is called again for a second try
/// without the namespace (a command carries its set-up). Also says what applied, in words.
pub fn output_confined(
    make: impl Fn() -> Command,
    isolation: &Isolation,
    allow: &crate::run::jail::AllowList,
) -> std::io::Result<(std::process::Output, String)> {
    let strongest = strongest_confinement();
    let run = |plan: Option<MountPlan>| {
        let landlock = allow.ruleset().filter(|_| strongest != Confinement::Unprotected);
        let applied = landlock.is_some();
        let mut command = make();
        command.stdin(Stdio::null());
        let setup = Setup {
            plan,
            channel: 2,
            landlock: landlock.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
            ..Setup::default()
        };
        prepare(&mut command, setup);
        command.output().map(|output| (output, applied))
    };
    let in_namespace = matches!(strongest, Confinement::Bubblewrap | Confinement::Namespaces)
        .then(|| MountPlan::new(isolation).and_then(|plan| run(Some(plan))));
    let (output, namespace, landlock) = match in_namespace {
        Some(Ok((output, landlock))) => (output, true, landlock),
        Some(Err(e)) if !namespaces_refused(&e) => return Err(e),
        _ => run(None).map(|(output, landlock)| (output, false, landlock))?,
    };
    Ok((output, describe_build(namespace, landlock)))
}

/// How a build outside bubblewrap was confined, in words.
fn describe_build(namespace: bool, landlock: bool) -> String {
    const HIDING: &str =
        "a mount namespace that hides the solution, the grader, the tests, reports and other submissions";
    const ALLOW_LIST: &str =
        "Landlock's allow-list (system programs, the toolchain, the crate registry, libtorch, its own staging folder)";
    let applied: Vec<&str> =
        [namespace.then_some(HIDING), landlock.then_some(ALLOW_LIST)].into_iter().flatten().collect();
    if applied.is_empty() {
        "nothing: no bubblewrap, no namespaces and no Landlock here, so it could read the whole file system".into()
    } else {
        applied.join(", and ")
    }
}

/// How the child process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal.
    Signal(i32),
    /// Killed by the grader after the time limit.
    TimedOut,
}

/// Everything the grader learned from one child.
#[derive(Debug)]
pub struct ChildRun {
    /// The first message with the right nonce for each check, in arrival order.
    pub messages: Vec<Message>,
    /// Lines on the result pipe that were not valid messages with the right nonce.
    pub forged: usize,
    /// How the process ended.
    pub exit: Exit,
    /// The end of its stdout.
    pub stdout: String,
    /// The end of its stderr.
    pub stderr: String,
    /// Wall-clock time.
    pub duration: Duration,
    /// Whether the process ran in its own network and mount namespaces.
    pub isolated: bool,
}

/// A fresh random nonce (128 bits from the OS).
pub fn nonce() -> String {
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).expect("/dev/urandom is readable");
    hex::encode(bytes)
}

/// The last bytes a child wrote to one stream, and how many it wrote in all.
#[derive(Default)]
struct StreamTail {
    kept: Vec<u8>,
    total: usize,
}

impl StreamTail {
    /// The last `OUTPUT_TAIL` bytes as text, preceded by a marker saying how many bytes were cut.
    fn into_text(self) -> String {
        let start = self.kept.len().saturating_sub(OUTPUT_TAIL);
        let text = String::from_utf8_lossy(&self.kept[start..]).into_owned();
        let cut = self.total - (self.kept.len() - start);
        if cut > 0 { format!("[… {cut} bytes cut …]\n{text}") } else { text }
    }
}

/// Reads all of `reader` in a thread, keeping the last `OUTPUT_TAIL` bytes and counting the rest.
fn drain(mut reader: impl Read + Send + 'static) -> std::thread::JoinHandle<StreamTail> {
    std::thread::spawn(move || {
        let mut tail = StreamTail::default();
        let mut buffer = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 {
                break;
            }
            tail.total += n;
            tail.kept.extend_from_slice(&buffer[..n]);
            if tail.kept.len() > 2 * OUTPUT_TAIL {
                tail.kept.drain(..tail.kept.len() - OUTPUT_TAIL);
            }
        }
        tail
    })
}

/// Runs `program args` in `workdir` under `limits` with `env` added, and collects its result.
/// With `isolation`, tries namespaces first and, where the system refuses them, runs without
/// (`ChildRun::isolated` says which happened).
pub fn run_child(
    program: &Path,
    args: &[String],
    workdir: &Path,
    env: &[(&str, String)],
    limits: Limits,
    isolation: Option<&Isolation>,
) -> std::io::Result<ChildRun> {
    if let Some(isolation) = isolation {
        match run_once(program, args, workdir, env, limits, Some(isolation)) {
            Err(e) if namespaces_refused(&e) => {}
            other => return other,
        }
    }
    run_once(program, args, workdir, env, limits, None)
}

/// What runs in a child between `fork` and `exec`.
#[derive(Default)]
struct Setup {
    plan: Option<MountPlan>,
    /// Its own process group (killed as a whole by the grader), or the parent's.
    own_group: bool,
    /// Killed when the process that started it dies.
    die_with_parent: bool,
    /// Installed on [`RESULT_FD`].
    channel: std::os::fd::RawFd,
    limits: Option<Limits>,
    /// Extra rlimits of a worker: file size, open files, CPU seconds.
    worker_limits: Option<(u64, u64, u64)>,
    /// Switch to this uid (and gid) when running as root.
    uid: Option<u32>,
    /// Installed on [`SECCOMP_FD`] for bubblewrap to load.
    seccomp_fd: Option<std::os::fd::RawFd>,
    /// Applied right before exec (when bubblewrap does not load it).
    seccomp: Option<seccompiler::BpfProgram>,
    /// A Landlock ruleset (see [`crate::run::jail::AllowList`]) to apply after the uid switch.
    landlock: Option<std::os::fd::RawFd>,
    /// `cgroup.procs` files to join (before the uid switch).
    cgroup_procs: Vec<std::ffi::CString>,
    /// Close every descriptor from this one up (what the grader itself inherited must not reach
    /// student code).
    close_from: Option<u32>,
}

/// Closes every descriptor from `first` up. Async-signal-safe.
fn close_descriptors_from(first: u32) {
    // SAFETY: plain syscalls.
    unsafe {
        if libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) != 0 {
            for fd in first..4096 {
                libc::close(fd as libc::c_int);
            }
        }
    }
}

/// The descriptor bubblewrap reads the seccomp filter from.
pub const SECCOMP_FD: i32 = 4;

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) {
    set_limits(resource, value, value);
}

/// Sets a soft and a hard limit. Async-signal-safe.
fn set_limits(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) {
    let limit = libc::rlimit { rlim_cur: soft as libc::rlim_t, rlim_max: hard as libc::rlim_t };
    // SAFETY: a plain syscall with a valid struct.
    unsafe {
        libc::setrlimit(resource, &limit);
    }
}

/// Sets `command` up to run under `setup`.
fn prepare(command: &mut Command, setup: Setup) {
    // SAFETY: only async-signal-safe libc calls between fork and exec (the seccomp program was
    // compiled before fork).
    unsafe {
        command.pre_exec(move || {
            let fail = || Err(std::io::Error::last_os_error());
            // Out of the way of the descriptors installed below (3 and 4).
            let landlock = match setup.landlock {
                Some(fd) => match libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 64) {
                    moved if moved >= 0 => Some(moved),
                    _ => return fail(),
                },
                None => None,
            };
            if let Some(plan) = &setup.plan {
                plan.apply()?;
            }
            if setup.own_group && libc::setpgid(0, 0) != 0 {
                return fail();
            }
            if setup.die_with_parent && libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return fail();
            }
            if libc::dup2(setup.channel, RESULT_FD) < 0 {
                return fail();
            }
            if let Some(fd) = setup.seccomp_fd
                && libc::dup2(fd, SECCOMP_FD) < 0
            {
                return fail();
            }
            if let Some(limits) = setup.limits {
                if let Some(bytes) = limits.memory_bytes {
                    set_limit(libc::RLIMIT_AS, bytes);
                }
                set_limit(libc::RLIMIT_NPROC, limits.processes);
            }
            if let Some((file_bytes, files, cpu_seconds)) = setup.worker_limits {
                set_limit(libc::RLIMIT_FSIZE, file_bytes);
                set_limit(libc::RLIMIT_NOFILE, files);
                // SIGXCPU at the budget (reported as a timeout); SIGKILL only if it is ignored.
                set_limits(libc::RLIMIT_CPU, cpu_seconds, cpu_seconds + 5);
            }
            // No core dumps of crashing student code.
            set_limit(libc::RLIMIT_CORE, 0);
            for procs in &setup.cgroup_procs {
                let fd = libc::open(procs.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                    return fail();
                }
                libc::close(fd);
            }
            if let Some(uid) = setup.uid
                && libc::geteuid() == 0
                && (libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(uid) != 0 || libc::setuid(uid) != 0)
            {
                return fail();
            }
            if (setup.uid.is_some() || setup.seccomp.is_some() || setup.landlock.is_some())
                && libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            {
                return fail();
            }
            if let Some(ruleset) = landlock {
                crate::run::jail::landlock_restrict(ruleset)?;
            }
            // Last: the descriptors above were still needed (the cgroup's, the ruleset).
            if let Some(first) = setup.close_from {
                close_descriptors_from(first);
            }
            if let Some(program) = &setup.seccomp {
                seccompiler::apply_filter(program).map_err(|_| std::io::Error::from_raw_os_error(libc::EPERM))?;
            }
            Ok(())
        });
    }
}

/// A child that is talked to: requests on its stdin, answers on its [`RESULT_FD`], its stdout and
/// stderr kept (bounded) to explain how it ended.
pub struct Interactive {
    child: std::process::Child,
    /// Where requests go.
    pub requests: std::process::ChildStdin,
    /// Where answers come from.
    pub responses: std::io::PipeReader,
    stdout: std::thread::JoinHandle<StreamTail>,
    stderr: std::thread::JoinHandle<StreamTail>,
    /// Whether it runs in its own namespaces.
    pub isolated: bool,
    /// The protections it runs under, in words (for the report).
    pub protections: String,
    /// Started through bubblewrap, which reports a child killed by signal N as exit code 128 + N.
    bwrap: bool,
    /// Its control group, removed once it is gone.
    cgroup: Option<crate::run::jail::Cgroup>,
}

/// How an [`Interactive`] child ended, with the ends of its output.
#[derive(Debug, Clone)]
pub struct Ended {
    /// How it ended.
    pub exit: Exit,
    /// The end of its stdout.
    pub stdout: String,
    /// The end of its stderr.
    pub stderr: String,
    /// Bytes left unread in its answer channel once it ended (a well-behaved child leaves none).
    pub unread: u64,
}

impl Interactive {
    /// Lets the child exit by itself within `grace`, kills it otherwise, and says how it ended.
    pub fn finish(mut self, grace: Duration) -> Ended {
        drop(self.requests);
        let bwrap = self.bwrap;
        let deadline = Instant::now() + grace;
        let exit = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break exit_under(status, bwrap),
                Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                _ => {
                    let _ = self.child.kill();
                    break match self.child.wait() {
                        Ok(status) => exit_under(status, bwrap),
                        Err(_) => Exit::Code(-1),
                    };
                }
            }
        };
        drop(self.cgroup.take());
        Ended {
            unread: unread_bytes(self.responses),
            exit,
            stdout: join_within(self.stdout, Duration::from_secs(2)).unwrap_or_default().into_text(),
            stderr: join_within(self.stderr, Duration::from_secs(2)).unwrap_or_default().into_text(),
        }
    }
}

/// Counts (up to 16 MiB, without waiting) what is left in a finished child's answer channel.
fn unread_bytes(responses: std::io::PipeReader) -> u64 {
    use std::os::fd::AsRawFd;
    let fd = responses.as_raw_fd();
    // SAFETY: plain fcntl calls on a descriptor this function owns.
    unsafe {
        libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK);
    }
    let mut rest = responses.take(16 << 20);
    let mut buffer = [0u8; 64 * 1024];
    let mut total = 0;
    while let Ok(n @ 1..) = rest.read(&mut buffer) {
        total += n as u64;
    }
    total
}

/// How a child ended; under bubblewrap, exit code 128 + N is the worker's death by signal N.
fn exit_under(status: std::process::ExitStatus, bwrap: bool) -> Exit {
    match exit_of(status) {
        Exit::Code(code) if bwrap && (129..=192).contains(&code) => Exit::Signal(code - 128),
        other => other,
    }
}

fn exit_of(status: std::process::ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        _ => Exit::Code(-1),
    }
}

/// Whether the variable `key` of the grader's environment reaches a worker.
fn passes_to_worker(key: &str) -> bool {
    const NAMES: [&str; 4] = ["PATH", "LD_LIBRARY_PATH", "LANG", "LC_ALL"];
    const PREFIXES: [&str; 7] = ["CUDA_", "NVIDIA_", "PYTORCH_", "TORCH_", "OMP_", "MKL_", "OPENBLAS_"];
    NAMES.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Whether a failed start means "no permission for namespaces here" (then the child runs without).
fn namespaces_refused(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::EINVAL) | Some(libc::ENOSYS))
}

/// How a worker is confined (see [`crate::run::jail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confinement {
    /// bubblewrap's namespaces and allow-list view.
    Bubblewrap,
    /// The grader's own network and mount namespaces with the hiding view.
    Namespaces,
    /// No namespaces.
    Plain,
    /// Nothing at all: no namespaces, uid, seccomp or Landlock (only for submissions the instructor
    /// trusts, see [`Isolation::trusted`]).
    Unprotected,
}

/// Set to `namespaces` or `plain` to give workers at most the grader's own namespaces, or none (what
/// a Docker container such as Gradescope's allows), or to `none` for a machine that allows no
/// protection at all (no namespaces, no uid switch, no seccomp): for testing those paths where more
/// is possible.
pub const CONFINEMENT_VARIABLE: &str = "RESNET_LAB_CONFINEMENT";

/// Whether bubblewrap may be used here (not capped by [`CONFINEMENT_VARIABLE`]).
pub fn bubblewrap_allowed() -> bool {
    strongest_confinement() == Confinement::Bubblewrap
}

fn strongest_confinement() -> Confinement {
    match std::env::var(CONFINEMENT_VARIABLE).as_deref() {
        Ok("none") => Confinement::Unprotected,
        Ok("plain") => Confinement::Plain,
        Ok("namespaces") => Confinement::Namespaces,
        _ => Confinement::Bubblewrap,
    }
}

/// Whether bubblewrap can make its namespaces here as `uid` (inside Docker's default profile it
/// cannot), asked once per process.
fn bubblewrap_works(bwrap: &Path, uid: Option<u32>) -> bool {
    static WORKS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WORKS.get_or_init(|| {
        let mut command = Command::new(bwrap);
        command
            .args(["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"])
            .args(["--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "true"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        prepare(&mut command, Setup { channel: 2, uid, ..Setup::default() });
        command.status().is_ok_and(|s| s.success())
    })
}

/// Starts `program args` as an [`Interactive`] child in the parent's process group that dies with
/// its parent, confined as strongly as this machine allows: with `isolation`, in bubblewrap's
/// namespaces where they work, else in the grader's own namespaces, else without; always under its
/// uid (when root), `no_new_privs`, the seccomp filter and the worker rlimits.
pub fn spawn_interactive(
    program: &Path,
    args: &[String],
    workdir: &Path,
    env: &[(String, String)],
    limits: Limits,
    isolation: Option<&Isolation>,
) -> std::io::Result<Interactive> {
    let launch = Launch { program, args, workdir, env, limits };
    let strongest = strongest_confinement();
    let trusted = isolation.is_some_and(|i| i.trusted);
    let unprotected = || spawn_confined(&launch, &Isolation::default(), Confinement::Unprotected, program);
    if strongest == Confinement::Unprotected {
        return if trusted { unprotected() } else { Err(std::io::Error::other(NO_PROTECTION)) };
    }
    if let Some(isolation) = isolation.filter(|_| strongest != Confinement::Plain) {
        if let Some(bwrap) = crate::run::jail::bwrap()
            .filter(|_| strongest == Confinement::Bubblewrap)
            .filter(|b| bubblewrap_works(b, isolation.uid))
        {
            let attempt = spawn_confined(&launch, isolation, Confinement::Bubblewrap, &bwrap);
            if !matches!(&attempt, Err(e) if namespaces_refused(e)) {
                return attempt;
            }
        }
        match spawn_confined(&launch, isolation, Confinement::Namespaces, program) {
            Err(e) if namespaces_refused(&e) => {}
            other => return other,
        }
    }
    let plain = isolation.cloned().unwrap_or_default();
    match spawn_confined(&launch, &plain, Confinement::Plain, program) {
        // The kernel refused even the uid switch or seccomp: only a trusted submission runs so.
        Err(_) if trusted => unprotected(),
        other => other,
    }
}

/// Which of the worker's protections this machine allows (see [`spawn_interactive`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protections {
    /// Namespaces (bubblewrap's, or the grader's own mount and network namespaces).
    pub namespaces: bool,
    /// bubblewrap's namespaces, a PID namespace among them (everything a worker starts dies
    /// with it, and it sees no other process).
    pub bubblewrap: bool,
    /// A uid of the worker's own (the grader runs as root).
    pub separate_uid: bool,
    /// The seccomp filter.
    pub seccomp: bool,
    /// Landlock's allow-list view.
    pub landlock: bool,
}

impl Protections {
    /// Whether any of the protections a batch requires holds (namespaces, a uid, seccomp).
    pub fn any(&self) -> bool {
        self.namespaces || self.separate_uid || self.seccomp
    }
}

/// Probes which protections a worker would get here, by starting `true` under each.
pub fn available_protections() -> Protections {
    let strongest = strongest_confinement();
    if strongest == Confinement::Unprotected {
        return Protections {
            namespaces: false,
            bubblewrap: false,
            separate_uid: false,
            seccomp: false,
            landlock: false,
        };
    }
    let starts = |setup: Setup| {
        let mut command = Command::new("true");
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        prepare(&mut command, setup);
        command.status().is_ok_and(|s| s.success())
    };
    let seccomp = crate::run::jail::seccomp_filter()
        .is_ok_and(|filter| starts(Setup { channel: 2, seccomp: Some(filter), ..Setup::default() }));
    let own_namespaces = || {
        MountPlan::new(&Isolation::default())
            .is_ok_and(|plan| starts(Setup { channel: 2, plan: Some(plan), ..Setup::default() }))
    };
    let bubblewrap =
        strongest == Confinement::Bubblewrap && crate::run::jail::bwrap().is_some_and(|b| bubblewrap_works(&b, None));
    let namespaces = strongest != Confinement::Plain && (bubblewrap || own_namespaces());
    // SAFETY: a plain syscall.
    let separate_uid = unsafe { libc::geteuid() } == 0;
    let landlock = crate::run::jail::worker_allow_list(&[], &[std::env::temp_dir()], false).ruleset().is_some();
    Protections { namespaces, bubblewrap, separate_uid, seccomp, landlock }
}

/// Why a worker did not start where no protection could be set up.
pub const NO_PROTECTION: &str = "no protection could be set up for the process that runs the submission's code (no namespaces, no separate uid, no seccomp); grade with --trusted-submissions to run it anyway";

/// What to start.
struct Launch<'a> {
    program: &'a Path,
    args: &'a [String],
    workdir: &'a Path,
    env: &'a [(String, String)],
    limits: Limits,
}

fn spawn_confined(
    launch: &Launch<'_>,
    isolation: &Isolation,
    confinement: Confinement,
    bwrap: &Path,
) -> std::io::Result<Interactive> {
    use std::io::Write as _;
    let Launch { program, args, workdir, env, limits } = *launch;
    let protected = confinement != Confinement::Unprotected;
    let filter = crate::run::jail::seccomp_filter().map_err(std::io::Error::other)?;
    let (responses, writer) = std::io::pipe()?;
    let (seccomp_reader, mut seccomp_writer) = std::io::pipe()?;
    let bubblewrap = confinement == Confinement::Bubblewrap;
    // SAFETY: a plain syscall.
    let root = unsafe { libc::geteuid() } == 0;
    let cgroup = (root && protected)
        .then(|| {
            static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("resnet-lab-worker-{}-{n}", std::process::id());
            crate::run::jail::Cgroup::create(&name, limits.memory_bytes, limits.processes)
        })
        .flatten();
    let mut command = if bubblewrap {
        seccomp_writer.write_all(&crate::run::jail::seccomp_bytes(&filter))?;
        let mut visible = isolation.visible.clone();
        visible.extend(program.parent().map(Path::to_path_buf));
        let mut command = Command::new(bwrap);
        command.args(crate::run::jail::bwrap_args(
            &visible,
            &isolation.writable,
            isolation.gpu,
            workdir,
            SECCOMP_FD,
            program,
        ));
        command
    } else {
        Command::new(program)
    };
    drop(seccomp_writer);
    command.args(args).current_dir(workdir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Only what libtorch and CUDA read passes: the grader's environment may hold secrets.
    command.env_clear().env("TMPDIR", workdir).env("HOME", workdir);
    for (key, value) in std::env::vars().filter(|(key, _)| passes_to_worker(key)) {
        command.env(key, value);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    let plan = match confinement {
        Confinement::Namespaces => Some(MountPlan::new(isolation)?),
        _ => None,
    };
    // Without bubblewrap's view, Landlock gives the same allow-list where the kernel has it: when a
    // view was asked for (`isolation` names the worker's writable folder) and the file system is
    // not left writable (the fallback for a GPU machine where CUDA fails under a restricted view).
    let landlock = match confinement {
        Confinement::Namespaces | Confinement::Plain if !isolation.writable.is_empty() && isolation.read_only => {
            let mut visible = isolation.visible.clone();
            visible.extend(program.parent().map(Path::to_path_buf));
            crate::run::jail::worker_allow_list(&visible, &isolation.writable, isolation.gpu).ruleset()
        }
        _ => None,
    };
    let worker_limits = (crate::run::jail::FILE_BYTES, crate::run::jail::OPEN_FILES, limits.cpu_seconds());
    let setup = Setup {
        plan,
        die_with_parent: true,
        channel: std::os::fd::AsRawFd::as_raw_fd(&writer),
        limits: Some(limits),
        worker_limits: Some(worker_limits),
        uid: isolation.uid,
        seccomp_fd: bubblewrap.then(|| std::os::fd::AsRawFd::as_raw_fd(&seccomp_reader)),
        seccomp: (!bubblewrap && protected).then_some(filter),
        landlock: landlock.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
        cgroup_procs: cgroup.as_ref().map(|c| c.procs.clone()).unwrap_or_default(),
        close_from: Some(SECCOMP_FD as u32 + 1),
        ..Setup::default()
    };
    let landlock_applied = setup.landlock.is_some();
    prepare(&mut command, setup);
    let mut child = command.spawn()?;
    drop(writer);
    drop(seccomp_reader);
    let requests = child.stdin.take().expect("piped");
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));
    drop(landlock);
    let mut protections = describe(confinement, isolation, limits, worker_limits);
    if landlock_applied {
        protections.push_str("; Landlock: an allow-list view (system folders, libtorch and the worker read-only, its working folder writable), no TCP where the kernel's Landlock covers it");
    }
    protections.push_str(&match &cgroup {
        Some(group) => format!("; {}", group.description),
        None => "; no cgroup (the grader may not create one here)".to_string(),
    });
    Ok(Interactive {
        child,
        requests,
        responses,
        stdout,
        stderr,
        isolated: confinement != Confinement::Plain,
        protections,
        bwrap: bubblewrap,
        cgroup,
    })
}

/// The protections a worker ran under, in words.
fn describe(confinement: Confinement, isolation: &Isolation, limits: Limits, worker: (u64, u64, u64)) -> String {
    let view = match confinement {
        Confinement::Bubblewrap => format!(
            "bubblewrap: new user, PID, mount, network, IPC, UTS and cgroup namespaces; a read-only allow-list view (system folders, libtorch, the worker) with only its working folder writable and a private /tmp and /dev/shm of {} MiB",
            crate::run::jail::TMPFS_BYTES >> 20
        ),
        Confinement::Namespaces => format!(
            "network and mount namespaces ({} file system; this workspace but libtorch, reports, other runs and submissions hidden; bubblewrap unavailable)",
            if isolation.read_only { "read-only" } else { "writable" }
        ),
        Confinement::Plain => "no namespaces (the grader may not create them here)".to_string(),
        Confinement::Unprotected => {
            return "none: no namespaces, uid, seccomp or Landlock could be set up here, and the instructor trusted the submissions (--trusted-submissions)".to_string();
        }
    };
    // SAFETY: a plain syscall.
    let root = unsafe { libc::geteuid() } == 0;
    let uid = match isolation.uid {
        Some(uid) if root => format!("uid {uid} without capabilities"),
        _ => "the grader's own uid".to_string(),
    };
    let memory = limits.memory_bytes.map_or(String::new(), |b| format!("address space {} MiB, ", b >> 20));
    format!(
        "{view}; {uid}; no_new_privs; seccomp ({} system calls refused); rlimits: {memory}file size {} MiB, {} open files, {} processes, CPU time {} s (the check's limit × {} cores{})",
        crate::run::jail::REFUSED.len(),
        worker.0 >> 20,
        worker.1,
        limits.processes,
        worker.2,
        cores(),
        if limits.clock == Clock::Wall { ", a backstop to the wall clock" } else { "" },
    )
}

fn run_once(
    program: &Path,
    args: &[String],
    workdir: &Path,
    env: &[(&str, String)],
    limits: Limits,
    isolation: Option<&Isolation>,
) -> std::io::Result<ChildRun> {
    let (result_reader, result_writer) = std::io::pipe()?;
    let nonce = nonce();
    let mut command = Command::new(program);
    command.args(args).current_dir(workdir).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    // Everything the namespace set-up needs is allocated before fork.
    let plan = isolation.map(MountPlan::new).transpose()?;
    let isolated = plan.is_some();
    let channel = std::os::fd::AsRawFd::as_raw_fd(&result_writer);
    prepare(&mut command, Setup { plan, own_group: true, channel, limits: Some(limits), ..Setup::default() });
    let started = Instant::now();
    let mut child = command.spawn()?;
    drop(result_writer);
    let pgid = child.id() as i32;
    if let Some(mut stdin) = child.stdin.take() {
        // The child may already be gone; then it has no result either, which is reported below.
        let _ = stdin.write_all(format!("{nonce}\n").as_bytes());
    }
    let stdout = drain(child.stdout.take().expect("piped"));
    let stderr = drain(child.stderr.take().expect("piped"));
    let results = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = result_reader.take(RESULT_LIMIT).read_to_string(&mut text);
        text
    });

    let exit = loop {
        if let Some(status) = child.try_wait()? {
            break exit_of(status);
        }
        if started.elapsed() >= limits.wall() {
            break Exit::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Kill whatever is left of the group: the child after a timeout, and anything it spawned.
    // SAFETY: plain syscall on a process group we created.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = child.wait();
    let duration = started.elapsed();
    let (mut messages, mut forged) = (Vec::new(), 0);
    // A grandchild that escaped the group could hold the pipe open: do not wait for it forever.
    let text = join_within(results, Duration::from_secs(2)).unwrap_or_default();
    // The first message per check counts; anything else on the pipe is recorded as forged.
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str::<Message>(line) {
            Ok(message) if message.nonce == nonce && !messages.iter().any(|m: &Message| m.check == message.check) => {
                messages.push(message)
            }
            _ => forged += 1,
        }
    }
    Ok(ChildRun {
        messages,
        forged,
        exit,
        stdout: join_within(stdout, Duration::from_secs(2)).unwrap_or_default().into_text(),
        stderr: join_within(stderr, Duration::from_secs(2)).unwrap_or_default().into_text(),
        duration,
        isolated,
    })
}

fn join_within<T: Send + 'static>(handle: std::thread::JoinHandle<T>, timeout: Duration) -> Option<T> {
    let deadline = Instant::now() + timeout;
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    handle.join().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Landlock's allow-list: a child reads the system's programs and writes its working folder,
    /// and nothing else opens for it (another folder beside it, a home folder).
    #[test]
    fn landlock_opens_only_the_allow_list() {
        let work = tempfile::tempdir().unwrap();
        let Some(ruleset) = crate::run::jail::worker_allow_list(&[], &[work.path().to_path_buf()], false).ruleset()
        else {
            eprintln!("skipped: this kernel has no Landlock");
            return;
        };
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "hidden").unwrap();
        let script = format!(
            "cat {0}/secret; echo mine > {1}/out; echo theirs > {0}/planted; ls /root; echo done",
            outside.path().display(),
            work.path().display()
        );
        let mut command = Command::new("sh");
        command.args(["-c", &script]).stdin(Stdio::null());
        let fd = std::os::fd::AsRawFd::as_raw_fd(&ruleset);
        prepare(&mut command, Setup { channel: 2, landlock: Some(fd), ..Setup::default() });
        let output = command.output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("done"), "the shell itself ran: {stdout} {stderr}");
        assert!(!stdout.contains("hidden"), "read a file outside the allow-list: {stdout}");
        assert_eq!(std::fs::read_to_string(work.path().join("out")).unwrap(), "mine\n");
        assert!(!outside.path().join("planted").exists(), "wrote outside its working folder");
        assert!(stderr.matches("Permission denied").count() >= 3, "{stderr}");
    }

    fn sh(script: &str, limits: Limits) -> ChildRun {
        let args = vec!["-c".to_string(), script.to_string()];
        run_child(Path::new("/bin/sh"), &args, Path::new("/tmp"), &[], limits, None).unwrap()
    }

    const LIMITS: Limits =
        Limits { time: Duration::from_secs(10), clock: Clock::Wall, memory_bytes: None, processes: 4096 };

    #[test]
    fn results_need_the_nonce_and_stdout_is_not_a_result() {
        let script = r#"read nonce; echo '{"nonce":"nope","check":"x","outcome":{"status":"completed","score":1,"message":""}}' >&3;
            echo "{\"nonce\":\"$nonce\",\"check\":\"x\",\"outcome\":{\"status\":\"completed\",\"score\":0.5,\"message\":\"ok\"}}" >&3;
            echo '{"nonce":"x","check":"x"}'; echo err >&2"#;
        let run = sh(script, LIMITS);
        assert_eq!(run.exit, Exit::Code(0));
        assert_eq!(run.messages.len(), 1);
        assert_eq!(run.messages[0].outcome.score, 0.5);
        assert_eq!(run.forged, 1);
        assert!(run.stdout.contains("nonce") && run.stderr.contains("err"));
    }

    #[test]
    fn a_child_that_never_ends_is_killed_with_its_children() {
        let limits = Limits { time: Duration::from_millis(300), ..LIMITS };
        let run = sh("sleep 30 & sleep 30", limits);
        assert_eq!(run.exit, Exit::TimedOut);
        assert!(run.duration < Duration::from_secs(5), "{:?}", run.duration);
        assert!(run.messages.is_empty());
    }

    #[test]
    fn on_the_cpu_clock_only_the_wall_backstop_stops_a_waiting_child() {
        // 1.5 s of waiting: past a 1 s limit on the wall clock, inside its 3 s backstop on the CPU
        // clock (a busy machine stretches a check's wall time the same way).
        let limits = Limits { time: Duration::from_secs(1), ..LIMITS };
        assert_eq!(sh("sleep 1.5", limits).exit, Exit::TimedOut);
        assert_eq!(sh("sleep 1.5", Limits { clock: Clock::Cpu, ..limits }).exit, Exit::Code(0));
        assert_eq!(Limits { clock: Clock::Cpu, ..limits }.wall(), Duration::from_secs(3));
    }

    #[test]
    fn on_the_cpu_clock_a_worker_that_computes_forever_ends_with_sigxcpu_at_its_budget() {
        let limits = Limits { time: Duration::from_secs(1), clock: Clock::Cpu, ..LIMITS };
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let child = spawn_interactive(
            Path::new("/bin/sh"),
            &["-c".into(), "while :; do :; done".into()],
            dir.path(),
            &[],
            limits,
            None,
        )
        .unwrap();
        let ended = child.finish(Duration::from_secs(60));
        // SIGXCPU (reported as a timeout), not the SIGKILL of an equal hard limit.
        assert_eq!(ended.exit, Exit::Signal(libc::SIGXCPU), "{ended:?}");
        assert!(started.elapsed() >= Duration::from_secs(limits.cpu_seconds()) / 2, "{:?}", started.elapsed());
        let run = ChildRun {
            messages: Vec::new(),
            forged: 0,
            exit: ended.exit,
            stdout: String::new(),
            stderr: String::new(),
            duration: started.elapsed(),
            isolated: false,
        };
        let (status, message) = crate::grade::explain_missing_result(&run, &limits);
        assert_eq!(status, crate::output::report::Status::Timeout);
        assert!(message.contains("used up its 1 s of computation"), "{message}");
    }

    #[test]
    fn signals_and_exit_codes_are_reported() {
        assert_eq!(sh("kill -SEGV $$", LIMITS).exit, Exit::Signal(libc::SIGSEGV));
        assert_eq!(sh("exit 3", LIMITS).exit, Exit::Code(3));
    }

    #[test]
    fn the_memory_ceiling_applies() {
        let limits = Limits { memory_bytes: Some(64 << 20), ..LIMITS };
        // A 200 MB allocation must fail under a 64 MB address-space limit.
        let run = sh("python3 -c 'x = bytearray(200_000_000)' 2>&1 || echo failed-as-expected", limits);
        assert!(run.stdout.contains("failed-as-expected") || run.stdout.contains("MemoryError"), "{}", run.stdout);
    }

    #[test]
    fn isolated_children_have_no_network_see_no_hidden_paths_and_write_only_their_scratch() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("test_batch.bin");
        std::fs::write(&secret, "the test split").unwrap();
        let sources = dir.path().join("grader-src");
        std::fs::create_dir(&sources).unwrap();
        std::fs::write(sources.join("hidden.rs"), "fn answer() {}").unwrap();
        let (scratch, report) = (dir.path().join("scratch"), dir.path().join("report.json"));
        std::fs::create_dir(&scratch).unwrap();
        std::fs::write(&report, "{}").unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (secret_path, sources_path, scratch_path, report_path) =
            (secret.display(), sources.display(), scratch.display(), report.display());
        let script = format!(
            "echo read:$(cat {secret_path} | wc -c); echo listed:$(ls -A {sources_path} | wc -l); \
             echo forged > {report_path} 2>/dev/null && echo report-written; \
             echo mine > {scratch_path}/weights && echo scratch-written; \
             python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", {port}), timeout=2)' 2>/dev/null && echo connected || echo no-network"
        );
        let args = vec!["-c".to_string(), script];
        let isolation = Isolation {
            hide: vec![secret.clone(), sources.clone()],
            writable: vec![scratch.clone()],
            read_only: true,
            ..Isolation::default()
        };
        let run = run_child(Path::new("/bin/sh"), &args, Path::new("/tmp"), &[], LIMITS, Some(&isolation)).unwrap();
        assert!(run.stdout.contains("scratch-written"), "{}", run.stdout);
        if run.isolated {
            for expected in ["read:0", "listed:0", "no-network"] {
                assert!(run.stdout.contains(expected), "{expected} missing from {}", run.stdout);
            }
            assert!(!run.stdout.contains("report-written"), "{}", run.stdout);
            assert_eq!(std::fs::read_to_string(&report).unwrap(), "{}");
        } else {
            // No permission for namespaces here (not root): the fallback still runs the child.
            eprintln!("namespaces unavailable here; checked the fallback only");
            assert!(run.stdout.contains("read:14") && run.stdout.contains("connected"), "{}", run.stdout);
        }
        // Everything is intact outside; the scratch folder got its file.
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "the test split");
        assert_eq!(std::fs::read_to_string(sources.join("hidden.rs")).unwrap(), "fn answer() {}");
        assert_eq!(std::fs::read_to_string(scratch.join("weights")).unwrap(), "mine\n");
    }

    /// What a hostile worker tries from inside the jail (each line printed by the shell says what
    /// happened). Needs bubblewrap (`make setup` installs it as root; CI runs as root).
    #[test]
    fn a_jailed_worker_holds_no_privilege_and_nothing_outlives_it() {
        assert!(
            crate::run::jail::bwrap().is_some(),
            "install bubblewrap (apt-get install bubblewrap; make setup does as root)"
        );
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let uid = crate::run::jail::run_uid(dir.path());
        // SAFETY: a plain syscall.
        if unsafe { libc::geteuid() } == 0 {
            std::os::unix::fs::chown(&work, Some(uid), Some(uid)).unwrap();
        }
        let secret = dir.path().join("secret.rs");
        std::fs::write(&secret, "fn answer() {}").unwrap();
        let marker = format!("600.0{}", std::process::id());
        let shm = format!("/dev/shm/resnet-lab-escape-{marker}");
        let parent = std::process::id();
        // A descriptor the grader inherited without close-on-exec (a CI wrapper's log, say).
        let inherited_path = dir.path().join("inherited.log");
        let inherited = std::fs::File::create(&inherited_path).unwrap();
        // SAFETY: duplicates a descriptor this test owns to a number above the ones the sandbox
        // installs (3, 4), without close-on-exec.
        let fd = unsafe { libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&inherited), libc::F_DUPFD, 20) };
        assert!(fd >= 20);
        let script = format!(
            "echo uid=$(id -u); grep CapEff /proc/self/status; \
             (echo leaked >&{fd}) 2>/dev/null && echo fd-inherited || echo fd-closed; \
             umount -l /usr 2>/dev/null && echo unmounted || echo umount-refused; \
             mount -t tmpfs none /tmp 2>/dev/null && echo mounted || echo mount-refused; \
             cat {secret} 2>/dev/null && echo secret-read || echo secret-hidden; \
             test -e /proc/{parent}/mem && echo parent-visible || echo parent-invisible; \
             echo x > {shm} && echo shm-written; \
             head -c 300000000 /dev/zero > big 2>/dev/null && echo big-written || echo big-refused; rm -f big; \
             echo mine > $HOME/own && echo work-written; \
             head -c 200000000 /dev/zero > $HOME/a 2>/dev/null; head -c 200000000 /dev/zero > $HOME/b 2>/dev/null \
               && echo disk-unbounded || echo disk-capped; rm -f $HOME/a $HOME/b; \
             echo x > /usr/forged 2>/dev/null && echo usr-written || echo usr-read-only; \
             setsid sleep {marker} < /dev/null > /dev/null 2>&1 & \
             sleep 0.3; pgrep -f 'sleep {marker}' > /dev/null && echo grandchild-running; echo done",
            secret = secret.display()
        );
        let isolation =
            Isolation { writable: vec![work.clone()], read_only: true, uid: Some(uid), ..Isolation::default() };
        let limits = Limits { time: Duration::from_secs(30), clock: Clock::Wall, memory_bytes: None, processes: 256 };
        let child =
            // bash: dash cannot redirect to descriptors above 9.
            spawn_interactive(Path::new("/bin/bash"), &["-c".into(), script], &work, &[], limits, Some(&isolation))
                .unwrap();
        assert!(child.protections.starts_with("bubblewrap"), "{}", child.protections);
        let ended = child.finish(Duration::from_secs(20));
        let out = ended.stdout;
        assert!(out.contains("done"), "{out}\n{}", ended.stderr);
        assert!(!out.contains("uid=0\n"), "{out}");
        for expected in [
            "CapEff:\t0000000000000000",
            "umount-refused",
            "mount-refused",
            "secret-hidden",
            "parent-invisible",
            "shm-written",
            "big-refused",
            "work-written",
            "disk-capped",
            "usr-read-only",
            "grandchild-running",
            "fd-closed",
        ] {
            assert!(out.contains(expected), "{expected} missing:\n{out}\n{}", ended.stderr);
        }
        assert!(!Path::new(&shm).exists(), "the worker's /dev/shm is private");
        assert_eq!(std::fs::read_to_string(&inherited_path).unwrap(), "", "an inherited descriptor reached the worker");
        drop(inherited);
        // SAFETY: closes the duplicate made above.
        unsafe {
            libc::close(fd);
        }
        assert!(!work.join("own").exists(), "the working folder is the worker's own file system, not the host's disk");
        std::thread::sleep(Duration::from_millis(300));
        let survivors = std::process::Command::new("pgrep").args(["-f", &format!("sleep {marker}")]).output().unwrap();
        assert!(survivors.stdout.is_empty(), "a setsid grandchild outlived the worker: {:?}", survivors);
    }

    /// Two workers at once (`--jobs 2`): the second can neither read the first's working folder nor
    /// see or signal its processes.
    #[test]
    fn concurrent_workers_cannot_read_or_signal_each_other() {
        assert!(
            crate::run::jail::bwrap().is_some(),
            "install bubblewrap (apt-get install bubblewrap; make setup does as root)"
        );
        use std::os::unix::fs::PermissionsExt;
        let jail = |dir: &Path| {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            let work = dir.join("work");
            std::fs::create_dir(&work).unwrap();
            let uid = crate::run::jail::run_uid(dir);
            // SAFETY: a plain syscall.
            if unsafe { libc::geteuid() } == 0 {
                std::os::unix::fs::chown(&work, Some(uid), Some(uid)).unwrap();
            }
            let isolation = Isolation { writable: vec![work.clone()], uid: Some(uid), ..Isolation::default() };
            (work, isolation)
        };
        let (first_dir, second_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let ((first_work, first), (second_work, second)) = (jail(first_dir.path()), jail(second_dir.path()));
        let limits = Limits { time: Duration::from_secs(30), clock: Clock::Wall, memory_bytes: None, processes: 256 };
        // A duration no other process uses, to find the victim by its command line.
        let marker = format!("2.0{}", std::process::id());
        let victim = format!("echo answer > $HOME/answer.rs; sleep {marker}");
        let a = spawn_interactive(
            Path::new("/bin/sh"),
            &["-c".into(), format!("({victim}); echo slept=$?")],
            &first_work,
            &[],
            limits,
            Some(&first),
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let attack = format!(
            "cat {}/answer.rs 2>/dev/null && echo read-other || echo other-hidden; \
             pkill -9 -f 'sleep {head}''{tail}' 2>/dev/null; set -- /proc/[0-9]*; echo processes=$#; \
             kill -9 -1",
            first_work.display(),
            // Split so that pkill's pattern does not match this shell's own command line.
            head = &marker[..2],
            tail = &marker[2..],
        );
        let b =
            spawn_interactive(Path::new("/bin/sh"), &["-c".into(), attack], &second_work, &[], limits, Some(&second))
                .unwrap();
        let attacker = b.finish(Duration::from_secs(20));
        let victim = a.finish(Duration::from_secs(20));
        assert!(attacker.stdout.contains("other-hidden"), "{}", attacker.stdout);
        let processes: usize = attacker
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("processes="))
            .and_then(|n| n.parse().ok())
            .unwrap_or(usize::MAX);
        assert!(
            processes <= 3,
            "the attacker sees {processes} processes: {:?} {} {}",
            attacker.exit,
            attacker.stdout,
            attacker.stderr
        );
        assert!(victim.stdout.contains("slept=0"), "the first worker was killed: {:?} {}", victim.exit, victim.stdout);
    }

    /// A fork bomb in a worker stops at its control group's task limit (the grader is root here,
    /// as in CI, and keeps its uid for this worker so that only the cgroup limits it).
    #[test]
    fn a_worker_cgroup_caps_its_tasks() {
        // SAFETY: a plain syscall.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root: the grader creates no cgroup here; nothing to check");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        // The loop runs in a subshell (a shell whose fork fails exits); the count uses no fork.
        let script = "(for i in $(seq 40); do sleep 5 & done) 2>/dev/null; sleep 0.3; \
                      set -- /proc/[0-9]*; echo tasks=$#";
        let limits =
            Limits { time: Duration::from_secs(30), clock: Clock::Wall, memory_bytes: Some(2 << 30), processes: 12 };
        let isolation = Isolation { writable: vec![dir.path().to_path_buf()], ..Isolation::default() };
        let child = spawn_interactive(
            Path::new("/bin/sh"),
            &["-c".into(), script.into()],
            dir.path(),
            &[],
            limits,
            Some(&isolation),
        )
        .unwrap();
        assert!(child.protections.contains("cgroup v"), "{}", child.protections);
        assert!(child.protections.contains("12 tasks"), "{}", child.protections);
        let ended = child.finish(Duration::from_secs(20));
        let tasks: usize = ended
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("tasks="))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no count: {:?} {} {}", ended.exit, ended.stdout, ended.stderr));
        assert!(tasks <= 12, "{tasks} tasks ran under a limit of 12");
        assert!(tasks >= 3, "the shell and some sleeps ran ({tasks})");
    }

    #[test]
    fn huge_output_is_bounded() {
        let run = sh("head -c 5000000 /dev/zero | tr '\\0' a", LIMITS);
        let cut = 5_000_000 - OUTPUT_TAIL;
        assert!(
            run.stdout.starts_with(&format!("[… {cut} bytes cut …]\n")),
            "{}",
            run.stdout.chars().take(80).collect::<String>()
        );
        assert!(run.stdout.ends_with(&"a".repeat(OUTPUT_TAIL)));
        assert_eq!(run.stdout.len(), format!("[… {cut} bytes cut …]\n").len() + OUTPUT_TAIL);
    }
}
