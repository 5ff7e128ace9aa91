//! Exercise 4 — train ResNet-18 on CIFAR-10 to more than 75% test accuracy (15 points).
//!
//! You receive the network, the data and the configuration; you write the training run. The
//! grader measures the accuracy of the model you leave behind on a test split your code never sees,
//! and compares it with the accuracy you report.

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
    // BEGIN SOLUTION
    seed_everything(config.seed);
    let train = data.train.to_device(config.device);
    let validation = data.validation.to_device(config.device);
    prepare_variables(&model.vs, config);
    let mut optimizer = sgd(&model.vs, config)?;
    let steps = steps_per_epoch(train.len(), config.batch_size);
    let schedule = LrSchedule::one_cycle(config.peak_learning_rate, config.warmup_fraction, steps * config.epochs);
    let mut history = Vec::with_capacity(config.epochs);
    for epoch in 0..config.epochs {
        let started = std::time::Instant::now();
        let result = train_epoch(&*model.net, &mut optimizer, &train, config, &schedule, epoch * steps);
        let validation_accuracy = evaluate(&*model.net, &validation, config);
        let stats = EpochStats {
            epoch: epoch + 1,
            train_loss: result.loss,
            train_accuracy: result.accuracy,
            validation_accuracy,
            learning_rate: schedule.at((epoch + 1) * steps - 1),
            seconds: started.elapsed().as_secs_f64(),
        };
        if config.verbose {
            eprintln!(
                "epoch {:>2}  loss {:.3}  train {:5.1}%  validation {:5.1}%  ({:.1} s)",
                stats.epoch, stats.train_loss, stats.train_accuracy, stats.validation_accuracy, stats.seconds
            );
        }
        history.push(stats);
    }
    let accuracy = history.last().map_or(0.0, |s| s.validation_accuracy);
    Ok(TrainingReport { accuracy, history })
    // END SOLUTION
}
