//! What a check works with: the profile, the device, the data splits and the scratch folder, and
//! conversions between the assignment crate's types and the reference crate's.

use grader::profile::{DataSource, Profile, ProfileName};
use grader::protocol::RunRequest;
use std::path::PathBuf;
use tch::Device;

// BEGIN HIDDEN
/// The crate whose provided code measures trained models. The grader measures with the reference
/// solution, so that a student's blocks do not change the grade of their training; the student
/// handout (public checks only) measures with the student's own crate.
pub use ::reference as measure;
// END HIDDEN
// HANDOUT: pub use ::assignment as measure;

/// Seeds of the synthetic splits, offset from the run's seed.
const TRAIN_SEED: u64 = 0;
const VALIDATION_SEED: u64 = 1;
const TEST_SEED: u64 = 2;

/// The environment of one check.
#[derive(Debug)]
pub struct Context {
    /// The request from the grader.
    pub request: RunRequest,
    /// The profile's settings.
    pub profile: Profile,
    /// Where tensors live.
    pub device: Device,
    /// Shared artifacts folder of this grading run.
    pub scratch: PathBuf,
}

/// A split as the reference crate's type (the grader's own measurements use it).
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
        Ok(Self { request: request.clone(), profile, device, scratch: request.scratch.clone() })
    }

    fn synthetic(&self, n: i64, offset: u64) -> RefData {
        measure::data::synthetic::generate(n, self.request.seed.wrapping_mul(1000).wrapping_add(offset))
    }

    fn cifar_dir(&self) -> Result<PathBuf, String> {
        self.request.data.clone().ok_or_else(|| "the full profile needs --data pointing at CIFAR-10".to_string())
    }

    /// Training and validation splits, as the grader's type; `train_limit` caps the training split.
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

    /// The data handed to the student's training code.
    pub fn student_data(&self, train_limit: Option<i64>) -> Result<assignment::TrainingData, String> {
        let (train, validation) = self.train_and_validation(train_limit)?;
        Ok(assignment::TrainingData { train: to_student(train), validation: to_student(validation) })
    }

    /// The reference network configuration of this profile.
    pub fn model_config(&self) -> measure::ResNetConfig {
        measure::ResNetConfig { base_width: self.profile.base_width, ..Default::default() }
    }

    /// The training configuration handed to the student's code.
    pub fn student_train_config(&self, epochs: usize) -> assignment::TrainConfig {
        let gpu = self.device.is_cuda();
        assignment::TrainConfig {
            epochs,
            batch_size: self.profile.batch_size,
            peak_learning_rate: self.profile.peak_learning_rate,
            mixed_precision: gpu,
            channels_last: gpu,
            device: self.device,
            seed: self.request.seed,
            model: student_config(&self.model_config()),
            verbose: false,
            ..Default::default()
        }
    }

    /// The same configuration as the reference crate's type (for the grader's own evaluation).
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

    /// A path inside the scratch folder.
    pub fn artifact(&self, relative: &str) -> PathBuf {
        self.scratch.join(relative)
    }
}

/// Moves a split into the assignment crate's type.
pub fn to_student(data: RefData) -> assignment::Dataset {
    assignment::Dataset { images: data.images, labels: data.labels }
}

/// The assignment crate's config for a reference config.
pub fn student_config(c: &measure::ResNetConfig) -> assignment::ResNetConfig {
    assignment::ResNetConfig {
        num_classes: c.num_classes,
        base_width: c.base_width,
        norm: match c.norm {
            measure::Norm::BatchNorm => assignment::Norm::BatchNorm,
            measure::Norm::Identity => assignment::Norm::Identity,
        },
        dropout: c.dropout,
    }
}

/// The reference crate's config for an assignment config.
pub fn reference_config(c: &assignment::ResNetConfig) -> measure::ResNetConfig {
    measure::ResNetConfig {
        num_classes: c.num_classes,
        base_width: c.base_width,
        norm: match c.norm {
            assignment::Norm::BatchNorm => measure::Norm::BatchNorm,
            assignment::Norm::Identity => measure::Norm::Identity,
        },
        dropout: c.dropout,
    }
}

/// A reference ResNet-18 wrapped as the assignment crate's `Model`: what the training and ablation
/// exercises train, so that their grade does not depend on the student's blocks.
pub fn grader_model(config: &assignment::ResNetConfig, device: Device) -> assignment::Model {
    let vs = tch::nn::VarStore::new(device);
    let net = measure::resnet18(&vs.root(), &reference_config(config));
    assignment::Model { vs, net: Box::new(net), config: *config }
}
