//! What a check works with: the profile, the device, the data splits, the judge's artifacts folder
//! and the submission's worker (started on first use, and again after it died).

use crate::worker::{Stop, Worker};
use grader::profile::{DataSource, Profile, ProfileName};
use grader::run::protocol::RunRequest;
use std::cell::RefCell;
use std::path::PathBuf;
use tch::{Device, Tensor};
use wire::frame::Tensors;
use wire::{Request, Response};

/// The crate the judge measures and compares with: the reference solution (in the student handout,
/// which has no solution, the student's own crate).
pub use ::reference as measure;

/// Seeds of the synthetic splits, offset from the run's seed.
const TRAIN_SEED: u64 = 0;
const VALIDATION_SEED: u64 = 1;
const TEST_SEED: u64 = 2;

/// The environment of one check.
pub struct Context {
    /// The request from the grader.
    pub request: RunRequest,
    /// The profile's settings.
    pub profile: Profile,
    /// Where tensors live.
    pub device: Device,
    /// The judge's artifacts folder of this grading run (never visible to the worker).
    pub scratch: PathBuf,
    worker: RefCell<Option<Worker>>,
    /// The protections the workers of this process ran under (`None`: none ran).
    pub worker_sandbox: RefCell<Option<String>>,
}

/// A split as the reference crate's type.
pub type RefData = measure::Dataset;

impl Context {
    /// Sets up the context, or says why the check cannot run here.
    pub fn new(request: &RunRequest) -> Result<Self, String> {
        let name = match request.profile.as_str() {
            "smoke" => ProfileName::Smoke,
            "full" => ProfileName::Full,
            other => return Err(format!("unknown profile {other:?}")),
        };
        let profile = name.settings();
        let device = if profile.gpu {
            if !tch::Cuda::is_available() {
                return Err("the full profile needs a CUDA GPU and none is visible to libtorch".into());
            }
            Device::Cuda(0)
        } else {
            Device::Cpu
        };
        Ok(Self {
            request: request.clone(),
            profile,
            device,
            scratch: request.scratch.clone(),
            worker: RefCell::new(None),
            worker_sandbox: RefCell::new(None),
        })
    }

    /// Asks the submission's worker (started now if none runs). A worker that died is replaced by a
    /// fresh one at the next call, so one check's crash costs the next nothing.
    pub fn ask(&self, request: &Request, tensors: &[(String, Tensor)]) -> Result<(Response, Tensors), Stop> {
        let mut slot = self.worker.borrow_mut();
        if slot.is_none() {
            let worker = Worker::start(&self.request.worker, self.request.threads)?;
            *self.worker_sandbox.borrow_mut() = Some(worker.protections());
            *slot = Some(worker);
        }
        let worker = slot.as_mut().expect("started");
        let answer = worker.call(&self.request.worker, request, tensors);
        if answer.is_err() && !worker.alive() {
            *slot = None;
        }
        answer
    }

    /// What the worker said about itself (starting it if needed).
    pub fn hello(&self) -> Result<wire::Hello, Stop> {
        if self.worker.borrow().is_none() {
            // Any request starts it; Hello again is harmless.
            self.ask(&Request::Hello { threads: self.request.threads }, &[])?;
        }
        Ok(self.worker.borrow().as_ref().expect("started").hello.clone())
    }

    /// Ends the worker after the last check of this process (see [`Worker::close`]).
    pub fn close_worker(&self) -> Result<(), Stop> {
        self.worker.borrow_mut().take().map_or(Ok(()), Worker::close)
    }

    /// An answer of the wrong kind: the worker broke the protocol.
    pub fn unexpected(&self, wanted: &str, got: &Response) -> Stop {
        let mut slot = self.worker.borrow_mut();
        let why = format!("answered a {wanted} request with {}", crate::worker::kind(got));
        let stop = match slot.as_mut() {
            Some(worker) => worker.integrity(&why),
            None => Stop::from(why),
        };
        *slot = None;
        stop
    }

