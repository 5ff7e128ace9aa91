//! Training and evaluation (given in the notebook): the configuration, one epoch of SGD, accuracy,
//! the learning-rate schedule and the reports the exercises return.
//!
//! The fast path for GPUs lives here so that every caller gets it: the data sits on the device as
//! `uint8` and is cropped, flipped and normalized per batch there; fp16 autocast (BatchNorm stays in
//! fp32); NHWC ("channels last") layout; Nesterov SGD with a warmup-then-linear-decay ("one-cycle")
//! schedule and label smoothing; evaluation in large batches. On a CPU the same code runs in fp32.

use crate::Error;
use crate::augment::{normalize, random_crop_flip, to_channels_last};
use crate::data::Dataset;
use crate::optim::{Sgd, SgdConfig};
use crate::resnet::ResNetConfig;
use tch::nn::{self, ModuleT};
use tch::{Device, Kind, Reduction, Tensor};

/// Everything a training run may use besides the data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Examples per SGD step.
    pub batch_size: i64,
    /// The learning rate at the top of the one-cycle schedule.
    pub peak_learning_rate: f64,
    /// Fraction of all steps spent warming up linearly to the peak.
    pub warmup_fraction: f64,
    /// SGD momentum (Nesterov).
    pub momentum: f64,
    /// L2 weight decay.
    pub weight_decay: f64,
    /// Label smoothing of the cross-entropy loss.
    pub label_smoothing: f64,
    /// Clip the gradient norm to this value (`None`: no clipping).
    pub grad_clip: Option<f64>,
    /// Random crop (padding 4) and horizontal flip of training batches.
    pub augment: bool,
    /// fp16 autocast (CUDA only; ignored on a CPU).
    pub mixed_precision: bool,
    /// NHWC layout for inputs and convolution weights (CUDA only; ignored on a CPU).
    pub channels_last: bool,
    /// Examples per batch when evaluating.
    pub eval_batch_size: i64,
    /// Where to train.
    #[serde(with = "device_name")]
    pub device: Device,
    /// Seed for initialization, shuffling and augmentation.
    pub seed: u64,
    /// The network to train (the ablation derives its variants from it).
    pub model: ResNetConfig,
    /// Print one line per epoch to stderr.
    pub verbose: bool,
}

impl Default for TrainConfig {
    /// The GPU recipe: about 88% test accuracy on CIFAR-10 after 8 epochs (H100, 57k images/s; a
    /// 5-epoch schedule at a peak learning rate of 0.2 gives about 82%).
    fn default() -> Self {
        Self {
            epochs: 8,
            batch_size: 512,
            peak_learning_rate: 0.4,
            warmup_fraction: 0.2,
            momentum: 0.9,
            weight_decay: 5e-4,
            label_smoothing: 0.1,
            grad_clip: None,
            augment: true,
            mixed_precision: true,
            channels_last: true,
            eval_batch_size: 1000,
            device: Device::cuda_if_available(),
            seed: 0,
            model: ResNetConfig::default(),
            verbose: false,
        }
    }
}

impl TrainConfig {
    /// Whether autocast is on for this run.
    pub fn autocast(&self) -> bool {
        self.mixed_precision && self.device.is_cuda()
    }

    /// Whether the channels-last layout is used for this run.
    pub fn nhwc(&self) -> bool {
        self.channels_last && self.device.is_cuda()
    }
}

mod device_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use tch::Device;

    pub fn serialize<S: Serializer>(device: &Device, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&match device {
            Device::Cuda(i) => format!("cuda:{i}"),
            other => format!("{other:?}").to_lowercase(),
        })
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Device, D::Error> {
        let name = String::deserialize(d)?;
        match name.as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|i| i.parse().ok())
                .map(Device::Cuda)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown device {other:?}"))),
        }
    }
}

/// The data a training exercise receives: a training split and a validation split to report on.
/// (The grader keeps the test split to itself.)
#[derive(Debug)]
pub struct TrainingData {
    /// Examples to learn from.
    pub train: Dataset,
    /// Held-out examples to measure and report accuracy on.
    pub validation: Dataset,
}

