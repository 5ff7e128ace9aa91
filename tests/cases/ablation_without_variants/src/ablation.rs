//! Exercise 5 — the BatchNorm / dropout ablation (10 points).
//!
//! Train the same ResNet-18 three ways and compare: with BatchNorm (the baseline), without any
//! normalization (every BatchNorm replaced by the identity), and with BatchNorm plus dropout after
//! every residual block.

use crate::Error;
use crate::layers::Norm;
use crate::resnet::{Model, ModelBuilder};
use crate::train::{TrainConfig, TrainingData, TrainingReport};
use crate::training::train_resnet18;

/// One trained variant: the model and what its training reported.
#[derive(Debug)]
pub struct AblationRun {
    /// The trained model (the grader measures it again).
    pub model: Model,
    /// What training reported.
    pub report: TrainingReport,
}

/// The three variants.
#[derive(Debug)]
pub struct Ablation {
    /// `config.model` as given (BatchNorm, no dropout).
    pub with_batch_norm: AblationRun,
    /// The same network with `norm: Norm::Identity`.
    pub without_batch_norm: AblationRun,
    /// The same network with BatchNorm and `dropout` > 0 after every block.
    pub with_dropout: AblationRun,
}

/// Builds each variant with `build`, trains it with your `train_resnet18`, and returns all three.
pub fn run_ablation(build: ModelBuilder<'_>, data: &TrainingData, config: &TrainConfig) -> Result<Ablation, Error> {
    // TODO:
    //   1. Derive three `ResNetConfig`s from `config.model`: unchanged; `norm: Norm::Identity`; and
    //      `dropout` between 0.1 and 0.3 (keep BatchNorm). Use struct update syntax:
    //      `ResNetConfig { norm: Norm::Identity, ..config.model }`.
    //   2. For each, build a fresh model (`build(&variant)`) and train it with `train_resnet18`.
    //      Without BatchNorm the same learning rate usually diverges: lower it (e.g. 10×) and clip
    //      the gradient norm (`grad_clip`) in a copy of `config` for that run.
    //   3. Return the three trained models with their reports.
    let run = |model_config, train_config: &TrainConfig| -> Result<AblationRun, Error> {
        let mut model: Model = build(&model_config);
        let report = train_resnet18(&mut model, data, train_config)?;
        Ok(AblationRun { model, report })
    };
    let without_bn_config =
        TrainConfig { peak_learning_rate: config.peak_learning_rate / 10.0, grad_clip: Some(1.0), ..config.clone() };
    Ok(Ablation {
        with_batch_norm: run(config.model, config)?,
        without_batch_norm: run(config.model, config)?,
        with_dropout: run(config.model, config)?,
    })
}
