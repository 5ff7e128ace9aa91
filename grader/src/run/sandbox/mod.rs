//! Runs one check in a child process with a time limit, a memory ceiling and a process cap, and
//! collects its result from a private pipe (see [`crate::run::protocol`]); starts the submission's
//! worker confined as strongly as the machine allows.
//!
//! The child gets its own process group so that everything it spawns is killed with it; stdin
//! carries only the nonce; stdout and stderr are captured, bounded, and used only to explain a
//! failure, never to read a result.
//!
//! - `mounts`: the grader's own mount and network namespaces (a read-only, hiding view);
//! - `child`: what runs between `fork` and `exec` (rlimits, uid, seccomp, Landlock, descriptors);
//! - `confine`: which confinement this machine allows (bubblewrap, namespaces, plain), and builds;
//! - `worker`: the worker, an interactive child the judge talks to.

mod child;
mod confine;
mod mounts;
#[cfg(test)]
mod tests;
mod worker;

pub use child::SECCOMP_FD;
pub use confine::{
    CONFINEMENT_VARIABLE, NO_PROTECTION, Protections, available_protections, bubblewrap_allowed, output_confined,
};
pub use mounts::all_but;
pub use worker::{Ended, Interactive, spawn_interactive};

use crate::run::protocol::Message;
use child::{Setup, drain, exit_of, join_within, prepare};
use confine::namespaces_refused;
use mounts::MountPlan;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Bytes of stdout/stderr kept from the end of each stream.
pub(super) const OUTPUT_TAIL: usize = 16 * 1024;
/// Largest result message accepted.
const RESULT_LIMIT: u64 = 4 << 20;

/// How a check's time limit is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
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

/// A program to start: its arguments, working folder, added environment and limits.
#[derive(Debug, Clone, Copy)]
pub struct Child<'a> {
    /// The executable.
    pub program: &'a Path,
    /// Its arguments.
    pub args: &'a [String],
    /// Where it starts.
    pub workdir: &'a Path,
    /// Variables added to the environment it inherits.
    pub env: &'a [(&'a str, String)],
    /// Its time, memory and process limits.
    pub limits: Limits,
}

/// Runs `child` and collects its result. With `isolation`, tries namespaces first and, where the
/// system refuses them, runs without (`ChildRun::isolated` says which happened).
pub fn run_child(child: &Child<'_>, isolation: Option<&Isolation>) -> std::io::Result<ChildRun> {
    if let Some(isolation) = isolation {
        match run_once(child, Some(isolation)) {
            Err(e) if namespaces_refused(&e) => {}
            other => return other,
        }
    }
    run_once(child, None)
}

/// Runs the child once (with `isolation`'s namespaces, or without), and collects its result.
fn run_once(spec: &Child<'_>, isolation: Option<&Isolation>) -> std::io::Result<ChildRun> {
    let Child { program, args, workdir, env, limits } = *spec;
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
