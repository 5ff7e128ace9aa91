//! Plain (non-residual) networks for the degradation demo (given in the notebook).
//!
//! He et al. show that a deeper *plain* network reaches a higher *training* error than a shallower
//! one: the problem residual connections solve. A [`PlainBlock`] is a [`crate::BasicBlock`] without
//! the skip connection; [`PlainNet`] stacks them exactly as [`crate::ResNet`] stacks residual blocks.

use crate::layers::{Conv2d, Downsample, Norm, Norm2d, conv3x3};
use crate::resnet::{ResNet, ResNetConfig, ResidualBlock};
use tch::Tensor;
use tch::nn::{self, Module, ModuleT};

/// Two 3×3 convolutions with BatchNorm and ReLU, and no shortcut.
#[derive(Debug)]
pub struct PlainBlock {
    conv1: Conv2d,
    bn1: Norm2d,
    conv2: Conv2d,
    bn2: Norm2d,
}

impl PlainBlock {
    /// A block from `in_channels` to `out_channels` with the stride on the first convolution.
    pub fn new(p: &nn::Path, in_channels: i64, out_channels: i64, stride: i64, norm: Norm) -> Self {
        Self {
            conv1: conv3x3(&(p / "conv1"), in_channels, out_channels, stride),
            bn1: Norm2d::new(&(p / "bn1"), out_channels, norm),
            conv2: conv3x3(&(p / "conv2"), out_channels, out_channels, 1),
            bn2: Norm2d::new(&(p / "bn2"), out_channels, norm),
        }
    }
}

impl ModuleT for PlainBlock {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let out = self.bn1.forward_t(&self.conv1.forward(xs), train).relu();
        self.bn2.forward_t(&self.conv2.forward(&out), train).relu()
    }
}

impl ResidualBlock for PlainBlock {
    const EXPANSION: i64 = 1;
    const HAS_SHORTCUT: bool = false;

    fn build(
        p: &nn::Path,
        in_channels: i64,
        planes: i64,
        stride: i64,
        _downsample: Option<Downsample>,
        norm: Norm,
    ) -> Self {
        Self::new(p, in_channels, planes, stride, norm)
    }
}

/// A plain network: the ResNet assembly with [`PlainBlock`]s.
pub type PlainNet = ResNet<PlainBlock>;

/// A plain network with `blocks[i]` blocks in stage `i + 1` (`[2, 2, 2, 2]` is "plain-18").
pub fn plain_net(p: &nn::Path, blocks: [usize; 4], config: &ResNetConfig) -> PlainNet {
    ResNet::new(p, blocks, config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn plain_nets_have_no_shortcut_parameters_and_classify() {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = plain_net(&vs.root(), [1, 1, 1, 1], &ResNetConfig { base_width: 4, ..Default::default() });
        assert!(!vs.variables().keys().any(|k| k.contains("downsample")));
        let x = Tensor::randn([3, 3, 8, 8], (Kind::Float, Device::Cpu));
        assert_eq!(net.forward_t(&x, false).size(), [3, 10]);
    }
}
