//! The implementations of the catalog's checks (`grader::catalog::CHECKS`), by id. Each asks the
//! worker for raw outputs and judges them against the reference itself.

mod ablation;
mod blocks;

use blocks::Block::{Basic, Bottleneck};
mod he_init;
mod training;

use crate::context::Context;
use grader::protocol::Outcome;

/// What a check's process reports: its own outcome, or outcomes by check id (a process that also
/// reports for checks naming it in `reported_by`).
#[derive(Debug)]
pub enum Outcomes {
    /// The outcome of the requested check.
    One(Outcome),
    /// Outcomes by check id.
    Many(Vec<(&'static str, Outcome)>),
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

/// Every implemented check, by id.
const IMPLEMENTATIONS: &[(&str, CheckFn)] = &[
    ("basic_block.shape", |c| Ok(blocks::shape_check(c, Basic, 0)?.into())),
    ("basic_block.shape_downsample", |c| Ok(blocks::shape_check(c, Basic, 1)?.into())),
    ("basic_block.outputs", |c| Ok(blocks::outputs_check(c, Basic)?.into())),
    // BEGIN HIDDEN
    ("basic_block.parameters", |c| Ok(blocks::parameters_check(c, Basic)?.into())),
    // END HIDDEN
    // BEGIN HIDDEN
    ("basic_block.numerics", |c| Ok(blocks::numerics_check(c, Basic)?.into())),
    // END HIDDEN
    // BEGIN HIDDEN
    ("basic_block.skip", |c| Ok(blocks::skip_check(c, Basic)?.into())),
    // END HIDDEN
    // BEGIN HIDDEN
    ("basic_block.gradients", |c| Ok(blocks::gradients_check(c, Basic)?.into())),
    // END HIDDEN
    // BEGIN HIDDEN
    ("basic_block.shape_laws", |c| Ok(blocks::shape_laws_check(c, Basic)?.into())),
    // END HIDDEN
    ("bottleneck.shape", |c| Ok(blocks::shape_check(c, Bottleneck, 0)?.into())),
    ("bottleneck.shape_stride", |c| Ok(blocks::shape_check(c, Bottleneck, 1)?.into())),
    ("bottleneck.outputs", |c| Ok(blocks::outputs_check(c, Bottleneck)?.into())),
    // BEGIN HIDDEN
    ("bottleneck.parameters", |c| Ok(blocks::parameters_check(c, Bottleneck)?.into())),
    // END HIDDEN
    // BEGIN HIDDEN
    ("bottleneck.numerics", |c| Ok(blocks::numerics_check(c, Bottleneck)?.into())),
    // END HIDDEN
    // BEGIN HIDDEN
    ("bottleneck.skip", |c| Ok(blocks::skip_check(c, Bottleneck)?.into())),
    // END HIDDEN
    // BEGIN HIDDEN
    ("bottleneck.gradients", |c| Ok(blocks::gradients_check(c, Bottleneck)?.into())),
    // END HIDDEN
    // BEGIN HIDDEN
    ("bottleneck.shape_laws", |c| Ok(blocks::shape_laws_check(c, Bottleneck)?.into())),
    // END HIDDEN
    ("he_init.layers", he_init::layers),
    ("training.runs", training::runs),
    ("training.accuracy", training::test_accuracy),
    // BEGIN HIDDEN
    ("training.reported", training::reported),
    // END HIDDEN
    ("ablation.runs", ablation::runs),
    // BEGIN HIDDEN
    ("ablation.measured", ablation::measured),
    // END HIDDEN
];

/// The implementation of check `id`.
pub fn find(id: &str) -> Option<CheckFn> {
    IMPLEMENTATIONS.iter().find(|(i, _)| *i == id).map(|(_, f)| *f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use grader::catalog::CHECKS;

    #[test]
    fn every_catalog_check_is_implemented_exactly_once() {
        for check in CHECKS.iter().filter(|c| c.reported_by.is_none()) {
            assert_eq!(IMPLEMENTATIONS.iter().filter(|(id, _)| *id == check.id).count(), 1, "{}", check.id);
        }
        for (id, _) in IMPLEMENTATIONS {
            let check = grader::catalog::find(id).unwrap_or_else(|| panic!("{id} is not in the catalog"));
            assert!(check.reported_by.is_none(), "{id} is reported by another check");
        }
    }
}
