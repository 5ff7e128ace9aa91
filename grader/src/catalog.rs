//! The check catalog: every check of the assignment, as data.
//!
//! The judge (which implements the checks), the scorer, the reports and the docs all read this one
//! table; table order is report order. Adding a check is adding a row here and a function in
//! `grader/judge/src/checks/` (its `IMPLEMENTATIONS` table). A check's score is `points ×` the
//! fraction its function returns.

use crate::sandbox::Clock;
use serde::Serialize;

/// The five exercises, in notebook order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Runs in `make check`; students see it all the time.
    Public,
    /// Runs only when instructors grade (`--hidden`); students see its result after grading.
    Hidden,
}

/// One check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Check {
    /// Stable identifier, `exercise.name`.
    pub id: &'static str,
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
    pub after: Option<&'static str>,
    /// Set when the result comes from the child process of another check (no process of its own).
    pub reported_by: Option<&'static str>,
    /// The check reads the test split. Only checks that measure trained weights with the grader's
    /// own code (and run no student code) may; everywhere else the test split is hidden.
    pub test_split: bool,
    /// What to look at when it fails.
    pub hint: &'static str,
}

/// A check's time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    id: &'static str,
    exercise: Exercise,
    title: &'static str,
    points: f64,
    visibility: Visibility,
    limit: TimeLimit,
    hint: &'static str,
) -> Check {
    Check { id, exercise, title, points, visibility, limit, after: None, reported_by: None, test_split: false, hint }
}

use Exercise::*;
use Visibility::*;

/// Every check, in report order.
pub const CHECKS: &[Check] = &[
    check(
        "basic_block.shape",
        BasicBlock,
        "(2,64,32,32) → (2,64,32,32) without downsample",
        2.0,
        Public,
        BLOCK,
        "conv1 and conv2 are 3×3 with padding 1; out_channels channels each",
    ),
    check(
        "basic_block.shape_downsample",
        BasicBlock,
        "(2,64,32,32) → (2,128,16,16) with stride 2 and downsample",
        2.0,
        Public,
        BLOCK,
        "the stride goes on conv1; apply `downsample` to the identity",
    ),
    check(
        "basic_block.outputs",
        BasicBlock,
        "right outputs on fixed weights, in training and evaluation mode",
        3.0,
        Public,
        BLOCK,
        "relu(bn1(conv1(x))) → bn2(conv2(·)) → + identity (or downsample(x)) → relu; pass `train` to every BatchNorm",
    ),
    // BEGIN HIDDEN
    check(
        "basic_block.parameters",
        BasicBlock,
        "parameter names and shapes as in PyTorch",
        2.0,
        Hidden,
        BLOCK,
        "create layers on p / \"conv1\", p / \"bn1\", p / \"conv2\", p / \"bn2\", with bias-free 3×3 convolutions",
    ),
    // END HIDDEN
    // BEGIN HIDDEN
    check(
        "basic_block.numerics",
        BasicBlock,
        "same output as the reference block on random weights (train and eval)",
        2.0,
        Hidden,
        BLOCK,
        "relu(bn1(conv1(x))) → bn2(conv2(·)) → + identity → relu",
    ),
    // END HIDDEN
    // BEGIN HIDDEN
    check(
        "basic_block.skip",
        BasicBlock,
        "skip connection: zero residual branch gives relu(identity)",
        2.0,
        Hidden,
        BLOCK,
        "add the identity (or downsample(x)) before the final ReLU",
    ),
    // END HIDDEN
    // BEGIN HIDDEN
    check(
        "basic_block.gradients",
        BasicBlock,
        "gradients reach the input and every parameter",
        1.0,
        Hidden,
        BLOCK,
        "use every layer you create in the forward pass; do not detach",
    ),
    // END HIDDEN
    // BEGIN HIDDEN
    check(
        "basic_block.shape_laws",
        BasicBlock,
        "shape laws over random channels, strides and sizes (proptest)",
        1.0,
        Hidden,
        BLOCK,
        "H' = ceil(H / stride), channels = out_channels",
    ),
    // END HIDDEN
    check(
        "bottleneck.shape",
        Bottleneck,
        "(2,64,32,32) → (2,256,32,32) with downsample",
        2.0,
        Public,
        BLOCK,
        "conv3 expands to planes × 4 channels",
    ),
    check(
        "bottleneck.shape_stride",
        Bottleneck,
        "(2,256,32,32) → (2,512,16,16) with stride 2",
        2.0,
        Public,
        BLOCK,
        "the stride goes on the 3×3 conv2; apply `downsample` to the identity",
    ),
    check(
        "bottleneck.outputs",
        Bottleneck,
        "right outputs on fixed weights, in training and evaluation mode",
        3.0,
        Public,
        BLOCK,
        "relu(bn1(conv1)) → relu(bn2(conv2)) → bn3(conv3) → + identity → relu; stride on conv2",
    ),
    // BEGIN HIDDEN
    check(
        "bottleneck.parameters",
        Bottleneck,
        "parameter names and shapes as in PyTorch",
        2.0,
        Hidden,
        BLOCK,
        "conv1 1×1, conv2 3×3, conv3 1×1 (× EXPANSION = 4), each with its bn, all convolutions bias-free",
    ),
    // END HIDDEN
    // BEGIN HIDDEN
    check(
        "bottleneck.numerics",
        Bottleneck,
        "same output as the reference block on random weights (train and eval)",
        2.0,
        Hidden,
        BLOCK,
        "relu(bn1(conv1)) → relu(bn2(conv2)) → bn3(conv3) → + identity → relu; stride on conv2",
    ),
    // END HIDDEN
    // BEGIN HIDDEN
    check(
        "bottleneck.skip",
        Bottleneck,
        "skip connection: zero residual branch gives relu(identity)",
        2.0,
        Hidden,
        BLOCK,
        "add the identity (or downsample(x)) before the final ReLU",
    ),
    // END HIDDEN
    // BEGIN HIDDEN
    check(
        "bottleneck.gradients",
        Bottleneck,
        "gradients reach the input and every parameter",
        1.0,
        Hidden,
        BLOCK,
        "use every layer you create in the forward pass; do not detach",
    ),
    // END HIDDEN
    // BEGIN HIDDEN
    check(
        "bottleneck.shape_laws",
        Bottleneck,
        "shape laws over random channels, strides and sizes (proptest)",
        1.0,
        Hidden,
        BLOCK,
        "H' = ceil(H / stride), channels = planes × 4",
    ),
    // END HIDDEN
    check(
        "he_init.layers",
        HeInit,
        "one finite variance per Conv2d and Linear layer",
        3.0,
        Public,
        HE_INIT,
        "keep only LayerKind::Conv2d and LayerKind::Linear events",
    ),
    // BEGIN HIDDEN
    Check {
        reported_by: Some("he_init.layers"),
        ..check(
            "he_init.order",
            HeInit,
            "the right layers, named, in forward order",
            2.0,
            Hidden,
            HE_INIT,
            "push in the hook, in the order events arrive; keep each event's name",
        )
    },
    // END HIDDEN
    // BEGIN HIDDEN
    Check {
        reported_by: Some("he_init.layers"),
        ..check(
            "he_init.values",
            HeInit,
            "variances equal the grader's measurement (eval mode)",
            5.0,
            Hidden,
            HE_INIT,
            "measure in evaluation mode (forward_t(input, false)) inside tch::no_grad",
        )
    },
    // END HIDDEN
    check(
        "training.runs",
        Training,
        "trains and reports one finite history entry per epoch",
        3.0,
        Public,
        TRAIN,
        "return one EpochStats per epoch, with finite losses and accuracies",
    ),
    Check {
        after: Some("training.runs"),
        test_split: true,
        ..check(
            "training.accuracy",
            Training,
            "test accuracy, measured by the grader, reaches the target",
            8.0,
            Public,
            MEASURE,
            "train for all config.epochs with the one-cycle schedule; evaluate in eval mode",
        )
    },
    // BEGIN HIDDEN
    Check {
        after: Some("training.runs"),
        ..check(
            "training.reported",
            Training,
            "reported accuracy matches the grader's measurement (±1 point)",
            4.0,
            Hidden,
            MEASURE,
            "report evaluate(..) on the validation split after the last epoch",
        )
    },
    // END HIDDEN
    check(
        "ablation.runs",
        Ablation,
        "three variants trained, each with a finite history",
        3.0,
        Public,
        ABLATION,
        "build each variant with `build`, train each with train_resnet18",
    ),
    // BEGIN HIDDEN
    Check {
        reported_by: Some("ablation.runs"),
        ..check(
            "ablation.variants",
            Ablation,
            "the variants are BatchNorm, no normalization, and dropout",
            3.0,
            Hidden,
            ABLATION,
            "ResNetConfig { norm: Norm::Identity, .. } and ResNetConfig { dropout: 0.1..0.3, .. }",
        )
    },
    // END HIDDEN
    // BEGIN HIDDEN
    Check {
        after: Some("ablation.runs"),
        test_split: true,
        ..check(
            "ablation.measured",
            Ablation,
            "each variant's accuracy re-measured by the grader matches its report",
            4.0,
            Hidden,
            MEASURE,
            "train each returned model; report its own validation accuracy",
        )
    },
    // END HIDDEN
];

