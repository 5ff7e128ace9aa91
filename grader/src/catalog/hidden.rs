//! The hidden checks: they run only when instructors grade (`--hidden`). The handout leaves this
//! file out whole; what a student sees of a hidden check is its name and, after grading, its result.

use super::CheckId::*;
use super::Exercise::*;
use super::Visibility::Hidden;
use super::{ABLATION, BLOCK, Check, HE_INIT, MEASURE, check};

/// The hidden checks, in report order within each exercise.
pub const CHECKS: &[Check] = &[
    check(
        BasicBlockParameters,
        BasicBlock,
        "parameter names and shapes as in PyTorch",
        2.0,
        Hidden,
        BLOCK,
        "create layers on p / \"conv1\", p / \"bn1\", p / \"conv2\", p / \"bn2\", with bias-free 3×3 convolutions",
    ),
    check(
        BasicBlockNumerics,
        BasicBlock,
        "same output as the reference block on random weights (train and eval)",
        2.0,
        Hidden,
        BLOCK,
        "relu(bn1(conv1(x))) → bn2(conv2(·)) → + identity → relu",
    ),
    check(
        BasicBlockSkip,
        BasicBlock,
        "skip connection: zero residual branch gives relu(identity)",
        2.0,
        Hidden,
        BLOCK,
        "add the identity (or downsample(x)) before the final ReLU",
    ),
    check(
        BasicBlockGradients,
        BasicBlock,
        "gradients reach the input and every parameter",
        1.0,
        Hidden,
        BLOCK,
        "use every layer you create in the forward pass; do not detach",
    ),
    check(
        BasicBlockShapeLaws,
        BasicBlock,
        "shape laws over random channels, strides and sizes (proptest)",
        1.0,
        Hidden,
        BLOCK,
        "H' = ceil(H / stride), channels = out_channels",
    ),
    check(
        BottleneckParameters,
        Bottleneck,
        "parameter names and shapes as in PyTorch",
        2.0,
        Hidden,
        BLOCK,
        "conv1 1×1, conv2 3×3, conv3 1×1 (× EXPANSION = 4), each with its bn, all convolutions bias-free",
    ),
    check(
        BottleneckNumerics,
        Bottleneck,
        "same output as the reference block on random weights (train and eval)",
        2.0,
        Hidden,
        BLOCK,
        "relu(bn1(conv1)) → relu(bn2(conv2)) → bn3(conv3) → + identity → relu; stride on conv2",
    ),
    check(
        BottleneckSkip,
        Bottleneck,
        "skip connection: zero residual branch gives relu(identity)",
        2.0,
        Hidden,
        BLOCK,
        "add the identity (or downsample(x)) before the final ReLU",
    ),
    check(
        BottleneckGradients,
        Bottleneck,
        "gradients reach the input and every parameter",
        1.0,
        Hidden,
        BLOCK,
        "use every layer you create in the forward pass; do not detach",
    ),
    check(
        BottleneckShapeLaws,
        Bottleneck,
        "shape laws over random channels, strides and sizes (proptest)",
        1.0,
        Hidden,
        BLOCK,
        "H' = ceil(H / stride), channels = planes × 4",
    ),
    Check {
        reported_by: Some(HeInitLayers),
        ..check(
            HeInitOrder,
            HeInit,
            "the right layers, named, in forward order",
            2.0,
            Hidden,
            HE_INIT,
            "push in the hook, in the order events arrive; keep each event's name",
        )
    },
    Check {
        reported_by: Some(HeInitLayers),
        ..check(
            HeInitValues,
            HeInit,
            "variances equal the grader's measurement (eval mode)",
            5.0,
            Hidden,
            HE_INIT,
            "measure in evaluation mode (forward_t(input, false)) inside tch::no_grad",
        )
    },
    Check {
        after: Some(TrainingRuns),
        ..check(
            TrainingReported,
            Training,
            "reported accuracy matches the grader's measurement (±1 point)",
            4.0,
            Hidden,
            MEASURE,
            "report evaluate(..) on the validation split after the last epoch",
        )
    },
    Check {
        reported_by: Some(AblationRuns),
        ..check(
            AblationVariants,
            Ablation,
            "the variants are BatchNorm, no normalization, and dropout",
            3.0,
            Hidden,
            ABLATION,
            "ResNetConfig { norm: Norm::Identity, .. } and ResNetConfig { dropout: 0.1..0.3, .. }",
        )
    },
    Check {
        after: Some(AblationRuns),
        test_split: true,
        ..check(
            AblationMeasured,
            Ablation,
            "each variant's accuracy re-measured by the grader matches its report",
            4.0,
            Hidden,
            MEASURE,
            "train each returned model; report its own validation accuracy",
        )
    },
];

