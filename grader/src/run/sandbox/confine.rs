//! Which confinement this machine allows a worker (bubblewrap, the grader's own namespaces, none),
//! what protections that gives, and confined builds.

use super::Isolation;
use super::child::{Setup, prepare};
use super::mounts::MountPlan;
use std::path::Path;
use std::process::{Command, Stdio};

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
    const ALLOW_LIST: &str = "Landlock's allow-list (system programs, the toolchain, the crate registry, libtorch, the shared wire and plots crates, its own staging folder)";
    let applied: Vec<&str> =
        [namespace.then_some(HIDING), landlock.then_some(ALLOW_LIST)].into_iter().flatten().collect();
    if applied.is_empty() {
        "nothing: no bubblewrap, no namespaces and no Landlock here, so it could read the whole file system".into()
    } else {
        applied.join(", and ")
    }
}

/// Whether the variable `key` of the grader's environment reaches a worker.
pub(super) fn passes_to_worker(key: &str) -> bool {
    const NAMES: [&str; 4] = ["PATH", "LD_LIBRARY_PATH", "LANG", "LC_ALL"];
    const PREFIXES: [&str; 7] = ["CUDA_", "NVIDIA_", "PYTORCH_", "TORCH_", "OMP_", "MKL_", "OPENBLAS_"];
    NAMES.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Whether a failed start means "no permission for namespaces here" (then the child runs without).
pub(super) fn namespaces_refused(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EPERM) | Some(libc::EACCES) | Some(libc::EINVAL) | Some(libc::ENOSYS))
}

/// How a worker is confined (see [`crate::run::jail`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Confinement {
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

pub(super) fn strongest_confinement() -> Confinement {
    match std::env::var(CONFINEMENT_VARIABLE).as_deref() {
        Ok("none") => Confinement::Unprotected,
        Ok("plain") => Confinement::Plain,
        Ok("namespaces") => Confinement::Namespaces,
        _ => Confinement::Bubblewrap,
    }
}

/// Whether bubblewrap can make its namespaces here as `uid` (inside Docker's default profile it
/// cannot), asked once per process.
pub(super) fn bubblewrap_works(bwrap: &Path, uid: Option<u32>) -> bool {
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

/// Which of the worker's protections this machine allows (see [`super::spawn_interactive`]).
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
