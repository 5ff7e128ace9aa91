//! The hidden He-init checks (instructors only; the handout leaves this file out): the right
//! layers in forward order, and the variances themselves.

use super::{Measured, Measurements, on_both};
use crate::context::measure;
use grader::catalog::CheckId;
use grader::run::protocol::Outcome;
use measure::hooks::LayerKind;

/// Relative tolerance on variances (covers biased vs unbiased estimators).
const TOLERANCE: f64 = 5e-3;

fn names(list: &[Measured]) -> String {
    let shown: Vec<&str> = list.iter().take(4).map(|m| m.name.as_str()).collect();
    format!("{}{}", shown.join(", "), if list.len() > 4 { ", …" } else { "" })
}

/// `he_init.order` and `he_init.values`, reported by `he_init.layers`'s process.
pub(super) fn outcomes(
    simple: &Measurements,
    plain: &Measurements,
    details: &serde_json::Value,
) -> [(CheckId, Outcome); 2] {
    [
        (
            CheckId::HeInitOrder,
            on_both(simple, plain, |m| order_outcome(&m.expected, &m.student)).with_details(details.clone()),
        ),
        (
            CheckId::HeInitValues,
            on_both(simple, plain, |m| values_outcome(&m.expected, &m.in_train_mode, &m.student))
                .with_details(details.clone()),
        ),
    ]
}

/// Hidden: exactly the grader's layers, with their names, in forward order.
fn order_outcome(expected: &[Measured], student: &[Measured]) -> Outcome {
    let key = |m: &Measured| (m.name.clone(), m.kind.clone());
    let (want, got): (Vec<_>, Vec<_>) = (expected.iter().map(key).collect(), student.iter().map(key).collect());
    if want == got {
        Outcome::pass("the right layers, named, in forward order")
    } else {
        let (mut w, mut g) = (want.clone(), got.clone());
        w.sort();
        g.sort();
        if w == g {
            Outcome::fail(format!(
                "the right layers in the wrong order: report them in forward order ({} first)",
                names(expected)
            ))
        } else if let Some(missing) = expected.iter().find(|m| !got.contains(&key(m))) {
            let kind = if missing.is(LayerKind::Linear) { "the Linear layer" } else { "the Conv2d layer" };
            Outcome::fail(format!(
                "{kind} `{}` is missing (expected {}; got {})",
                missing.name,
                names(expected),
                names(student)
            ))
        } else {
            Outcome::fail(format!("unexpected layers: expected {}; got {}", names(expected), names(student)))
        }
    }
}

fn agree(a: f64, b: f64) -> bool {
    (a - b).abs() <= TOLERANCE * b.abs().max(1e-12)
}

/// Hidden: the variances equal the grader's evaluation-mode measurement.
fn values_outcome(expected: &[Measured], in_train_mode: &[Measured], student: &[Measured]) -> Outcome {
    let lookup = |list: &[Measured], name: &str| list.iter().find(|m| m.name == name).map(|m| m.variance);
    let matched = expected.iter().filter(|e| lookup(student, &e.name).is_some_and(|v| agree(v, e.variance))).count();
    // Only the required layers' values count here: extra or missing layers lose points in the
    // layer-set and order checks.
    if matched == expected.len() {
        Outcome::pass("every variance equals the grader's measurement")
    } else if !student.is_empty()
        && student.iter().all(|s| lookup(in_train_mode, &s.name).is_some_and(|v| agree(s.variance, v)))
        // Only where training mode changes the variances (not on a network without BatchNorm).
        && student.iter().any(|s| lookup(expected, &s.name).is_some_and(|v| !agree(s.variance, v)))
    {
        Outcome::fail("the variances are those of training mode: run the model with forward_t(input, false)")
    } else {
        let first = expected
            .iter()
            .find(|e| !lookup(student, &e.name).is_some_and(|v| agree(v, e.variance)))
            .expect("a mismatch");
        let got = lookup(student, &first.name).map_or("nothing".to_string(), |v| format!("{v:.4}"));
        Outcome::partial(
            matched as f64 / expected.len().max(1) as f64,
            format!(
                "{matched} of {} variances match; {} should be {:.4}, got {got}",
                expected.len(),
                first.name,
                first.variance
            ),
        )
    }
}