    fn synthetic(&self, n: i64, offset: u64) -> RefData {
        measure::data::synthetic::generate(n, self.request.seed.wrapping_mul(1000).wrapping_add(offset))
    }

    fn cifar_dir(&self) -> Result<PathBuf, String> {
        self.request.data.clone().ok_or_else(|| "the full profile needs --data pointing at CIFAR-10".to_string())
    }

    /// Training and validation splits; `train_limit` caps the training split.
    pub fn train_and_validation(&self, train_limit: Option<i64>) -> Result<(RefData, RefData), String> {
        let (train, validation) = match self.profile.data {
            DataSource::Synthetic { train, validation, .. } => {
                (self.synthetic(train, TRAIN_SEED), self.synthetic(validation, VALIDATION_SEED))
            }
            DataSource::Cifar10 { validation } => {
                let all = measure::data::cifar::load_train(&self.cifar_dir()?).map_err(|e| e.to_string())?;
                let (train, held_out) = all.split_at(all.len() - validation);
                (train, held_out)
            }
        };
        let train = match train_limit {
            Some(limit) if limit < train.len() => train.slice(0, limit),
            _ => train,
        };
        Ok((train, validation))
    }

    /// The test split, which student code never receives.
    pub fn test(&self) -> Result<RefData, String> {
        match self.profile.data {
            DataSource::Synthetic { test, .. } => Ok(self.synthetic(test, TEST_SEED)),
            DataSource::Cifar10 { .. } => {
                measure::data::cifar::load_test(&self.cifar_dir()?).map_err(|e| e.to_string())
            }
        }
    }

    /// The training and validation splits as tensors for the worker.
    pub fn student_data(&self, train_limit: Option<i64>) -> Result<Tensors, String> {
        let (train, validation) = self.train_and_validation(train_limit)?;
        Ok(vec![
            ("train.images".into(), train.images.contiguous()),
            ("train.labels".into(), train.labels.contiguous()),
            ("validation.images".into(), validation.images.contiguous()),
            ("validation.labels".into(), validation.labels.contiguous()),
        ])
    }

    /// The reference network configuration of this profile.
    pub fn model_config(&self) -> measure::ResNetConfig {
        measure::ResNetConfig { base_width: self.profile.base_width, ..Default::default() }
    }

    /// The training configuration handed to the student's code (as the crate's serde form).
    pub fn student_train_config(&self, epochs: usize) -> measure::TrainConfig {
        let gpu = self.device.is_cuda();
        measure::TrainConfig {
            epochs,
            batch_size: self.profile.batch_size,
            peak_learning_rate: self.profile.peak_learning_rate,
            mixed_precision: gpu,
            channels_last: gpu,
            device: self.device,
            seed: self.request.seed,
            model: self.model_config(),
            verbose: false,
            ..Default::default()
        }
    }

    /// The configuration the judge evaluates with.
    pub fn reference_train_config(&self) -> measure::TrainConfig {
        let gpu = self.device.is_cuda();
        measure::TrainConfig {
            mixed_precision: gpu,
            channels_last: gpu,
            device: self.device,
            seed: self.request.seed,
            model: self.model_config(),
            ..Default::default()
        }
    }

    /// A path inside the judge's artifacts folder.
    pub fn artifact(&self, relative: &str) -> PathBuf {
        self.scratch.join(relative)
    }
}

