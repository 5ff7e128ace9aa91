//! Exercise 4 — train ResNet-18 on CIFAR-10 to more than 75% test accuracy (15 points).
//!
//! You receive the network, the data and the configuration; you write the training run. The
//! grader measures the accuracy of the model you leave behind on a test split your code never sees,
//! and compares it with the accuracy you report.
#![allow(unused)] // The stubs leave names unused; delete this line once you are done.

use crate::Error;
use crate::resnet::Model;
use crate::train::{
    EpochStats, LrSchedule, evaluate, prepare_variables, seed_everything, sgd, steps_per_epoch, train_epoch,
};
use crate::train::{TrainConfig, TrainingData, TrainingReport};

/// Trains `model` in place on `data.train` as `config` says, and reports its final accuracy on
/// `data.validation` with one [`EpochStats`] per epoch.
pub fn train_resnet18(model: &mut Model, data: &TrainingData, config: &TrainConfig) -> Result<TrainingReport, Error> {
    // TODO:
    //   1. `seed_everything(config.seed)`; move both splits to `config.device`
    //      (`data.train.to_device(..)`); `prepare_variables(&model.vs, config)`.
    //   2. Build the optimizer with `sgd(&model.vs, config)?` and a one-cycle `LrSchedule` over
    //      `config.epochs * steps_per_epoch(train.len(), config.batch_size)` steps.
    //   3. For each of `config.epochs` epochs: `train_epoch(..)` (it zeroes gradients, runs the
    //      forward pass in training mode, steps the optimizer and sets the learning rate), then
    //      `evaluate(..)` on the validation split (evaluation mode), and push an `EpochStats`.
    //   4. Return a `TrainingReport` whose `accuracy` is the last epoch's validation accuracy.
    // Print progress only when `config.verbose` is set.
    todo!("Exercise 4 — train ResNet-18 on CIFAR-10 to more than 75% test accuracy (src/training.rs)")
}
