//! The layers the assignment's networks are built from, named as PyTorch names them.
//!
//! Each layer remembers its full name (`layer1.0.conv1`) from the [`nn::Path`] it was created on, so
//! that the var-store holds `layer1.0.conv1.weight` exactly as PyTorch's `state_dict` does, and so
//! that [`crate::hooks`] can report its output under that name.
//!
//! Initialization follows the notebook (and torchvision's ResNet): convolutions are Kaiming-normal
//! with `mode="fan_out", nonlinearity="relu"` (He et al., 2015), BatchNorm starts at weight 1 and
//! bias 0. tch's own default (Kaiming-uniform over fan-in) is neither, so it is always set here.

use crate::hooks::{self, LayerKind};
use tch::Tensor;
use tch::nn::{self, Module, ModuleT};

/// Which normalization a network uses after each convolution (the ablation varies this).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Norm {
    /// `nn.BatchNorm2d`, as in the paper.
    #[default]
    BatchNorm,
    /// No normalization at all (`nn.Identity`): the layer has no parameters.
    Identity,
}

fn full_name(p: &nn::Path) -> String {
    p.components().collect::<Vec<_>>().join(".")
}

/// He (Kaiming) normal initialization over fan-out, for ReLU networks.
pub const KAIMING_NORMAL_FAN_OUT: nn::Init = nn::Init::Kaiming {
    dist: nn::init::NormalOrUniform::Normal,
    fan: nn::init::FanInOut::FanOut,
    non_linearity: nn::init::NonLinearity::ReLU,
};

/// A 2-D convolution without bias (BatchNorm follows it), Kaiming-normal initialized.
#[derive(Debug)]
pub struct Conv2d {
    name: String,
    inner: nn::Conv2D,
}

impl Conv2d {
    /// A `kernel`×`kernel` convolution with the given stride and padding, on path `p`.
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64, kernel: i64, stride: i64, padding: i64) -> Self {
        let config =
            nn::ConvConfig { stride, padding, bias: false, ws_init: KAIMING_NORMAL_FAN_OUT, ..Default::default() };
        Self::with_config(p, in_channels, out_channels, kernel, config)
    }

    /// A `kernel`×`kernel` convolution with any tch configuration (bias, groups, dilation, init).
    pub fn with_config(p: &nn::Path, in_channels: i64, out_channels: i64, kernel: i64, config: nn::ConvConfig) -> Self {
        Self { name: full_name(p), inner: nn::conv2d(p, in_channels, out_channels, kernel, config) }
    }

    /// The convolution's weight, shape `[out, in, k, k]`.
    pub fn weight(&self) -> &Tensor {
        &self.inner.ws
    }
}

impl Module for Conv2d {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let out = xs.apply(&self.inner);
        hooks::emit(&self.name, LayerKind::Conv2d, &out);
        out
    }
}

/// 3×3 convolution with padding 1 (the paper's `conv3x3`).
pub fn conv3x3(p: &nn::Path, in_channels: i64, out_channels: i64, stride: i64) -> Conv2d {
    Conv2d::new(p, in_channels, out_channels, 3, stride, 1)
}

/// 1×1 convolution (the paper's `conv1x1`), used by bottlenecks and downsampling shortcuts.
pub fn conv1x1(p: &nn::Path, in_channels: i64, out_channels: i64, stride: i64) -> Conv2d {
    Conv2d::new(p, in_channels, out_channels, 1, stride, 0)
}

/// A normalization layer: `BatchNorm2d` (weight 1, bias 0) or the identity, per [`Norm`].
#[derive(Debug)]
pub struct Norm2d {
    name: String,
    inner: Option<nn::BatchNorm>,
}

impl Norm2d {
    /// A normalization over `channels` channels on path `p`.
    pub fn new(p: &nn::Path, channels: i64, norm: Norm) -> Self {
        let inner = match norm {
            Norm::BatchNorm => Some(nn::batch_norm2d(
                p,
                channels,
                nn::BatchNormConfig {
                    ws_init: nn::Init::Const(1.0),
                    bs_init: nn::Init::Const(0.0),
                    ..Default::default()
                },
            )),
            Norm::Identity => None,
        };
        Self { name: full_name(p), inner }
    }
}

