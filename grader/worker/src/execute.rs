//! One request, executed against the student's crate (`assignment`).

use assignment::resnet::ResidualBlock;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};
use wire::frame::{Tensors, named, with_prefix};
use wire::net::{NetOptions, SpecNet};
use wire::{BlockKind, BlockRequest, LayerVariance, Request, Response, Variable};

type Answer = (Response, Tensors);

/// Runs `request` on `tensors`. Panics in student code propagate (the caller catches them).
pub fn execute(request: Request, tensors: &Tensors) -> Answer {
    match request {
        Request::Hello { threads } => hello(threads),
        Request::Expansion(kind) => (Response::Expansion(expansion(kind)), Vec::new()),
        Request::Block(request) => block(&request, tensors),
        Request::Variances(request) => variances(&request, tensors),
        Request::Train(request) => train(&request, tensors),
        Request::Ablation(request) => ablation(&request, tensors),
    }
}

fn hello(threads: Option<usize>) -> Answer {
    if let Some(threads) = threads {
        tch::set_num_threads(threads.clamp(1, 1024) as i32);
    }
    let hello = wire::Hello {
        cuda: tch::Cuda::is_available(),
        devices: tch::Cuda::device_count(),
        cudnn: tch::Cuda::cudnn_is_available(),
        threads: tch::get_num_threads() as i64,
        libtorch: env!("RESNET_LAB_LIBTORCH_VERSION").to_string(),
    };
    (Response::Hello(hello), Vec::new())
}

fn expansion(kind: BlockKind) -> i64 {
    match kind {
        BlockKind::Basic => <assignment::BasicBlock as ResidualBlock>::EXPANSION,
        BlockKind::Bottleneck => <assignment::BottleneckBlock as ResidualBlock>::EXPANSION,
    }
}

fn input(tensors: &Tensors, name: &str) -> Tensor {
    named(tensors, name).unwrap_or_else(|| panic!("grader-worker: the request has no tensor {name}")).shallow_clone()
}

/// The variables of `vs`, sorted by name.
fn variables(vs: &VarStore) -> Vec<Variable> {
    let trainable: Vec<Tensor> = vs.trainable_variables();
    let mut list: Vec<Variable> = vs
        .variables()
        .into_iter()
        .map(|(name, t)| Variable {
            trainable: trainable.iter().any(|v| v.data_ptr() == t.data_ptr()) && t.requires_grad(),
            shape: t.size(),
            name,
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

/// Copies `weights` into `vs` by name. A variable `weights` lacks is zeroed when it is a bias
/// (`lenient`), else it is a problem; so is a shape that differs.
fn load(vs: &VarStore, weights: &Tensors, lenient: bool) -> Result<(), String> {
    let mut targets: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    targets.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (name, mut variable) in targets {
            match named(weights, &name) {
                Some(value) if value.size() == variable.size() => variable.copy_(value),
                Some(value) => {
                    return Err(format!("{name} has shape {:?}, the reference {:?}", variable.size(), value.size()));
                }
                None if lenient && name.ends_with(".bias") => {
                    let _ = variable.zero_();
                }
                None => return Err(format!("the reference has no variable named {name}")),
            }
        }
        Ok(())
    })
}

fn block(request: &BlockRequest, tensors: &Tensors) -> Answer {
    tch::manual_seed(request.seed);
    let s = request.shape;
    let vs = VarStore::new(Device::Cpu);
    let p = vs.root();
    let norm = assignment::Norm::BatchNorm;
    let downsample = s
        .downsample
        .then(|| assignment::Downsample::new(&(&p / "downsample"), s.in_channels, s.out_channels, s.stride, norm));
    let net: Box<dyn ModuleT> = match request.block {
        BlockKind::Basic => {
            Box::new(assignment::BasicBlock::new(&p, s.in_channels, s.planes, s.stride, downsample, norm))
        }
        BlockKind::Bottleneck => {
            Box::new(assignment::BottleneckBlock::new(&p, s.in_channels, s.planes, s.stride, downsample, norm))
        }
    };
    let mut response = wire::BlockResponse { variables: variables(&vs), load_problem: None };
    if request.load_weights
        && let Err(problem) = load(&vs, &with_prefix(tensors, "weights."), true)
    {
        response.load_problem = Some(problem);
        return (Response::Block(response), Vec::new());
    }
    tch::no_grad(|| {
        for (name, mut t) in vs.variables() {
            if request.zero_names.contains(&name) || request.zero_suffixes.iter().any(|s| name.ends_with(s.as_str())) {
                let _ = t.zero_();
            }
        }
    });
    let mut out = Vec::new();
    if !request.modes.is_empty() {
        let x = input(tensors, "input");
        for (i, &train) in request.modes.iter().enumerate() {
            out.push((format!("output.{i}"), net.forward_t(&x, train).detach()));
        }
    }
    if request.gradients {
        let x = input(tensors, "input").detach().copy().set_requires_grad(true);
        let y = net.forward_t(&x, true);
        (&y * Tensor::randn_like(&y)).sum(Kind::Float).backward();
        let grad = x.grad();
        if grad.defined() {
            out.push(("grad.input".to_string(), grad));
        }
        for (name, t) in vs.variables() {
            let grad = t.grad();
            if grad.defined() {
                out.push((format!("grad.{name}"), grad));
            }
        }
    }
    (Response::Block(response), out)
}

fn variances(request: &wire::VariancesRequest, tensors: &Tensors) -> Answer {
    let vs = VarStore::new(Device::Cpu);
    let net: Box<dyn ModuleT> = match request.network {
        wire::VarianceNetwork::Simple { depth, width } => {
            // The judge sends the weights; the initialization here is only overwritten.
            Box::new(assignment::simple::simple_net(&vs.root(), depth, width, assignment::simple::Init::He))
        }
        wire::VarianceNetwork::Plain { blocks, base_width } => {
            let config = assignment::ResNetConfig { base_width, ..Default::default() };
            Box::new(assignment::plain_net(&vs.root(), blocks, &config))
        }
    };
    if request.load_weights {
        load(&vs, &with_prefix(tensors, "weights."), false).expect("the provided network has the judge's variables");
    }
    let x = input(tensors, "input");
    let list = assignment::layer_output_variances(&*net, &x)
        .into_iter()
        .map(|l| LayerVariance { name: l.name, kind: format!("{:?}", l.kind), variance: l.variance })
        .collect();
    (Response::Variances(list), Vec::new())
}

/// Counts the examples a network sees in evaluation mode.
#[derive(Debug)]
struct ModeSpy {
    inner: Box<dyn ModuleT>,
    evaluated: Arc<AtomicI64>,
}

impl ModuleT for ModeSpy {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        if !train {
            self.evaluated.fetch_add(xs.size().first().copied().unwrap_or(0), Ordering::Relaxed);
        }
        self.inner.forward_t(xs, train)
    }
}