/// The catalog's instructor-side tests: they name hidden checks and read instructor-only files.
#[cfg(test)]
mod tests {
    use super::super::*;
    use super::CHECKS as HIDDEN_ROWS;

    #[test]
    fn every_id_has_one_row_and_hidden_rows_are_hidden() {
        let mut ids: Vec<CheckId> = CHECKS.iter().map(|c| c.id).collect();
        ids.sort();
        assert_eq!(ids, CheckId::ALL, "each CheckId has one row");
        for row in HIDDEN_ROWS {
            assert_eq!(row.visibility, Visibility::Hidden, "{} is in hidden.rs", row.id);
        }
    }

    #[test]
    fn points_add_up_to_each_exercise_and_every_check_has_a_hint_and_a_limit() {
        for exercise in Exercise::ALL {
            let total: f64 = CHECKS.iter().filter(|c| c.exercise == exercise).map(|c| c.points).sum();
            assert_eq!(total, exercise.points(), "{exercise:?}");
        }
        for c in CHECKS.iter() {
            assert!(!c.hint.is_empty() && !c.title.is_empty() && c.points > 0.0, "{}", c.id);
            assert!(c.limit.seconds.iter().all(|&s| s > 0), "{}", c.id);
        }
    }

    #[test]
    fn only_checks_that_run_no_student_code_read_the_test_split() {
        let readers: Vec<CheckId> = CHECKS.iter().filter(|c| c.test_split).map(|c| c.id).collect();
        assert_eq!(readers, [CheckId::TrainingAccuracy, CheckId::AblationMeasured]);
        // Measuring checks load artifacts of an earlier check and call only the grader's code.
        assert!(CHECKS.iter().filter(|c| c.test_split).all(|c| c.after.is_some()));
    }
    /// The point tables of the READMEs and the crate docs, the README's totals and each answer
    /// file's header restate this catalog; they must agree with it (`grader list --hidden` prints
    /// the figures to copy).
    #[test]
    fn the_docs_state_the_catalogs_points() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
        let points = |exercise: Exercise, visibility: Option<Visibility>| -> f64 {
            CHECKS
                .iter()
                .filter(|c| c.exercise == exercise && visibility.is_none_or(|v| c.visibility == v))
                .map(|c| c.points)
                .sum()
        };
        for (doc, prefix, split) in [
            ("README.md", "", true),
            ("solution/src/lib.rs", "//! ", false),
            ("packaging/handout/README.md", "", false),
        ] {
            let text = read(doc);
            let rows: Vec<Vec<&str>> = text
                .lines()
                .filter_map(|line| line.strip_prefix(prefix))
                .map(|line| line.trim().trim_matches('|').split('|').map(str::trim).collect::<Vec<_>>())
                .filter(|cells| cells.len() >= 4 && cells[0].parse::<usize>().is_ok())
                .collect();
            assert_eq!(rows.len(), Exercise::ALL.len(), "{doc}: one table row per exercise");
            for (exercise, row) in Exercise::ALL.into_iter().zip(rows) {
                let at = format!("{doc}, exercise {}", exercise.number());
                assert_eq!(row[0], exercise.number().to_string(), "{at}");
                assert!(row[2].ends_with(&format!("{}`", exercise.file())), "{at}: file {}", row[2]);
                assert_eq!(row[3], points(exercise, None).to_string(), "{at}: points");
                if split {
                    assert_eq!(row[4], points(exercise, Some(Visibility::Public)).to_string(), "{at}: public");
                    assert_eq!(row[5], points(exercise, Some(Visibility::Hidden)).to_string(), "{at}: hidden");
                }
            }
        }
        let total: f64 = CHECKS.iter().map(|c| c.points).sum();
        let sentence = format!("{} checks, {total} points", CHECKS.len());
        assert!(read("README.md").contains(&sentence), "README.md should say {sentence:?}");
        for exercise in Exercise::ALL {
            let header = read(&format!("solution/{}", exercise.file()));
            let first = header.lines().next().unwrap_or_default();
            assert!(first.ends_with(&format!("({} points).", exercise.points())), "{}: {first}", exercise.file());
        }
    }

    #[test]
    fn exercise_files_are_the_answer_files_of_the_solution() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let student = crate::assign::generate(&root.join("solution")).unwrap();
        let answer: Vec<String> = student.answer_files.keys().map(|p| p.display().to_string()).collect();
        let mut files: Vec<String> = Exercise::ALL.iter().map(|e| e.file().to_string()).collect();
        files.sort();
        assert_eq!(answer, files);
    }
}
