//! Exercise 1 — `BasicBlock` (15 points).
//!
//! The two-layer residual block of ResNet-18/34 (He et al., 2015, "Deep Residual Learning for Image
//! Recognition", Fig. 2): two 3×3 convolutions, each followed by BatchNorm, with the block's input
//! added back before the last ReLU:
//!
//! ```text
//! x ─ conv1(3×3, stride) ─ bn1 ─ relu ─ conv2(3×3) ─ bn2 ─(+)─ relu ─ out
//! └──────────────── identity, or downsample(x) ────────────┘
//! ```
#![allow(unused)] // The stubs leave names unused; delete this line once you are done.

use crate::layers::{Conv2d, Downsample, Norm, Norm2d, conv3x3};
use crate::resnet::ResidualBlock;
use tch::Tensor;
use tch::nn::{self, Module, ModuleT};

/// The basic residual block (expansion 1).
#[derive(Debug)]
pub struct BasicBlock {
    // TODO: the block's layers: `conv1`, `bn1`, `conv2`, `bn2` and the optional `downsample`.
}

impl BasicBlock {
    /// Creates a block from `in_channels` to `out_channels` channels on path `p`.
    ///
    /// The stride goes on the first convolution. `downsample`, when given, maps the block's input to
    /// the output's shape for the skip connection; `norm` says which normalization to use.
    pub fn new(
        p: &nn::Path,
        in_channels: i64,
        out_channels: i64,
        stride: i64,
        downsample: Option<Downsample>,
        norm: Norm,
    ) -> Self {
        // TODO: create the layers on sub-paths named exactly as PyTorch names them, so that weights
        // can be exchanged by name (`conv1.weight`, `bn1.running_mean`, ...):
        //   conv1 = conv3x3(&(p / "conv1"), in_channels, out_channels, stride)
        //   bn1   = Norm2d::new(&(p / "bn1"), out_channels, norm)
        //   conv2 = 3×3 from out_channels to out_channels, stride 1;  bn2 likewise
        // and keep `downsample` for the forward pass.
        todo!("Exercise 1 — BasicBlock (src/basic_block.rs)")
    }
}

impl ModuleT for BasicBlock {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        // TODO: the forward pass.
        //   1. identity = x, or downsample(x) when the block has a downsample
        //   2. out = relu(bn1(conv1(x)))
        //   3. out = bn2(conv2(out))          (no ReLU yet!)
        //   4. return relu(out + identity)
        // Pass `train` to every BatchNorm (`forward_t(.., train)`) so it switches between batch
        // statistics (training) and running statistics (evaluation).
        todo!("Exercise 1 — BasicBlock (src/basic_block.rs)")
    }
}

impl ResidualBlock for BasicBlock {
    const EXPANSION: i64 = 1;

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