fn training_data(tensors: &Tensors) -> assignment::TrainingData {
    let split = |name: &str| assignment::Dataset {
        images: input(tensors, &format!("{name}.images")),
        labels: input(tensors, &format!("{name}.labels")),
    };
    assignment::TrainingData { train: split("train"), validation: split("validation") }
}

fn train_config(value: &serde_json::Value) -> assignment::TrainConfig {
    serde_json::from_value(value.clone()).expect("grader-worker: the judge sent a TrainConfig this crate reads")
}

fn options(config: &assignment::ResNetConfig) -> NetOptions {
    NetOptions { batch_norm: config.norm == assignment::Norm::BatchNorm, dropout: config.dropout }
}

/// Every variable of `vs` on the CPU, named `<prefix><name>`.
fn weights(vs: &VarStore, prefix: &str) -> Tensors {
    vs.variables()
        .into_iter()
        .map(|(name, t)| (format!("{prefix}{name}"), t.detach().to_device(Device::Cpu).copy()))
        .collect()
}

fn train(request: &wire::TrainRequest, tensors: &Tensors) -> Answer {
    let config = train_config(&request.config);
    let data = training_data(tensors);
    tch::manual_seed(config.seed as i64);
    let vs = VarStore::new(config.device);
    let net = SpecNet::new(&vs.root(), &request.net, options(&config.model));
    load(&vs, &with_prefix(tensors, "weights."), false).expect("the judge's weights fit the judge's network");
    let evaluated = Arc::new(AtomicI64::new(0));
    let spy = ModeSpy { inner: Box::new(net), evaluated: evaluated.clone() };
    let mut model = assignment::Model { vs, net: Box::new(spy), config: config.model };
    let started = std::time::Instant::now();
    let result = assignment::train_resnet18(&mut model, &data, &config);
    let seconds = started.elapsed().as_secs_f64();
    let (report, error) = match result {
        Ok(report) => (Some(serde_json::to_value(&report).expect("a report serializes")), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let response =
        wire::TrainResponse { report, error, evaluated_examples: evaluated.load(Ordering::Relaxed), seconds };
    (Response::Train(response), weights(&model.vs, "weights."))
}

/// Two training-mode passes on one batch differ only when dropout is active.
fn dropout_active(model: &assignment::Model, device: Device) -> bool {
    tch::manual_seed(1);
    let x = Tensor::randn([4, 3, 32, 32], (Kind::Float, device));
    tch::no_grad(|| {
        let a = model.forward_t(&x, true);
        let b = model.forward_t(&x, true);
        !a.allclose(&b, 1e-6, 1e-6, false)
    })
}

fn ablation(request: &wire::AblationRequest, tensors: &Tensors) -> Answer {
    let config = train_config(&request.config);
    let data = training_data(tensors);
    let built = RefCell::new(Vec::new());
    let device = config.device;
    let build = |c: &assignment::ResNetConfig| {
        built.borrow_mut().push(serde_json::to_value(c).expect("a config serializes"));
        let vs = VarStore::new(device);
        let net = SpecNet::new(&vs.root(), &request.net, options(c));
        assignment::Model { vs, net: Box::new(net), config: *c }
    };
    let result = assignment::run_ablation(&build, &data, &config);
    let mut response = wire::AblationResponse { error: None, built: built.borrow().clone(), variants: Vec::new() };
    let mut out = Vec::new();
    match result {
        Err(e) => response.error = Some(e.to_string()),
        Ok(a) => {
            for (name, run) in [
                ("with_batch_norm", &a.with_batch_norm),
                ("without_batch_norm", &a.without_batch_norm),
                ("with_dropout", &a.with_dropout),
            ] {
                // The weights as trained, before the dropout probe's training-mode passes move
                // BatchNorm's running statistics.
                out.extend(weights(&run.model.vs, &format!("{name}.")));
                response.variants.push(wire::AblationVariant {
                    name: name.to_string(),
                    config: serde_json::to_value(run.model.config).expect("a config serializes"),
                    report: serde_json::to_value(&run.report).expect("a report serializes"),
                    dropout_active: dropout_active(&run.model, device),
                });
            }
        }
    }
    (Response::Ablation(response), out)
}
