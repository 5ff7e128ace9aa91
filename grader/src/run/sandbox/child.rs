//! What runs in a child between `fork` and `exec` (only async-signal-safe calls there), and how
//! its output and exit are collected.

use super::mounts::MountPlan;
use super::{Exit, Limits, OUTPUT_TAIL};
use crate::run::protocol::RESULT_FD;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::Command;
use std::time::{Duration, Instant};

/// The last bytes a child wrote to one stream, and how many it wrote in all.
#[derive(Default)]
pub(super) struct StreamTail {
    kept: Vec<u8>,
    total: usize,
}

impl StreamTail {
    /// The last `OUTPUT_TAIL` bytes as text, preceded by a marker saying how many bytes were cut.
    pub(super) fn into_text(self) -> String {
        let start = self.kept.len().saturating_sub(OUTPUT_TAIL);
        let text = String::from_utf8_lossy(&self.kept[start..]).into_owned();
        let cut = self.total - (self.kept.len() - start);
        if cut > 0 { format!("[… {cut} bytes cut …]\n{text}") } else { text }
    }
}

/// Reads all of `reader` in a thread, keeping the last `OUTPUT_TAIL` bytes and counting the rest.
pub(super) fn drain(mut reader: impl Read + Send + 'static) -> std::thread::JoinHandle<StreamTail> {
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

/// What runs in a child between `fork` and `exec`.
#[derive(Default)]
pub(super) struct Setup {
    pub(super) plan: Option<MountPlan>,
    /// Its own process group (killed as a whole by the grader), or the parent's.
    pub(super) own_group: bool,
    /// Killed when the process that started it dies.
    pub(super) die_with_parent: bool,
    /// Installed on [`RESULT_FD`].
    pub(super) channel: std::os::fd::RawFd,
    pub(super) limits: Option<Limits>,
    /// Extra rlimits of a worker: file size, open files, CPU seconds.
    pub(super) worker_limits: Option<(u64, u64, u64)>,
    /// Switch to this uid (and gid) when running as root.
    pub(super) uid: Option<u32>,
    /// Installed on [`SECCOMP_FD`] for bubblewrap to load.
    pub(super) seccomp_fd: Option<std::os::fd::RawFd>,
    /// Applied right before exec (when bubblewrap does not load it).
    pub(super) seccomp: Option<seccompiler::BpfProgram>,
    /// A Landlock ruleset (see [`crate::run::jail::AllowList`]) to apply after the uid switch.
    pub(super) landlock: Option<std::os::fd::RawFd>,
    /// `cgroup.procs` files to join (before the uid switch).
    pub(super) cgroup_procs: Vec<std::ffi::CString>,
    /// Close every descriptor from this one up (what the grader itself inherited must not reach
    /// student code).
    pub(super) close_from: Option<u32>,
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
pub(super) fn prepare(command: &mut Command, setup: Setup) {
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

/// How a child ended; under bubblewrap, exit code 128 + N is the worker's death by signal N.
pub(super) fn exit_under(status: std::process::ExitStatus, bwrap: bool) -> Exit {
    match exit_of(status) {
        Exit::Code(code) if bwrap && (129..=192).contains(&code) => Exit::Signal(code - 128),
        other => other,
    }
}

pub(super) fn exit_of(status: std::process::ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        _ => Exit::Code(-1),
    }
}

/// Joins `handle` if it finishes within `timeout`.
pub(super) fn join_within<T: Send + 'static>(handle: std::thread::JoinHandle<T>, timeout: Duration) -> Option<T> {
    let deadline = Instant::now() + timeout;
    while !handle.is_finished() {
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    handle.join().ok()
}
