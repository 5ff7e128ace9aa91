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
// BEGIN SOLUTION NO PROMPT
#[cfg(test)]
mod tests {
    use super::*;
    use crate::ResNetConfig;
    use crate::data::synthetic;

    fn tiny() -> (TrainingData, TrainConfig) {
        let data = TrainingData { train: synthetic::generate(128, 1), validation: synthetic::generate(64, 2) };
        let config = TrainConfig {
            epochs: 1,
            batch_size: 64,
            device: tch::Device::Cpu,
            model: ResNetConfig { base_width: 4, ..Default::default() },
            ..Default::default()
        };
        (data, config)
    }

    #[test]
    fn the_degradation_demo_trains_three_networks_and_plots_them() {
        let (data, config) = tiny();
        let (histories, svg) = degradation(&data, &config).unwrap();
        assert_eq!(histories.iter().map(|(n, _)| *n).collect::<Vec<_>>(), ["plain-18", "plain-34", "resnet-34"]);
        assert!(histories.iter().all(|(_, h)| h.len() == 1 && h[0].train_loss.is_finite()));
        assert!(svg.contains("plain-34") && svg.contains("resnet-34"));
    }

    #[test]
    fn the_landscape_demo_slices_both_deep_networks() {
        let (data, config) = tiny();
        let (slices, svg) = landscape(&data, &config, 32).unwrap();
        assert_eq!(slices.len(), 2);
        for (name, slice) in &slices {
            assert_eq!(slice.len(), 21, "{name}");
            // α = 0 is the trained point: the lowest loss of the slice, up to noise.
            let at_zero = slice[10].1;
            assert!(
                slice.iter().all(|(_, l)| l.is_finite()) && at_zero <= slice[0].1.max(slice[20].1),
                "{name}: {slice:?}"
            );
        }
        assert!(svg.contains("loss along a random direction"));
    }
}
// END SOLUTION
