//! The check catalog: every check of the assignment, as data.
//!
//! The judge (which implements the checks), the scorer, the reports and the docs all read this one
//! table. Adding a check is three steps the compiler walks you through: a [`CheckId`] variant
//! (`id.rs`), a row in `public.rs` or `hidden.rs` (points, title, hint, time limit), and an arm in
//! the judge's `implementation` match (`grader/judge/src/checks/mod.rs`). A check's score is
//! `points ×` the fraction its function returns. `grader list --hidden` prints the table.

mod id;
pub use id::{CheckId, UnknownCheck};

mod public;
// BEGIN HIDDEN
mod hidden;
// END HIDDEN

use crate::run::sandbox::Clock;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// The five exercises, in notebook order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Exercise {
    /// Exercise 1.
    BasicBlock,
    /// Exercise 2.
    Bottleneck,
    /// Exercise 3.
    HeInit,
    /// Exercise 4.
    Training,
    /// Exercise 5.
    Ablation,
}

impl Exercise {
    /// All exercises in order.
    pub const ALL: [Exercise; 5] = [Self::BasicBlock, Self::Bottleneck, Self::HeInit, Self::Training, Self::Ablation];

    /// Stable identifier used in reports and the gradebook.
    pub fn id(self) -> &'static str {
        match self {
            Self::BasicBlock => "basic_block",
            Self::Bottleneck => "bottleneck",
            Self::HeInit => "he_init",
            Self::Training => "training",
            Self::Ablation => "ablation",
        }
    }

    /// Human title.
    pub fn title(self) -> &'static str {
        match self {
            Self::BasicBlock => "BasicBlock",
            Self::Bottleneck => "BottleneckBlock",
            Self::HeInit => "He-init variance check",
            Self::Training => "Train ResNet-18 (> 75% on CIFAR-10)",
            Self::Ablation => "BatchNorm / dropout ablation",
        }
    }

    /// Its title where `profile` grades it: the training target of that profile beside the
    /// graded one ("Train ResNet-18 (> 60% here, > 75% graded)").
    pub fn title_in(self, profile: crate::profile::ProfileName) -> String {
        let (here, graded) =
            (profile.settings().accuracy_threshold, crate::profile::ProfileName::Full.settings().accuracy_threshold);
        match self {
            Self::Training if here != graded => format!("Train ResNet-18 (> {here:.0}% here, > {graded:.0}% graded)"),
            _ => self.title().to_string(),
        }
    }

    /// What the exercise builds, in a sentence: "your BasicBlock".
    pub fn noun(self) -> &'static str {
        match self {
            Self::BasicBlock => "your BasicBlock",
            Self::Bottleneck => "your BottleneckBlock",
            Self::HeInit => "your He-init variance check",
            Self::Training => "your training function",
            Self::Ablation => "your ablation",
        }
    }

    /// Its number in the notebook (1–5), as the stubs' `todo!("Exercise N — …")` say it.
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|e| *e == self).expect("in ALL") + 1
    }

    /// The exercise whose stub a `todo!()` message names ("… (Exercise 1 — BasicBlock …").
    pub fn named_by_todo(message: &str) -> Option<Exercise> {
        Self::ALL.into_iter().find(|e| message.contains(&format!("Exercise {} —", e.number())))
    }

    /// The answer file a student edits for this exercise, relative to the crate.
    pub fn file(self) -> &'static str {
        match self {
            Self::BasicBlock => "src/basic_block.rs",
            Self::Bottleneck => "src/bottleneck.rs",
            Self::HeInit => "src/he_init.rs",
            Self::Training => "src/training.rs",
            Self::Ablation => "src/ablation.rs",
        }
    }

    /// Points in the notebook.
    pub fn points(self) -> f64 {
        match self {
            Self::BasicBlock | Self::Bottleneck | Self::Training => 15.0,
            Self::HeInit | Self::Ablation => 10.0,
        }
    }
}

/// Who sees a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Runs in `make check`; students see it all the time.
    Public,
    /// Runs only when instructors grade (`--hidden`); students see its result after grading.
    Hidden,
}

impl Visibility {
    /// Its name in reports: `public` or `hidden`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Hidden => "hidden",
        }
    }
}

/// One check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Check {
    /// Its identity (`exercise.name` as a string).
    pub id: CheckId,
    /// The exercise it grades.
    pub exercise: Exercise,
    /// What it verifies, in a few words.
    pub title: &'static str,
    /// Points for a full pass.
    pub points: f64,
    /// Public or hidden.
    pub visibility: Visibility,
    /// Its time limit.
    pub limit: TimeLimit,
    /// Checks that need another check's artifacts (trained weights) run after it, and only if its
    /// code returned normally.
    pub after: Option<CheckId>,
    /// Set when the result comes from the child process of another check (no process of its own).
    pub reported_by: Option<CheckId>,
    /// The check reads the test split. Only checks that measure trained weights with the grader's
    /// own code (and run no student code) may; everywhere else the test split is hidden.
    pub test_split: bool,
    /// What to look at when it fails.
    pub hint: &'static str,
}