/// What happened in one epoch.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochStats {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training loss over the epoch.
    pub train_loss: f64,
    /// Training accuracy over the epoch, in percent (augmented batches, training mode).
    pub train_accuracy: f64,
    /// Validation accuracy after the epoch, in percent.
    pub validation_accuracy: f64,
    /// Learning rate at the end of the epoch.
    pub learning_rate: f64,
    /// Wall-clock seconds the epoch took (evaluation included).
    pub seconds: f64,
}

/// What a training run reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainingReport {
    /// Final validation accuracy in percent, as measured by [`evaluate`] on `validation`.
    pub accuracy: f64,
    /// One entry per epoch, in order.
    pub history: Vec<EpochStats>,
}

/// Linear warmup to `peak`, then linear decay to zero at `total_steps`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    /// The highest learning rate.
    pub peak: f64,
    /// Steps of linear warmup.
    pub warmup_steps: usize,
    /// Steps in the whole run.
    pub total_steps: usize,
}

impl LrSchedule {
    /// A one-cycle schedule over `total_steps` that warms up for `warmup_fraction` of them.
    pub fn one_cycle(peak: f64, warmup_fraction: f64, total_steps: usize) -> Self {
        let warmup_steps = ((total_steps as f64 * warmup_fraction).round() as usize).clamp(1, total_steps.max(1));
        Self { peak, warmup_steps, total_steps }
    }

    /// The learning rate for step `step` (0-based).
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            self.peak * (step + 1) as f64 / self.warmup_steps as f64
        } else {
            let remaining = self.total_steps.saturating_sub(step) as f64;
            self.peak * remaining / (self.total_steps - self.warmup_steps).max(1) as f64
        }
    }
}

/// Seeds torch's CPU and CUDA generators.
pub fn seed_everything(seed: u64) {
    tch::manual_seed(seed as i64);
    if tch::Cuda::is_available() {
        tch::Cuda::manual_seed_all(seed);
    }
}

/// Number of SGD steps per epoch: full batches only (the examples left over are a different
/// random few each epoch), so that every step has the same shape and the GPU libraries plan each
/// kernel once. A dataset smaller than one batch is one step.
pub fn steps_per_epoch(examples: i64, batch_size: i64) -> usize {
    (examples / batch_size.max(1)).max(i64::from(examples > 0)) as usize
}

/// Nesterov SGD over every trainable variable of `vs`, configured from `config` (weight decay,
/// momentum, gradient clipping), updating all variables as one buffer (see [`crate::optim`]).
pub fn sgd(vs: &nn::VarStore, config: &TrainConfig) -> Result<Sgd, Error> {
    Sgd::new(
        vs,
        SgdConfig {
            learning_rate: config.peak_learning_rate,
            momentum: config.momentum,
            weight_decay: config.weight_decay,
            nesterov: true,
            grad_clip: config.grad_clip,
        },
    )
    .map_err(|e| Error::Training(format!("cannot build the optimizer: {e}")))
}

/// Switches the 4-D variables of `vs` to the channels-last layout when `config` asks for it.
pub fn prepare_variables(vs: &nn::VarStore, config: &TrainConfig) {
    if config.nhwc() {
        tch::no_grad(|| {
            for (_, mut var) in vs.variables() {
                if var.dim() == 4 {
                    let nhwc = to_channels_last(&var);
                    var.set_data(&nhwc);
                }
            }
        });
    }
}

/// The loss and accuracy of one epoch, and how many steps it took.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochResult {
    /// Mean loss.
    pub loss: f64,
    /// Accuracy in percent on the (augmented) training batches.
    pub accuracy: f64,
    /// SGD steps taken.
    pub steps: usize,
}

/// Prepares a batch of `uint8` images for the network: augmentation (training only),
/// normalization, layout.
pub fn prepare_batch(images: &Tensor, config: &TrainConfig, train: bool) -> Tensor {
    let images = if train && config.augment { random_crop_flip(images, 4) } else { images.shallow_clone() };
    let x = normalize(&images);
    if config.nhwc() { to_channels_last(&x) } else { x }
}

