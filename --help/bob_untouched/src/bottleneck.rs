//! Exercise 2 — `BottleneckBlock` (15 points).
//!
//! The three-layer block of ResNet-50/101/152: a 1×1 convolution that reduces the channels, a 3×3
//! convolution, and a 1×1 convolution that expands them by [`BottleneckBlock::EXPANSION`] = 4. As in
//! torchvision ("ResNet v1.5"), the stride sits on the 3×3 convolution, not on the first 1×1.
//!
//! ```text
//! x ─ conv1(1×1) ─ bn1 ─ relu ─ conv2(3×3, stride) ─ bn2 ─ relu ─ conv3(1×1, ×4) ─ bn3 ─(+)─ relu
//! └───────────────────────────── identity, or downsample(x) ──────────────────────────┘
//! ```
#![allow(unused)] // The stubs leave names unused; delete this line once you are done.

use crate::layers::{Conv2d, Downsample, Norm, Norm2d, conv1x1, conv3x3};
use crate::resnet::ResidualBlock;
use tch::Tensor;
use tch::nn::{self, Module, ModuleT};

/// The bottleneck residual block (expansion 4).
#[derive(Debug)]
pub struct BottleneckBlock {
    // TODO: the block's layers: `conv1`, `bn1`, `conv2`, `bn2`, `conv3`, `bn3` and the optional
    // `downsample`.
}

impl BottleneckBlock {
    /// Output channels are `planes * EXPANSION`.
    pub const EXPANSION: i64 = 4;

    /// Creates a block that reads `in_channels` channels and writes `planes * 4`, on path `p`.
    ///
    /// The stride goes on the 3×3 convolution (`conv2`).
    pub fn new(
        p: &nn::Path,
        in_channels: i64,
        planes: i64,
        stride: i64,
        downsample: Option<Downsample>,
        norm: Norm,
    ) -> Self {
        // TODO: create, on sub-paths named as in PyTorch:
        //   conv1 = conv1x1 from in_channels to planes;              bn1 over planes
        //   conv2 = conv3x3 from planes to planes, with the stride;   bn2 over planes
        //   conv3 = conv1x1 from planes to planes * EXPANSION;        bn3 over planes * EXPANSION
        // and keep `downsample` for the forward pass.
        todo!("Exercise 2 — BottleneckBlock (src/bottleneck.rs)")
    }
}

impl ModuleT for BottleneckBlock {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        // TODO: the forward pass.
        //   1. identity = x, or downsample(x)
        //   2. out = relu(bn1(conv1(x)));  out = relu(bn2(conv2(out)));  out = bn3(conv3(out))
        //   3. return relu(out + identity)
        todo!("Exercise 2 — BottleneckBlock (src/bottleneck.rs)")
    }
}

impl ResidualBlock for BottleneckBlock {
    const EXPANSION: i64 = BottleneckBlock::EXPANSION;

    fn build(
        p: &nn::Path,
        in_channels: i64,
        planes: i64,
        stride: i64,
        downsample: Option<Downsample>,
        norm: Norm,
    ) -> Self {
        Self::new(p, in_channels, planes, stride, downsample, norm)
    }
}