/// The grader's ResNet-18 as data for the worker (see `wire::net`): the reference assembly's
/// layers, names and order, for `config`'s base width and class count.
pub fn resnet18_spec(config: &measure::ResNetConfig) -> wire::net::NetSpec {
    use wire::net::Layer;
    let conv = |name: String, in_channels, out_channels, kernel, stride| Layer::Conv {
        name,
        in_channels,
        out_channels,
        kernel,
        stride,
        padding: kernel / 2,
    };
    let norm = |name: String, channels| Layer::Norm { name, channels };
    let width = config.base_width;
    let mut layers = vec![conv("conv1".into(), 3, width, 3, 1), norm("bn1".into(), width), Layer::Relu];
    let mut in_channels = width;
    for stage in 0..4 {
        let planes = width << stage;
        for index in 0..2 {
            let stride = if stage > 0 && index == 0 { 2 } else { 1 };
            let name = |part: &str| format!("layer{}.{index}.{part}", stage + 1);
            let body = vec![
                conv(name("conv1"), in_channels, planes, 3, stride),
                norm(name("bn1"), planes),
                Layer::Relu,
                conv(name("conv2"), planes, planes, 3, 1),
                norm(name("bn2"), planes),
            ];
            let shortcut = if stride != 1 || in_channels != planes {
                vec![conv(name("downsample.0"), in_channels, planes, 1, stride), norm(name("downsample.1"), planes)]
            } else {
                Vec::new()
            };
            layers.extend([Layer::Residual { body, shortcut }, Layer::Relu, Layer::Dropout]);
            in_channels = planes;
        }
    }
    layers.extend([
        Layer::GlobalAvgPool,
        Layer::Linear { name: "fc".into(), in_features: in_channels, out_features: config.num_classes },
    ]);
    wire::net::NetSpec { layers }
}

/// Whether every value of `t` is finite (what a worker sends is checked before use).
pub fn all_finite(t: &Tensor) -> bool {
    t.isfinite().all().int64_value(&[]) == 1
}

/// Every variable of `vs` on the CPU, named `<prefix><name>` (what the worker loads by name).
pub fn named_weights(vs: &tch::nn::VarStore, prefix: &str) -> Tensors {
    vs.variables()
        .into_iter()
        .map(|(name, t)| (format!("{prefix}{name}"), t.detach().to_device(Device::Cpu).contiguous()))
        .collect()
}

/// Draws BatchNorm statistics and affine parameters at random (running variance and weight in
/// [0.5, 1.5), running mean and bias normal around 0), so that a BatchNorm in evaluation mode is
/// neither the identity it is at initialization nor its training mode. In name order: the draws do
/// not depend on a hash map's order, so a second build from the same seed gets the same values.
pub fn randomize_batch_norm(vs: &tch::nn::VarStore) {
    let mut variables: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        for (name, mut t) in variables {
            let one_d = t.dim() == 1;
            if name.ends_with("running_mean") || (one_d && name.ends_with(".bias")) {
                t.copy_(&(Tensor::randn_like(&t) * 0.2));
            } else if name.ends_with("running_var") || (one_d && name.ends_with(".weight")) {
                t.copy_(&(Tensor::rand_like(&t) + 0.5));
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{ModuleT, VarStore};

    /// The network the worker trains is the reference ResNet-18: same variables, same outputs.
    #[test]
    fn the_spec_network_is_the_reference_resnet18() {
        for norm in [measure::Norm::BatchNorm, measure::Norm::Identity] {
            let config = measure::ResNetConfig { base_width: 4, norm, ..Default::default() };
            tch::manual_seed(3);
            let reference_vs = VarStore::new(Device::Cpu);
            let reference = measure::resnet18(&reference_vs.root(), &config);
            let spec_vs = VarStore::new(Device::Cpu);
            let options = wire::net::NetOptions { batch_norm: norm == measure::Norm::BatchNorm, dropout: 0.0 };
            let spec = wire::net::SpecNet::new(&spec_vs.root(), &resnet18_spec(&config), options);
            let mut want: Vec<_> = reference_vs.variables().into_iter().map(|(k, v)| (k, v.size())).collect();
            let mut got: Vec<_> = spec_vs.variables().into_iter().map(|(k, v)| (k, v.size())).collect();
            want.sort();
            got.sort();
            assert_eq!(got, want);
            let weights = reference_vs.variables();
            tch::no_grad(|| {
                for (name, mut t) in spec_vs.variables() {
                    t.copy_(&weights[&name]);
                }
            });
            let x = Tensor::randn([2, 3, 32, 32], (tch::Kind::Float, Device::Cpu));
            for train in [false, true] {
                let (a, b) = (reference.forward_t(&x, train), spec.forward_t(&x, train));
                assert!(a.allclose(&b, 1e-5, 1e-5, false), "{norm:?} train={train}");
            }
        }
    }
}