impl Check {
    /// The judge's source file that scores it, relative to the workspace (the judge's
    /// `implementation` match, `grader/judge/src/checks/mod.rs`, names its function).
    pub fn implemented_in(&self) -> &'static str {
        match (self.exercise, self.visibility) {
            (Exercise::BasicBlock | Exercise::Bottleneck, Visibility::Public) => {
                "grader/judge/src/checks/blocks/mod.rs"
            }
            (Exercise::BasicBlock | Exercise::Bottleneck, Visibility::Hidden) => {
                "grader/judge/src/checks/blocks/hidden.rs"
            }
            (Exercise::HeInit, Visibility::Public) => "grader/judge/src/checks/he_init/mod.rs",
            (Exercise::HeInit, Visibility::Hidden) => "grader/judge/src/checks/he_init/hidden.rs",
            (Exercise::Training, _) => "grader/judge/src/checks/training.rs",
            (Exercise::Ablation, Visibility::Public) => "grader/judge/src/checks/ablation/mod.rs",
            (Exercise::Ablation, Visibility::Hidden) => "grader/judge/src/checks/ablation/hidden.rs",
        }
    }
}

/// A check's time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TimeLimit {
    /// Seconds in the smoke (CPU) profile and the full (GPU) profile.
    pub seconds: [u64; 2],
    /// How they are measured: training, the ablation and the He-init measurement are CPU-bound and
    /// measured in CPU time, so that a busy machine cannot make a correct submission time out;
    /// quick checks on the wall clock.
    pub clock: Clock,
}

const BLOCK: TimeLimit = TimeLimit { seconds: [60, 60], clock: Clock::Wall };
/// The He-init check runs the student's function on two networks: computation, like training.
const HE_INIT: TimeLimit = TimeLimit { seconds: [60, 60], clock: Clock::Cpu };
const TRAIN: TimeLimit = TimeLimit { seconds: [180, 300], clock: Clock::Cpu };
const MEASURE: TimeLimit = TimeLimit { seconds: [60, 60], clock: Clock::Wall };
const ABLATION: TimeLimit = TimeLimit { seconds: [300, 600], clock: Clock::Cpu };

/// Builds a row with the defaults most rows share.
const fn check(
    id: CheckId,
    exercise: Exercise,
    title: &'static str,
    points: f64,
    visibility: Visibility,
    limit: TimeLimit,
    hint: &'static str,
) -> Check {
    Check { id, exercise, title, points, visibility, limit, after: None, reported_by: None, test_split: false, hint }
}

/// Every check, in report order: by exercise, public checks before hidden ones.
pub static CHECKS: LazyLock<Vec<Check>> = LazyLock::new(|| {
    // BEGIN HIDDEN
    let hidden = hidden::CHECKS;
    // END HIDDEN
    // HANDOUT: let hidden: &[Check] = &[];
    let mut all: Vec<Check> = public::CHECKS.iter().chain(hidden).copied().collect();
    all.sort_by_key(|c| c.exercise); // stable: each file's order within an exercise stays
    all
});

/// The check called `id` (its string form), if this catalog has it.
pub fn find(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// The row of `id`, if this catalog has it (the handout's has no hidden rows).
pub fn row(id: CheckId) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// The checks a run includes: public ones, and hidden ones too when `hidden`.
pub fn selected(hidden: bool) -> impl Iterator<Item = &'static Check> {
    CHECKS.iter().filter(move |c| hidden || c.visibility == Visibility::Public)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_prefixed_by_their_exercise() {
        let mut seen = HashSet::new();
        for c in CHECKS.iter() {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(
                c.id.as_str().starts_with(&format!("{}.", c.exercise.id())),
                "{} is not under {}",
                c.id,
                c.exercise.id()
            );
        }
        for row in public::CHECKS {
            assert_eq!(row.visibility, Visibility::Public, "{} is in public.rs", row.id);
        }
    }

    #[test]
    fn every_exercise_has_public_checks_and_dependencies_point_backwards() {
        for exercise in Exercise::ALL {
            assert!(
                CHECKS.iter().any(|c| c.exercise == exercise && c.visibility == Visibility::Public),
                "{exercise:?}"
            );
        }
        for (i, c) in CHECKS.iter().enumerate() {
            for dep in c.after.iter().chain(c.reported_by.iter()) {
                let j =
                    CHECKS.iter().position(|d| d.id == *dep).unwrap_or_else(|| panic!("{} names unknown {dep}", c.id));
                assert!(j < i, "{} must come after {dep}", c.id);
                assert_eq!(CHECKS[j].exercise, c.exercise);
                assert!(
                    CHECKS[j].reported_by.is_none() && CHECKS[j].after.is_none(),
                    "{dep} must run in its own process"
                );
            }
        }
    }
}
