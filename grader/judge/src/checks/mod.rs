//! The implementations of the catalog's checks (`grader::catalog::CHECKS`), by id. Each asks the
//! worker for raw outputs and judges them against the reference itself.

mod ablation;
mod blocks;

use blocks::Block::{Basic, Bottleneck};
mod he_init;
mod training;

use crate::context::Context;
use grader::catalog::CheckId;
use grader::run::protocol::Outcome;

/// What a check's process reports: its own outcome, or outcomes by check id (a process that also
/// reports for checks naming it in `reported_by`).
#[derive(Debug)]
pub enum Outcomes {
    /// The outcome of the requested check.
    One(Outcome),
    /// Outcomes by check id.
    Many(Vec<(CheckId, Outcome)>),
}

impl From<Outcome> for Outcomes {
    fn from(outcome: Outcome) -> Self {
        Self::One(outcome)
    }
}

/// What a check returns, or why it stopped (the outcome to report).
pub type CheckResult = Result<Outcomes, crate::worker::Stop>;

/// A check's implementation.
pub type CheckFn = fn(&Context) -> CheckResult;

/// The implementation of check `id`: the function its process runs, or `None` for a check whose
/// result another check's process reports (its catalog row names that check in `reported_by`).
/// The match is exhaustive: a new [`CheckId`] does not compile until it is given one.
pub fn implementation(id: CheckId) -> Option<CheckFn> {
    use CheckId::*;
    let run: CheckFn = match id {
        BasicBlockShape => |c| Ok(blocks::shape_check(c, Basic, 0)?.into()),
        BasicBlockShapeDownsample => |c| Ok(blocks::shape_check(c, Basic, 1)?.into()),
        BasicBlockOutputs => |c| Ok(blocks::outputs_check(c, Basic)?.into()),
        BottleneckShape => |c| Ok(blocks::shape_check(c, Bottleneck, 0)?.into()),
        BottleneckShapeStride => |c| Ok(blocks::shape_check(c, Bottleneck, 1)?.into()),
        BottleneckOutputs => |c| Ok(blocks::outputs_check(c, Bottleneck)?.into()),
        HeInitLayers => he_init::layers,
        TrainingRuns => training::runs,
        TrainingAccuracy => training::test_accuracy,
        AblationRuns => ablation::runs,
        // BEGIN HIDDEN
        // Reported by `he_init.layers` and `ablation.runs`.
        HeInitOrder | HeInitValues | AblationVariants => return None,
        BasicBlockParameters => |c| Ok(blocks::hidden::parameters_check(c, Basic)?.into()),
        BasicBlockNumerics => |c| Ok(blocks::hidden::numerics_check(c, Basic)?.into()),
        BasicBlockSkip => |c| Ok(blocks::hidden::skip_check(c, Basic)?.into()),
        BasicBlockGradients => |c| Ok(blocks::hidden::gradients_check(c, Basic)?.into()),
        BasicBlockShapeLaws => |c| Ok(blocks::hidden::shape_laws_check(c, Basic)?.into()),
        BottleneckParameters => |c| Ok(blocks::hidden::parameters_check(c, Bottleneck)?.into()),
        BottleneckNumerics => |c| Ok(blocks::hidden::numerics_check(c, Bottleneck)?.into()),
        BottleneckSkip => |c| Ok(blocks::hidden::skip_check(c, Bottleneck)?.into()),
        BottleneckGradients => |c| Ok(blocks::hidden::gradients_check(c, Bottleneck)?.into()),
        BottleneckShapeLaws => |c| Ok(blocks::hidden::shape_laws_check(c, Bottleneck)?.into()),
        TrainingReported => training::reported,
        AblationMeasured => ablation::hidden::measured,
        // END HIDDEN
    };
    Some(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use grader::catalog::CHECKS;

    #[test]
    fn the_files_the_catalog_names_as_scoring_each_check_hold_check_functions() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for check in CHECKS.iter() {
            let file = root.join(check.implemented_in());
            let source = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(source.contains("Outcome"), "{} scores no check", file.display());
        }
    }

    #[test]
    fn a_check_has_its_own_implementation_exactly_when_no_other_check_reports_it() {
        for check in CHECKS.iter() {
            assert_eq!(implementation(check.id).is_some(), check.reported_by.is_none(), "{}", check.id);
        }
    }
}
