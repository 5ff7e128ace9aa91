//! The submission's worker: an interactive child the judge talks to, started in the strongest
//! confinement this machine allows, under its own uid, seccomp, Landlock, rlimits and cgroup.

use super::child::{SECCOMP_FD, Setup, StreamTail, drain, exit_under, join_within, prepare};
use super::confine::{Confinement, bubblewrap_works, namespaces_refused, passes_to_worker, strongest_confinement};
use super::mounts::MountPlan;
use super::{Clock, Exit, Isolation, Limits, NO_PROTECTION, cores};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A child that is talked to: requests on its stdin, answers on its [`crate::run::protocol::RESULT_FD`], its stdout and
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

/// What to start.
struct Launch<'a> {
    program: &'a Path,
    args: &'a [String],
    workdir: &'a Path,
    env: &'a [(String, String)],
    limits: Limits,
}

/// A control group of its own for a worker (where the grader may create one).
fn worker_cgroup(limits: Limits) -> Option<crate::run::jail::Cgroup> {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("resnet-lab-worker-{}-{n}", std::process::id());
    crate::run::jail::Cgroup::create(&name, limits.memory_bytes, limits.processes)
}

/// What a worker sees read-only besides the system's folders: `isolation.visible` and its own binary's folder.
fn visible_to(isolation: &Isolation, program: &Path) -> Vec<std::path::PathBuf> {
    let mut visible = isolation.visible.clone();
    visible.extend(program.parent().map(Path::to_path_buf));
    visible
}

/// A worker's environment: only what libtorch and CUDA read passes from the grader's (which may
/// hold secrets), its working folder as `TMPDIR` and `HOME`, and `env`.
fn worker_environment(command: &mut Command, workdir: &Path, env: &[(String, String)]) {
    command.env_clear().env("TMPDIR", workdir).env("HOME", workdir);
    for (key, value) in std::env::vars().filter(|(key, _)| passes_to_worker(key)) {
        command.env(key, value);
    }
    for (key, value) in env {
        command.env(key, value);
    }
}

/// Without bubblewrap's view, Landlock gives the same allow-list where the kernel has it: when a
/// view was asked for (`isolation` names the worker's writable folder) and the file system is not
/// left writable (the fallback for a GPU machine where CUDA fails under a restricted view).
fn landlock_view(confinement: Confinement, isolation: &Isolation, program: &Path) -> Option<std::os::fd::OwnedFd> {
    match confinement {
        Confinement::Namespaces | Confinement::Plain if !isolation.writable.is_empty() && isolation.read_only => {
            crate::run::jail::worker_allow_list(&visible_to(isolation, program), &isolation.writable, isolation.gpu)
                .ruleset()
        }
        _ => None,
    }
}

/// Landlock and the cgroup, in words, for the protections line.
fn describe_extras(landlock_applied: bool, cgroup: Option<&crate::run::jail::Cgroup>) -> String {
    let landlock = if landlock_applied {
        "; Landlock: an allow-list view (system folders, libtorch and the worker read-only, its working folder writable), no TCP where the kernel's Landlock covers it"
    } else {
        ""
    };
    let cgroup = match cgroup {
        Some(group) => format!("; {}", group.description),
        None => "; no cgroup (the grader may not create one here)".to_string(),
    };
    format!("{landlock}{cgroup}")
}

/// Starts the worker under `confinement` (bubblewrap through `bwrap`, or `program` directly).
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
    let cgroup = (root && protected).then(|| worker_cgroup(limits)).flatten();
    let mut command = if bubblewrap {
        seccomp_writer.write_all(&crate::run::jail::seccomp_bytes(&filter))?;
        let mut command = Command::new(bwrap);
        command.args(crate::run::jail::bwrap_args(
            &visible_to(isolation, program),
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
    worker_environment(&mut command, workdir, env);
    let plan = match confinement {
        Confinement::Namespaces => Some(MountPlan::new(isolation)?),
        _ => None,
    };
    let landlock = landlock_view(confinement, isolation, program);
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
    protections.push_str(&describe_extras(landlock_applied, cgroup.as_ref()));
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
