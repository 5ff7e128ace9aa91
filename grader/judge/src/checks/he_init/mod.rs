//! Checks of exercise 3: the He-initialization variance check.
//!
//! The student's function is measured on two networks of the crate's provided code, so the grade
//! does not depend on the student's blocks: the notebook's `SimpleNet` (convolutions and ReLUs,
//! He-initialized: the initialization alone decides its variances), and a plain network with
//! BatchNorm whose statistics and affine parameters are drawn at random, so that a BatchNorm's
//! output differs from the convolution's before it, and training mode from evaluation mode. The
//! judge builds both from the reference crate, measures them with the same hooks the student uses,
//! and sends their weights and input to the worker, which builds the student crate's copies with
//! those weights and returns what the student's function reports. For the report's plot the judge
//! also measures `SimpleNet` under the naive initialization (no student code involved).

// BEGIN HIDDEN
mod hidden;
// END HIDDEN
use super::{CheckResult, Outcomes};
use crate::context::{Context, measure, named_weights, randomize_batch_norm};
use crate::worker::Stop;
use grader::catalog::CheckId;
use grader::run::protocol::Outcome;
use measure::hooks::{LayerKind, capture_layer_outputs};
use serde_json::json;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

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
/// `SimpleNet`'s depth and width.
const SIMPLE_DEPTH: usize = 8;
const SIMPLE_WIDTH: i64 = 64;

/// One network the student's function is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Network {
    Simple(measure::simple::Init),
    Plain,
}

impl Network {
    fn wire(self) -> wire::VarianceNetwork {
        match self {
            Self::Simple(_) => wire::VarianceNetwork::Simple { depth: SIMPLE_DEPTH, width: SIMPLE_WIDTH },
            Self::Plain => wire::VarianceNetwork::Plain { blocks: BLOCKS, base_width: BASE_WIDTH },
        }
    }

    /// The network, freshly initialized from the run's seed, and its input (a standardized batch).
    fn build(self, ctx: &Context) -> (VarStore, Box<dyn ModuleT>, Tensor) {
        tch::manual_seed(ctx.request.seed as i64 + 300);
        let vs = VarStore::new(Device::Cpu);
        let net: Box<dyn ModuleT> = match self {
            Self::Simple(init) => Box::new(measure::simple::simple_net(&vs.root(), SIMPLE_DEPTH, SIMPLE_WIDTH, init)),
            Self::Plain => {
                let config = measure::ResNetConfig { base_width: BASE_WIDTH, ..Default::default() };
                let net = measure::plain_net(&vs.root(), BLOCKS, &config);
                randomize_batch_norm(&vs);
                Box::new(net)
            }
        };
        // SimpleNet keeps 32×32 maps of 64 channels in every layer: half the batch costs enough.
        let batch = if matches!(self, Self::Simple(_)) { 32 } else { 64 };
        let x = Tensor::randn([batch, 3, 32, 32], (Kind::Float, Device::Cpu));
        (vs, net, x)
    }
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

/// What the grader and the student measured on one network.
struct Measurements {
    /// The grader's measurement in evaluation mode.
    expected: Vec<Measured>,
    // BEGIN HIDDEN
    /// The grader's measurement in training mode (a mistake the checks recognize).
    in_train_mode: Vec<Measured>,
    // END HIDDEN
    /// What the student's function reported.
    student: Vec<Measured>,
}

fn measurements(ctx: &Context, network: Network) -> Result<Measurements, Stop> {
    let (vs, net, x) = network.build(ctx);
    let mut tensors = named_weights(&vs, "weights.");
    tensors.push(("input".to_string(), x.shallow_clone()));
    let expected = grader_measurement(&*net, &x, false);
    // BEGIN HIDDEN
    // On a copy: training mode updates BatchNorm's running statistics, which the worker gets.
    let (_vs_train, net_train, x_train) = network.build(ctx);
    let in_train_mode = grader_measurement(&*net_train, &x_train, true);
    // END HIDDEN
    let request = wire::Request::Variances(wire::VariancesRequest { network: network.wire(), load_weights: true });
    let student = match ctx.ask(&request, &tensors)? {
        (wire::Response::Variances(list), _) => {
            list.into_iter().map(|l| Measured { name: l.name, kind: l.kind, variance: l.variance }).collect()
        }
        (other, _) => return Err(ctx.unexpected("variances", &other)),
    };
    Ok(Measurements {
        expected,
        // BEGIN HIDDEN
        in_train_mode,
        // END HIDDEN
        student,
    })
}

/// `SimpleNet` under the naive initialization, measured by the grader alone (for the plot).
fn naive(ctx: &Context) -> Vec<Measured> {
    let (_, net, x) = Network::Simple(measure::simple::Init::Naive).build(ctx);
    grader_measurement(&*net, &x, false)
}

fn as_json(list: &[Measured]) -> serde_json::Value {
    json!(list.iter().map(|m| json!({"name": m.name, "kind": m.kind, "variance": m.variance})).collect::<Vec<_>>())
}

/// What the report's plot shows: on `SimpleNet`, the grader's measurement, the student's, and the
/// naive initialization's; and both measurements on the plain network.
fn details(simple: &Measurements, naive: &[Measured], plain: &Measurements) -> serde_json::Value {
    json!({
        "network": format!("SimpleNet: {SIMPLE_DEPTH} 3×3 convolutions of {SIMPLE_WIDTH} channels with ReLU, no BatchNorm"),
        "expected": as_json(&simple.expected),
        "student": as_json(&simple.student),
        "naive": as_json(naive),
        "plain": {"expected": as_json(&plain.expected), "student": as_json(&plain.student)},
    })
}

/// The outcome of `judge` on each network: the lower-scoring one (`SimpleNet`'s on a tie), its
/// message saying which network, or the pass on both.
fn on_both(simple: &Measurements, plain: &Measurements, judge: impl Fn(&Measurements) -> Outcome) -> Outcome {
    let (on_simple, on_plain) = (judge(simple), judge(plain));
    if on_simple.score >= 1.0 && on_plain.score >= 1.0 {
        let message = format!("{} (SimpleNet, and the plain network with BatchNorm)", on_simple.message);
        Outcome { message, ..on_simple }
    } else if on_simple.score <= on_plain.score {
        Outcome { message: format!("on SimpleNet: {}", on_simple.message), ..on_simple }
    } else {
        Outcome { message: format!("on the plain network with BatchNorm: {}", on_plain.message), ..on_plain }
    }
}

/// The student's function runs once per network, in one process, for all three He-init checks (a
/// crash or a loop in it would hit each of them alike): the public layer-set check reports, and
/// the hidden ones report beside it.
pub fn layers(ctx: &Context) -> CheckResult {
    let simple = measurements(ctx, Network::Simple(measure::simple::Init::He))?;
    let plain = measurements(ctx, Network::Plain)?;
    let details = details(&simple, &naive(ctx), &plain);
    let layers = on_both(&simple, &plain, |m| layers_outcome(&m.expected, &m.student)).with_details(details.clone());
    let outcomes = std::iter::once((CheckId::HeInitLayers, layers))
        // BEGIN HIDDEN
        .chain(hidden::outcomes(&simple, &plain, &details))
        // END HIDDEN
        .collect();
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
