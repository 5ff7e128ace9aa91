//! Checks of exercise 3: the He-initialization variance check.
//!
//! The network is the crate's provided `PlainNet` (so the grade does not depend on the student's
//! blocks). The judge builds it from the reference crate, measures it with the same hooks the
//! student uses, and sends its weights and input to the worker, which builds the student crate's
//! `PlainNet` with those weights and returns what the student's function reports.

use super::{CheckResult, Outcomes};
use crate::context::{Context, measure, named_weights};
use crate::worker::Stop;
use grader::protocol::Outcome;
use measure::hooks::{LayerKind, capture_layer_outputs};
use serde_json::json;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

// BEGIN HIDDEN
/// Relative tolerance on variances (covers biased vs unbiased estimators).
const TOLERANCE: f64 = 5e-3;
// END HIDDEN

#[derive(Debug, Clone, PartialEq)]
struct Measured {
    name: String,
    /// `Conv2d`, `BatchNorm2d`, `Linear` (the crate's `LayerKind`, debug-printed).
    kind: String,
    variance: f64,
}

impl Measured {
    fn is(&self, kind: LayerKind) -> bool {
        self.kind == format!("{kind:?}")
    }

    /// A weight layer (what the exercise keeps).
    fn is_weight_layer(&self) -> bool {
        self.is(LayerKind::Conv2d) || self.is(LayerKind::Linear)
    }
}

/// The plain network's shape: blocks per stage and base width.
const BLOCKS: [usize; 4] = [1, 1, 1, 1];
const BASE_WIDTH: i64 = 16;

fn network(ctx: &Context) -> (VarStore, Box<dyn ModuleT>, Tensor) {
    tch::manual_seed(ctx.request.seed as i64 + 300);
    let vs = VarStore::new(Device::Cpu);
    let config = measure::ResNetConfig { base_width: BASE_WIDTH, ..Default::default() };
    let net = measure::plain_net(&vs.root(), BLOCKS, &config);
    let x = Tensor::randn([64, 3, 32, 32], (Kind::Float, Device::Cpu));
    (vs, Box::new(net), x)
}

fn grader_measurement(net: &dyn ModuleT, x: &Tensor, train: bool) -> Vec<Measured> {
    let (_, outputs) = capture_layer_outputs(|| tch::no_grad(|| net.forward_t(x, train)));
    outputs
        .into_iter()
        .filter(|o| matches!(o.kind, LayerKind::Conv2d | LayerKind::Linear))
        .map(|o| Measured {
            variance: o.output.var(true).double_value(&[]),
            name: o.name,
            kind: format!("{:?}", o.kind),
        })
        .collect()
}

/// The grader's eval-mode and train-mode measurements, and the student's result.
struct Measurements {
    expected: Vec<Measured>,
    in_train_mode: Vec<Measured>,
    student: Vec<Measured>,
}

fn measurements(ctx: &Context) -> Result<Measurements, Stop> {
    let (vs, net, x) = network(ctx);
    let mut tensors = named_weights(&vs, "weights.");
    tensors.push(("input".to_string(), x.shallow_clone()));
    let expected = grader_measurement(&*net, &x, false);
    let (_vs_train, net_train, x_train) = network(ctx);
    let in_train_mode = grader_measurement(&*net_train, &x_train, true);
    let request =
        wire::Request::Variances(wire::VariancesRequest { blocks: BLOCKS, base_width: BASE_WIDTH, load_weights: true });
    let student = match ctx.ask(&request, &tensors)? {
        (wire::Response::Variances(list), _) => {
            list.into_iter().map(|l| Measured { name: l.name, kind: l.kind, variance: l.variance }).collect()
        }
        (other, _) => return Err(ctx.unexpected("variances", &other)),
    };
    Ok(Measurements { expected, in_train_mode, student })
}

fn as_json(list: &[Measured]) -> serde_json::Value {
    json!(list.iter().map(|m| json!({"name": m.name, "kind": m.kind, "variance": m.variance})).collect::<Vec<_>>())
}

// BEGIN HIDDEN
fn names(list: &[Measured]) -> String {
    let shown: Vec<&str> = list.iter().take(4).map(|m| m.name.as_str()).collect();
    format!("{}{}", shown.join(", "), if list.len() > 4 { ", …" } else { "" })
}
// END HIDDEN

fn details(expected: &[Measured], student: &[Measured]) -> serde_json::Value {
    json!({"expected": as_json(expected), "student": as_json(student)})
}

/// The student's function runs once, in one process, for all three He-init checks (a crash or a
/// loop in it would hit each of them alike): the public layer-set check reports, and the hidden
/// ones report beside it.
pub fn layers(ctx: &Context) -> CheckResult {
    let Measurements { expected, in_train_mode, student } = measurements(ctx)?;
    let details = details(&expected, &student);
    let layers = layers_outcome(&expected, &student).with_details(details.clone());
    // BEGIN HIDDEN
    let outcomes = vec![
        ("he_init.layers", layers),
        ("he_init.order", order_outcome(&expected, &student).with_details(details.clone())),
        ("he_init.values", values_outcome(&expected, &in_train_mode, &student).with_details(details)),
    ];
    // END HIDDEN
    // HANDOUT: let _ = in_train_mode;
    // HANDOUT: let outcomes = vec![("he_init.layers", layers)];
    Ok(Outcomes::Many(outcomes))
}

/// Public: one finite, positive variance per Conv2d and Linear layer, and nothing else.
fn layers_outcome(expected: &[Measured], student: &[Measured]) -> Outcome {
    if student.is_empty() {
        Outcome::fail("returned no layers: register the hook before running the model, and run the model once")
    } else if let Some(bn) = student.iter().find(|m| !m.is_weight_layer()) {
        Outcome::fail(format!("includes {} outputs ({}): keep only Conv2d and Linear layers", bn.kind, bn.name))
    } else if student.len() != expected.len() {
        Outcome::fail(format!(
            "returned {} layers; the network has {} Conv2d and Linear layers",
            student.len(),
            expected.len()
        ))
    } else if let Some(bad) = student.iter().find(|m| !m.variance.is_finite() || m.variance <= 0.0) {
        Outcome::fail(format!("the variance of {} is {}: expected a finite positive number", bad.name, bad.variance))
    } else {
        Outcome::pass(format!("{} layers, each with a finite variance", student.len()))
    }
}

// BEGIN HIDDEN
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
// END HIDDEN
