//! Flags shared by the commands that grade (`check`, `grade`, `batch`), defined once.

use crate::grade::GradeOptions;
use crate::profile::ProfileName;
use std::path::PathBuf;

/// How to grade.
#[derive(Debug, Clone, clap::Args)]
pub struct GradingArgs {
    /// smoke: CPU, synthetic data, minutes. full: GPU, CIFAR-10 from --data, the notebook's 75%.
    #[arg(long, value_enum, default_value_t = ProfileName::Smoke)]
    pub profile: ProfileName,
    /// The CIFAR-10 folder (cifar-10-batches-bin) for the full profile.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run only these checks or exercises (and the checks they need); repeatable.
    #[arg(long = "only", value_name = "CHECK_ID")]
    pub only: Vec<String>,
    /// Seed for data, initialization and training.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Cap every check's time limit at this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub max_check_seconds: Option<u64>,
    /// Use this prebuilt grader-worker instead of building one against the crate (one crate only;
    /// e.g. on a GPU machine without Rust).
    #[arg(long)]
    pub worker: Option<PathBuf>,
    /// Use this prebuilt grader-judge instead of building this workspace's.
    #[arg(long)]
    pub judge: Option<PathBuf>,
    /// Build the judge and the worker with optimizations.
    #[arg(long)]
    pub release: bool,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Grade even on a machine where no protection for the submissions' code can be set up (no
    /// namespaces, no separate uid, no seccomp), which `grade` and `batch` otherwise refuse: only for
    /// submissions you trust. (`check` grades a student's own crate and never refuses.)
    #[arg(long)]
    pub trusted_submissions: bool,
}

impl GradingArgs {
    /// Refuses to grade untrusted submissions where the kernel allows none of the worker's
    /// protections (see [`crate::run::sandbox::available_protections`]), unless `--trusted-submissions`.
    pub fn refuse_without_protection(&self) -> anyhow::Result<()> {
        if self.trusted_submissions || crate::run::sandbox::available_protections().any() {
            return Ok(());
        }
        anyhow::bail!(
            "refusing to grade: {}. Run as root, or where user namespaces or seccomp are allowed (outside Docker's default profile), or pass --trusted-submissions for submissions you trust",
            crate::run::sandbox::NO_PROTECTION.split("; grade with").next().unwrap_or_default()
        )
    }

    /// Options for grading `crate_dir` into `out_dir`.
    pub fn options(&self, crate_dir: PathBuf, out_dir: PathBuf, hidden: bool) -> GradeOptions {
        GradeOptions {
            crate_dir,
            profile: self.profile,
            data: self.data.clone(),
            hidden,
            only: self.only.clone(),
            out_dir,
            seed: self.seed,
            worker: self.worker.clone(),
            judge: self.judge.clone(),
            release: self.release,
            progress: !self.quiet,
            max_check_seconds: self.max_check_seconds,
            threads: None,
            gpu_memory_fraction: None,
            private: Vec::new(),
            trusted: self.trusted_submissions,
            pace: crate::run::pace::Pace::default(),
        }
    }
}