/// One epoch of SGD over `data` (already on `config.device`) in shuffled mini-batches. Sets the
/// learning rate of every step from `schedule`, counting steps from `first_step`.
pub fn train_epoch(
    net: &dyn ModuleT,
    opt: &mut Sgd,
    data: &Dataset,
    config: &TrainConfig,
    schedule: &LrSchedule,
    first_step: usize,
) -> EpochResult {
    let n = data.len();
    let device = data.images.device();
    let order = Tensor::randperm(n, (Kind::Int64, device));
    let steps = steps_per_epoch(n, config.batch_size);
    let mut loss_sum = Tensor::zeros([], (Kind::Float, device));
    let mut correct = Tensor::zeros([], (Kind::Int64, device));
    let mut seen = 0;
    for step in 0..steps {
        let start = step as i64 * config.batch_size;
        let len = config.batch_size.min(n - start);
        let index = order.narrow(0, start, len);
        let x = prepare_batch(&data.images.index_select(0, &index), config, true);
        let y = data.labels.index_select(0, &index);
        opt.set_lr(schedule.at(first_step + step));
        let (logits, loss) = tch::autocast(config.autocast(), || {
            let logits = net.forward_t(&x, true);
            let loss = logits.cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, config.label_smoothing);
            (logits, loss)
        });
        opt.zero_grad();
        loss.backward();
        opt.step();
        loss_sum += loss.detach().to_kind(Kind::Float) * len as f64;
        correct += logits.argmax(-1, false).eq_tensor(&y).sum(Kind::Int64);
        seen += len;
    }
    let seen_f = seen.max(1) as f64;
    EpochResult {
        loss: loss_sum.double_value(&[]) / seen_f,
        accuracy: 100.0 * correct.int64_value(&[]) as f64 / seen_f,
        steps,
    }
}

/// Accuracy in percent of `net` on `data` (already on the device), in evaluation mode, in batches
/// of `config.eval_batch_size`. On a GPU a last, smaller batch is padded to the full size (and the
/// padding ignored), so that evaluation runs one input shape only.
pub fn evaluate(net: &dyn ModuleT, data: &Dataset, config: &TrainConfig) -> f64 {
    let n = data.len();
    if n == 0 {
        return 0.0;
    }
    let batch_size = config.eval_batch_size.max(1);
    let pad_last = data.images.device().is_cuda();
    let correct = tch::no_grad(|| {
        let mut correct = Tensor::zeros([], (Kind::Int64, data.images.device()));
        let mut start = 0;
        while start < n {
            let len = batch_size.min(n - start);
            let mut images = data.images.narrow(0, start, len);
            if pad_last && len < batch_size {
                images = images.constant_pad_nd([0, 0, 0, 0, 0, 0, 0, batch_size - len]);
            }
            let x = prepare_batch(&images, config, false);
            let logits = tch::autocast(config.autocast(), || net.forward_t(&x, false)).narrow(0, 0, len);
            correct += logits.argmax(-1, false).eq_tensor(&data.labels.narrow(0, start, len)).sum(Kind::Int64);
            start += len;
        }
        correct.int64_value(&[])
    });
    100.0 * correct as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_cycle_warms_up_peaks_and_decays_to_zero() {
        let s = LrSchedule::one_cycle(1.0, 0.25, 8);
        let lrs: Vec<f64> = (0..8).map(|i| s.at(i)).collect();
        assert_eq!(lrs, [0.5, 1.0, 1.0, 5.0 / 6.0, 4.0 / 6.0, 3.0 / 6.0, 2.0 / 6.0, 1.0 / 6.0]);
        assert_eq!(s.at(8), 0.0);
    }

    #[test]
    fn steps_are_full_batches_and_at_least_one() {
        assert_eq!(steps_per_epoch(11, 4), 2);
        assert_eq!(steps_per_epoch(8, 4), 2);
        assert_eq!(steps_per_epoch(3, 4), 1);
        assert_eq!(steps_per_epoch(0, 4), 0);
    }

    #[test]
    fn config_round_trips_through_json_with_its_device() {
        let config = TrainConfig { device: Device::Cuda(1), ..Default::default() };
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains("\"cuda:1\""));
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), config);
    }
}
