//! The implementations of the catalog's checks (`grader::catalog::CHECKS`), by id.

mod ablation;
mod blocks;
mod he_init;
mod training;

use crate::context::Context;
use grader::protocol::Outcome;

/// What a check returns: outcomes by check id (usually its own only), or why it could not run.
pub type CheckResult = Result<Vec<(&'static str, Outcome)>, String>;

/// A check's implementation.
pub type CheckFn = fn(&Context) -> CheckResult;

/// One outcome for one check.
pub fn single(id: &'static str, outcome: Outcome) -> CheckResult {
    Ok(vec![(id, outcome)])
}

/// Every implemented check, by id.
const IMPLEMENTATIONS: &[(&str, CheckFn)] = &[
    ("basic_block.shape", blocks::basic_shape),
    ("basic_block.shape_downsample", blocks::basic_shape_downsample),
    ("basic_block.parameters", blocks::basic_parameters),
    ("basic_block.numerics", blocks::basic_numerics),
    ("basic_block.skip", blocks::basic_skip),
    ("basic_block.gradients", blocks::basic_gradients),
    ("basic_block.shape_laws", blocks::basic_shape_laws),
    ("bottleneck.shape", blocks::bottleneck_shape),
    ("bottleneck.shape_stride", blocks::bottleneck_shape_stride),
    ("bottleneck.parameters", blocks::bottleneck_parameters),
    ("bottleneck.numerics", blocks::bottleneck_numerics),
    ("bottleneck.skip", blocks::bottleneck_skip),
    ("bottleneck.gradients", blocks::bottleneck_gradients),
    ("bottleneck.shape_laws", blocks::bottleneck_shape_laws),
    ("he_init.layers", he_init::layers),
    ("he_init.order", he_init::order),
    ("he_init.values", he_init::values),
    ("training.runs", training::runs),
    ("training.accuracy", training::test_accuracy),
    ("training.reported", training::reported),
    ("ablation.runs", ablation::runs),
    ("ablation.measured", ablation::measured),
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
