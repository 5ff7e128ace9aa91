//! Exercise 5 — the BatchNorm / dropout ablation (10 points).
//!
//! Train the same ResNet-18 three ways and compare: with BatchNorm (the baseline), without any
//! normalization (every BatchNorm replaced by the identity), and with BatchNorm plus dropout after
//! every residual block.
#![allow(unused)] // The stubs leave names unused; delete this line once you are done.

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
    todo!("Exercise 5 — the BatchNorm / dropout ablation (src/ablation.rs)")
}