/// The check with this id.
pub fn find(id: &str) -> Option<&'static Check> {
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
        for c in CHECKS {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(c.id.starts_with(&format!("{}.", c.exercise.id())), "{} is not under {}", c.id, c.exercise.id());
        }
    }

    // BEGIN HIDDEN
    #[test]
    fn points_add_up_to_each_exercise_and_every_check_has_a_hint_and_a_limit() {
        for exercise in Exercise::ALL {
            let total: f64 = CHECKS.iter().filter(|c| c.exercise == exercise).map(|c| c.points).sum();
            assert_eq!(total, exercise.points(), "{exercise:?}");
        }
        for c in CHECKS {
            assert!(!c.hint.is_empty() && !c.title.is_empty() && c.points > 0.0, "{}", c.id);
            assert!(c.limit.seconds.iter().all(|&s| s > 0), "{}", c.id);
        }
    }
    // END HIDDEN
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

    // BEGIN HIDDEN
    #[test]
    fn only_checks_that_run_no_student_code_read_the_test_split() {
        let readers: Vec<&str> = CHECKS.iter().filter(|c| c.test_split).map(|c| c.id).collect();
        assert_eq!(readers, ["training.accuracy", "ablation.measured"]);
        // Measuring checks load artifacts of an earlier check and call only the grader's code.
        assert!(CHECKS.iter().filter(|c| c.test_split).all(|c| c.after.is_some()));
    }
    // END HIDDEN
    // BEGIN HIDDEN
    #[test]
    fn exercise_files_are_the_answer_files_of_the_solution() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let student = crate::assign::generate(&root.join("solution")).unwrap();
        let answer: Vec<String> = student.answer_files.keys().map(|p| p.display().to_string()).collect();
        let mut files: Vec<String> = Exercise::ALL.iter().map(|e| e.file().to_string()).collect();
        files.sort();
        assert_eq!(answer, files);
    }
    // END HIDDEN
}
