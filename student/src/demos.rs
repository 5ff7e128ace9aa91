//! The notebook's two demonstrations, shared by the `demo` example and its test:
//!
//! - the degradation problem: a shallow and a deep plain network (no skip connections) and a
//!   ResNet as deep as the deep one, trained the same way — the deep plain net trains *worse* than
//!   the shallow one, the ResNet does not;
//! - the 1-D loss landscape along a random filter-normalized direction through the trained weights
//!   of the deep plain net and of the ResNet.

use crate::landscape::{linspace, loss_slice};
use crate::plots::{loss_landscape, training_curves};
use crate::{BasicBlock, EpochStats, Error, Model, TrainConfig, TrainingData, plain_net, resnet};

/// The networks compared: name, blocks per stage, residual or plain.
pub const NETWORKS: [(&str, [usize; 4], bool); 3] =
    [("plain-18", [2, 2, 2, 2], false), ("plain-34", [3, 4, 6, 3], false), ("resnet-34", [3, 4, 6, 3], true)];

/// Each network's name and per-epoch history.
pub type Histories = Vec<(&'static str, Vec<EpochStats>)>;

/// Each network's name and `(alpha, loss)` slice.
pub type Slices = Vec<(&'static str, Vec<(f64, f64)>)>;

/// A fresh plain net or ResNet with `blocks` per stage.
pub fn network(blocks: [usize; 4], residual: bool, config: &TrainConfig) -> Model {
    let vs = tch::nn::VarStore::new(config.device);
    let net: Box<dyn tch::nn::ModuleT> = if residual {
        Box::new(resnet::ResNet::<BasicBlock>::new(&vs.root(), blocks, &config.model))
    } else {
        Box::new(plain_net(&vs.root(), blocks, &config.model))
    };
    Model { vs, net, config: config.model }
}

/// Trains every network of [`NETWORKS`] and returns their histories and the SVG of their curves.
pub fn degradation(data: &TrainingData, config: &TrainConfig) -> Result<(Histories, String), Error> {
    let mut histories = Vec::new();
    for (name, blocks, residual) in NETWORKS {
        let mut model = network(blocks, residual, config);
        histories.push((name, crate::train_resnet18(&mut model, data, config)?.history));
    }
    let series: Vec<(&str, &[EpochStats])> = histories.iter().map(|(n, h)| (*n, h.as_slice())).collect();
    let svg = training_curves(&series, 75.0)?;
    Ok((histories, svg))
}

/// Trains the deep plain net and the ResNet, then slices their loss on `points` validation
/// examples along a random direction (α from -1 to 1); returns the slices and their SVG.
pub fn landscape(data: &TrainingData, config: &TrainConfig, points: i64) -> Result<(Slices, String), Error> {
    let batch = data.validation.to_device(config.device).slice(0, points.min(data.validation.len()));
    let mut slices = Vec::new();
    for (name, blocks, residual) in NETWORKS.into_iter().filter(|(name, _, _)| *name != "plain-18") {
        let mut model = network(blocks, residual, config);
        crate::train_resnet18(&mut model, data, config)?;
        let alphas = linspace(-1.0, 1.0, 21);
        slices.push((name, loss_slice(&*model.net, &model.vs, &batch.images, &batch.labels, config, &alphas, 7)));
    }
    let series: Vec<(&str, &[(f64, f64)])> = slices.iter().map(|(n, s)| (*n, s.as_slice())).collect();
    let svg = loss_landscape(&series)?;
    Ok((slices, svg))
}

// The demos need a working BasicBlock: their tests stay out of the student crate.
