//! The `grader` command's exit codes, in one place: scripts (`make check STRICT=1`, the Gradescope
//! wrapper, Slurm jobs) tell "graded, some checks failed" from "could not grade" by them.

/// How a `grader` command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done: every check passed (`check`, `grade`), or the command did what it was asked.
    Success,
    /// Graded, and some check did not pass; or `assign --check` found the generated crate stale.
    ChecksFailed,
    /// Could not grade or could not do the work: unreadable input, a missing tool, an I/O error.
    /// The message on standard error says why.
    CouldNotGrade,
    /// The command line was wrong (an unknown flag, a missing argument); nothing ran.
    Usage,
}

impl Exit {
    /// Every exit code, for `--help` and the README.
    pub const ALL: [Exit; 4] = [Exit::Success, Exit::ChecksFailed, Exit::CouldNotGrade, Exit::Usage];

    /// The process exit status.
    pub fn code(self) -> i32 {
        match self {
            Exit::Success => 0,
            Exit::ChecksFailed => 1,
            Exit::CouldNotGrade => 2,
            // sysexits.h's EX_USAGE, so that a typo in a script is not mistaken for a grading error.
            Exit::Usage => 64,
        }
    }

    /// [`Exit::Success`] when `passed`, else [`Exit::ChecksFailed`].
    pub fn graded(passed: bool) -> Self {
        if passed { Exit::Success } else { Exit::ChecksFailed }
    }

    /// What the code means, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Success => "every check passed (or the command succeeded)",
            Exit::ChecksFailed => "graded, and some check did not pass",
            Exit::CouldNotGrade => "could not grade (the message says why)",
            Exit::Usage => "wrong command line; nothing ran",
        }
    }

    /// The table `--help` ends with.
    pub fn help() -> String {
        let mut text = String::from("Exit codes:\n");
        for exit in Self::ALL {
            text.push_str(&format!("  {:>3}  {}\n", exit.code(), exit.meaning()));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_the_help_lists_each() {
        let codes: std::collections::BTreeSet<i32> = Exit::ALL.iter().map(|e| e.code()).collect();
        assert_eq!(codes.len(), Exit::ALL.len());
        let help = Exit::help();
        for exit in Exit::ALL {
            assert!(help.contains(&format!("{:>3}  {}", exit.code(), exit.meaning())), "{help}");
        }
        assert_eq!(Exit::graded(true), Exit::Success);
        assert_eq!(Exit::graded(false), Exit::ChecksFailed);
    }
}
