//! The 1-D loss landscape: the loss along one random direction through the trained weights
//! (Li et al., 2018, "Visualizing the Loss Landscape of Neural Nets", with filter normalization).

use crate::train::{TrainConfig, prepare_batch};
use tch::nn::{self, ModuleT};
use tch::{Kind, Reduction, Tensor};

/// `(alpha, loss)` pairs: the loss of `net` on one batch at `θ + α·d` for each α in `alphas`, where
/// `d` is a random direction (drawn with `seed`) whose every filter has the norm of the matching
/// filter of θ. One-dimensional variables (BatchNorm, biases) stay fixed. The weights are restored
/// afterwards.
pub fn loss_slice(
    net: &dyn ModuleT,
    vs: &nn::VarStore,
    images: &Tensor,
    labels: &Tensor,
    config: &TrainConfig,
    alphas: &[f64],
    seed: u64,
) -> Vec<(f64, f64)> {
    tch::manual_seed(seed as i64);
    let x = prepare_batch(images, config, false);
    let mut variables: Vec<(String, Tensor)> = vs.trainable_variables_named();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    tch::no_grad(|| {
        let originals: Vec<Tensor> = variables.iter().map(|(_, v)| v.copy()).collect();
        let directions: Vec<Option<Tensor>> = variables
            .iter()
            .map(|(_, w)| {
                (w.dim() > 1).then(|| {
                    let d = Tensor::randn_like(w);
                    let dims: Vec<i64> = (1..w.dim() as i64).collect();
                    let w_norm = w.norm_scalaropt_dim(2, dims.as_slice(), true);
                    let d_norm = d.norm_scalaropt_dim(2, dims.as_slice(), true);
                    d * w_norm / (d_norm + 1e-10)
                })
            })
            .collect();
        let slice = alphas
            .iter()
            .map(|&alpha| {
                for ((_, var), (original, direction)) in variables.iter_mut().zip(originals.iter().zip(&directions)) {
                    if let Some(direction) = direction {
                        var.copy_(&(original + direction * alpha));
                    }
                }
                let logits = net.forward_t(&x, false).to_kind(Kind::Float);
                (alpha, logits.cross_entropy_loss::<Tensor>(labels, None, Reduction::Mean, -100, 0.0).double_value(&[]))
            })
            .collect();
        for ((_, var), original) in variables.iter_mut().zip(&originals) {
            var.copy_(original);
        }
        slice
    })
}

/// Evenly spaced values from `from` to `to` inclusive.
pub fn linspace(from: f64, to: f64, points: usize) -> Vec<f64> {
    let step = (to - from) / (points.max(2) - 1) as f64;
    (0..points).map(|i| from + step * i as f64).collect()
}

/// Named trainable variables, in a stable order.
trait TrainableNamed {
    fn trainable_variables_named(&self) -> Vec<(String, Tensor)>;
}

impl TrainableNamed for nn::VarStore {
    fn trainable_variables_named(&self) -> Vec<(String, Tensor)> {
        self.variables().into_iter().filter(|(_, t)| t.requires_grad()).collect()
    }
}

// Tests that need the exercises solved stay out of the student crate.
// BEGIN SOLUTION NO PROMPT
#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Model, ResNetConfig};
    use tch::Device;

    #[test]
    fn the_slice_passes_through_the_current_loss_and_restores_the_weights() {
        tch::manual_seed(0);
        let model = Model::resnet18(&ResNetConfig { base_width: 4, ..Default::default() }, Device::Cpu);
        let data = crate::data::synthetic::generate(8, 1);
        let config = TrainConfig { device: Device::Cpu, ..Default::default() };
        let before = model.vs.variables()["conv1.weight"].copy();
        let slice = loss_slice(&*model.net, &model.vs, &data.images, &data.labels, &config, &[-1.0, 0.0, 1.0], 5);
        assert!(model.vs.variables()["conv1.weight"].equal(&before));
        let x = prepare_batch(&data.images, &config, false);
        let at_zero = model.forward_t(&x, false).cross_entropy_for_logits(&data.labels).double_value(&[]);
        assert!((slice[1].1 - at_zero).abs() < 1e-4, "{slice:?} vs {at_zero}");
        assert!(slice[0].1 != slice[1].1 && slice.iter().all(|(_, l)| l.is_finite()));
    }

    #[test]
    fn linspace_includes_both_ends() {
        assert_eq!(linspace(-1.0, 1.0, 5), [-1.0, -0.5, 0.0, 0.5, 1.0]);
    }
}
// END SOLUTION