impl ModuleT for Norm2d {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        match &self.inner {
            Some(bn) => {
                let out = xs.apply_t(bn, train);
                hooks::emit(&self.name, LayerKind::BatchNorm2d, &out);
                out
            }
            None => xs.shallow_clone(),
        }
    }
}

/// A fully connected layer with bias, initialized as PyTorch's `nn.Linear`.
#[derive(Debug)]
pub struct Linear {
    name: String,
    inner: nn::Linear,
}

impl Linear {
    /// A linear map from `in_features` to `out_features` on path `p`.
    pub fn new(p: &nn::Path, in_features: i64, out_features: i64) -> Self {
        // PyTorch's default: weight and bias uniform in ±1/sqrt(in_features) (tch's default weight
        // init is Kaiming-uniform with a ReLU gain, 2.4× wider, which destabilizes the first steps).
        let bound = 1.0 / (in_features as f64).sqrt();
        let config = nn::LinearConfig {
            ws_init: nn::Init::Uniform { lo: -bound, up: bound },
            bs_init: Some(nn::Init::Uniform { lo: -bound, up: bound }),
            bias: true,
        };
        Self { name: full_name(p), inner: nn::linear(p, in_features, out_features, config) }
    }

    /// A linear map with the given weight and bias initializations (e.g. He's for `SimpleNet`).
    pub fn with_init(p: &nn::Path, in_features: i64, out_features: i64, weight: nn::Init, bias: nn::Init) -> Self {
        let config = nn::LinearConfig { ws_init: weight, bs_init: Some(bias), bias: true };
        Self { name: full_name(p), inner: nn::linear(p, in_features, out_features, config) }
    }
}

impl Module for Linear {
    fn forward(&self, xs: &Tensor) -> Tensor {
        let out = xs.apply(&self.inner);
        hooks::emit(&self.name, LayerKind::Linear, &out);
        out
    }
}

/// The projection shortcut `downsample = Sequential(conv1x1(stride), norm)` used when a block
/// changes the spatial size or the number of channels. Its parameters are named
/// `downsample.0.weight` and `downsample.1.*` like PyTorch's.
#[derive(Debug)]
pub struct Downsample {
    conv: Conv2d,
    norm: Norm2d,
}

impl Downsample {
    /// A shortcut from `in_channels` to `out_channels` with the given stride, on path `p`
    /// (normally `<block>.downsample`).
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64, stride: i64, norm: Norm) -> Self {
        Self {
            conv: conv1x1(&(p / "0"), in_channels, out_channels, stride),
            norm: Norm2d::new(&(p / "1"), out_channels, norm),
        }
    }
}

impl ModuleT for Downsample {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.norm.forward_t(&self.conv.forward(xs), train)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn names_follow_pytorch() {
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let _ds = Downsample::new(&(&root / "layer2" / "0" / "downsample"), 4, 8, 2, Norm::BatchNorm);
        let mut names: Vec<_> = vs.variables().into_keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "layer2.0.downsample.0.weight",
                "layer2.0.downsample.1.bias",
                "layer2.0.downsample.1.running_mean",
                "layer2.0.downsample.1.running_var",
                "layer2.0.downsample.1.weight",
            ]
        );
    }

    #[test]
    fn conv_init_is_kaiming_normal_fan_out() {
        tch::manual_seed(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let conv = conv3x3(&vs.root(), 64, 128, 1);
        let std = conv.weight().std(true).double_value(&[]);
        let expected = (2.0f64 / (128.0 * 9.0)).sqrt();
        assert!((std - expected).abs() / expected < 0.02, "std {std} vs {expected}");
    }

    #[test]
    fn batch_norm_starts_at_one_and_zero_and_identity_has_no_parameters() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _bn = Norm2d::new(&(vs.root() / "bn"), 3, Norm::BatchNorm);
        let _id = Norm2d::new(&(vs.root() / "id"), 3, Norm::Identity);
        let vars = vs.variables();
        assert_eq!(vars["bn.weight"].sum(Kind::Float).double_value(&[]), 3.0);
        assert_eq!(vars["bn.bias"].abs().sum(Kind::Float).double_value(&[]), 0.0);
        assert!(!vars.keys().any(|k| k.starts_with("id")));
    }
}
