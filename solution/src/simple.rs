//! The notebook's `SimpleNet` (given): a plain stack of 3×3 convolutions, each followed by ReLU,
//! without normalization or shortcuts, then global average pooling and a linear classifier.
//!
//! Nothing but the initialization decides how the variance of the signal changes from layer to
//! layer here (BatchNorm would rescale it; a shortcut would add to it), which makes it the network
//! on which Exercise 3 measures He initialization against a naive one.

use crate::layers::{Conv2d, Linear};
use tch::Tensor;
use tch::nn::{self, Module, ModuleT};

/// How a [`SimpleNet`]'s weights start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Init {
    /// He et al. (2015), as the notebook does it: each convolution normal with variance
    /// `2 / fan_out` (`kaiming_normal_(mode="fan_out", nonlinearity="relu")`), the classifier normal
    /// with variance `2 / fan_in`; no biases in the convolutions, zero bias in the classifier.
    He,
    /// Every weight normal with standard deviation 0.01, the "small random numbers" of older
    /// recipes; zero biases.
    Naive,
}

/// The standard deviation [`Init::Naive`] draws weights with.
pub const NAIVE_STD: f64 = 0.01;

/// `depth` convolutions of `width` channels and a classifier to 10 classes. Its layers are named
/// `conv1` … `conv{depth}` and `fc`.
#[derive(Debug)]
pub struct SimpleNet {
    convs: Vec<Conv2d>,
    fc: Linear,
}

/// Builds a [`SimpleNet`] on `p`: the first convolution maps the 3 input channels to `width`, the
/// others keep `width` (stride 1, padding 1, so 32×32 inputs stay 32×32).
pub fn simple_net(p: &nn::Path, depth: usize, width: i64, init: Init) -> SimpleNet {
    let convs = (0..depth)
        .map(|i| {
            let in_channels = if i == 0 { 3 } else { width };
            let ws_init = match init {
                Init::He => crate::layers::KAIMING_NORMAL_FAN_OUT,
                Init::Naive => nn::Init::Randn { mean: 0.0, stdev: NAIVE_STD },
            };
            let config = nn::ConvConfig { padding: 1, bias: false, ws_init, ..Default::default() };
            Conv2d::with_config(&(p / format!("conv{}", i + 1)), in_channels, width, 3, config)
        })
        .collect();
    let stdev = match init {
        Init::He => (2.0 / width as f64).sqrt(),
        Init::Naive => NAIVE_STD,
    };
    let fc = Linear::with_init(&(p / "fc"), width, 10, nn::Init::Randn { mean: 0.0, stdev }, nn::Init::Const(0.0));
    SimpleNet { convs, fc }
}

impl ModuleT for SimpleNet {
    fn forward_t(&self, xs: &Tensor, _train: bool) -> Tensor {
        let features = self.convs.iter().fold(xs.shallow_clone(), |h, conv| conv.forward(&h).relu());
        self.fc.forward(&features.mean_dim([2, 3].as_slice(), false, features.kind()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hooks::capture_layer_outputs;
    use tch::{Device, Kind};

    fn variances(init: Init) -> Vec<f64> {
        tch::manual_seed(7);
        let vs = nn::VarStore::new(Device::Cpu);
        let net = simple_net(&vs.root(), 8, 64, init);
        let x = Tensor::randn([32, 3, 32, 32], (Kind::Float, Device::Cpu));
        let (_, outputs) = capture_layer_outputs(|| tch::no_grad(|| net.forward_t(&x, false)));
        outputs.iter().map(|o| o.output.var(true).double_value(&[])).collect()
    }

    #[test]
    fn he_initialization_holds_the_variance_with_depth_and_a_naive_one_collapses_it() {
        let he = variances(Init::He);
        assert_eq!(he.len(), 9, "8 convolutions and the classifier");
        // The first convolution sets the level: fan_in / fan_out × 2 × Var(x) = 27 / 576 × 2 ≈ 0.094
        // (a little less: zero padding gives border pixels fewer inputs).
        assert!((0.06..0.12).contains(&he[0]), "{he:?}");
        // Every later one (fan-in = fan-out = 576) keeps it in expectation: 576 × 2/576 × E[relu(y)²]
        // = Var(y); a layer's gain scatters around 1, but the variance stays of the same order. (The
        // seed does not fix the draw: tests beside this one share libtorch's generator. Over 120
        // seeds the widest spread from conv1 was 4.7×, against the naive one's 10⁻⁷ below.)
        for (layer, v) in he[..8].iter().enumerate() {
            assert!((he[0] / 10.0..he[0] * 10.0).contains(v), "conv{}: {he:?}", layer + 1);
        }
        let naive = variances(Init::Naive);
        // 576 × 10⁻⁴ / 2 ≈ 0.029 per layer: seven layers later, below 10⁻⁸.
        assert!(naive[7] < 1e-8 && naive[0] < 0.01, "{naive:?}");
    }
}
