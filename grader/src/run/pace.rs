//! Fair timing when the machine is shared: checks of concurrent gradings run side by side, and a
//! check that timed out on the wall clock while the machine was busy runs once more alone before
//! the timeout is final.
//!
//! Every grading of one `grader` process (the jobs of a batch) shares one [`Pace`]. A check holds
//! it shared while it runs; a retry holds it exclusively, so it starts once the checks running
//! then have finished, and no other check starts beside it. (Builds are not paused: they run
//! before a submission's checks and use a bounded number of cores.)

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Shared by every grading of one process; clones share the same lock.
#[derive(Debug, Clone, Default)]
pub struct Pace(Arc<RwLock<()>>);

impl Pace {
    /// Held while a check runs beside others.
    pub fn beside_others(&self) -> RwLockReadGuard<'_, ()> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Held while a check runs alone: waits for the checks running now to finish, and keeps new
    /// ones from starting (the standard library's lock lets a waiting writer go first).
    pub fn alone(&self) -> RwLockWriteGuard<'_, ()> {
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The machine's load: runnable tasks averaged over the last minute, beside its cores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    /// The one-minute load average (`/proc/loadavg`).
    pub average: f64,
    /// Cores available to this process.
    pub cores: u64,
}

impl Load {
    /// The load now, if the kernel says.
    pub fn now() -> Option<Load> {
        let text = std::fs::read_to_string("/proc/loadavg").ok()?;
        Some(Load { average: text.split_whitespace().next()?.parse().ok()?, cores: crate::run::sandbox::cores() })
    }

    /// Whether more was runnable than the cores could run: a check of ours fills at most every
    /// core, so anything beyond that (with half a core's slack) was other work competing with it.
    pub fn busy(&self) -> bool {
        self.average > self.cores as f64 + 0.5
    }
}

impl std::fmt::Display for Load {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "load {:.1} on {} cores", self.average, self.cores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_retry_waits_for_running_checks_and_no_check_starts_beside_it() {
        let pace = Pace::default();
        let running = pace.beside_others();
        let (pace2, started) = (pace.clone(), Instant::now());
        let retry = std::thread::spawn(move || {
            let _alone = pace2.alone();
            let waited = started.elapsed();
            std::thread::sleep(Duration::from_millis(300));
            waited
        });
        std::thread::sleep(Duration::from_millis(200));
        drop(running);
        // A check that wants to start while the retry waits or runs starts only after it.
        std::thread::sleep(Duration::from_millis(50));
        let _next = pace.beside_others();
        let next_started = started.elapsed();
        let waited = retry.join().unwrap();
        assert!(waited >= Duration::from_millis(200), "the retry started beside a running check ({waited:?})");
        assert!(next_started >= waited + Duration::from_millis(300), "a check started beside the retry");
    }

    #[test]
    fn a_machine_is_busy_only_with_more_runnable_than_cores() {
        assert!(!Load { average: 2.4, cores: 2 }.busy());
        assert!(Load { average: 2.6, cores: 2 }.busy());
        assert_eq!(Load { average: 3.26, cores: 2 }.to_string(), "load 3.3 on 2 cores");
    }
}
