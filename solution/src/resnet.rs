//! The ResNet assembly for 32×32 CIFAR images (given in the notebook; not an exercise).
//!
//! A 3×3 stem (`conv1`, `bn1`, ReLU; no max-pool, as is usual for CIFAR), four stages `layer1`…
//! `layer4` of residual blocks with 64/128/256/512 planes (the first block of stages 2–4 halves the
//! resolution), global average pooling and the classifier `fc`. A block gets a projection shortcut
//! (`downsample`: 1×1 convolution + norm) when its stride is not 1 or it changes the channel count.
//! Parameter names match torchvision's, so weights move to and from PyTorch by name.

use crate::basic_block::BasicBlock;
use crate::bottleneck::BottleneckBlock;
use crate::layers::{Conv2d, Downsample, Linear, Norm, Norm2d, conv3x3};
use tch::nn::{self, Module, ModuleT};
use tch::{Device, Tensor};

/// What a block type must provide to be stacked into a [`ResNet`].
pub trait ResidualBlock: ModuleT + Sized + 'static {
    /// Output channels = `planes * EXPANSION` (1 for `BasicBlock`, 4 for `BottleneckBlock`).
    const EXPANSION: i64;
    /// Whether the block adds a skip connection (and so needs a `downsample` when shapes change).
    const HAS_SHORTCUT: bool = true;

    /// Builds one block on path `p` (see the block types' `new`).
    fn build(
        p: &nn::Path,
        in_channels: i64,
        planes: i64,
        stride: i64,
        downsample: Option<Downsample>,
        norm: Norm,
    ) -> Self;
}

/// The knobs of the assembly; the ablation varies `norm` and `dropout`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResNetConfig {
    /// Number of output classes (10 for CIFAR-10).
    pub num_classes: i64,
    /// Planes of the first stage; the stages use 1×, 2×, 4×, 8× this (64 → 64/128/256/512).
    pub base_width: i64,
    /// Normalization after each convolution.
    pub norm: Norm,
    /// Dropout probability applied after every block (0 = none).
    pub dropout: f64,
}

impl Default for ResNetConfig {
    fn default() -> Self {
        Self { num_classes: 10, base_width: 64, norm: Norm::BatchNorm, dropout: 0.0 }
    }
}

/// A residual network built from blocks of type `B`.
#[derive(Debug)]
pub struct ResNet<B> {
    conv1: Conv2d,
    bn1: Norm2d,
    stages: Vec<Vec<B>>,
    fc: Linear,
    dropout: f64,
}

impl<B: ResidualBlock> ResNet<B> {
    /// Builds the network on path `p` with `blocks[i]` blocks in stage `i + 1`.
    pub fn new(p: &nn::Path, blocks: [usize; 4], config: &ResNetConfig) -> Self {
        let width = config.base_width;
        let conv1 = conv3x3(&(p / "conv1"), 3, width, 1);
        let bn1 = Norm2d::new(&(p / "bn1"), width, config.norm);
        let mut in_channels = width;
        let mut stages = Vec::with_capacity(4);
        for (stage, &count) in blocks.iter().enumerate() {
            let planes = width << stage;
            let stride = if stage == 0 { 1 } else { 2 };
            let layer = p / format!("layer{}", stage + 1);
            let mut stage_blocks = Vec::with_capacity(count);
            for index in 0..count {
                let block_path = &layer / index;
                let block_stride = if index == 0 { stride } else { 1 };
                let out_channels = planes * B::EXPANSION;
                let downsample = (B::HAS_SHORTCUT && (block_stride != 1 || in_channels != out_channels)).then(|| {
                    Downsample::new(&(&block_path / "downsample"), in_channels, out_channels, block_stride, config.norm)
                });
                stage_blocks.push(B::build(&block_path, in_channels, planes, block_stride, downsample, config.norm));
                in_channels = out_channels;
            }
            stages.push(stage_blocks);
        }
        let fc = Linear::new(&(p / "fc"), in_channels, config.num_classes);
        Self { conv1, bn1, stages, fc, dropout: config.dropout }
    }
}

impl<B: ResidualBlock> ModuleT for ResNet<B> {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        let mut xs = self.bn1.forward_t(&self.conv1.forward(xs), train).relu();
        for block in self.stages.iter().flatten() {
            xs = block.forward_t(&xs, train);
            if self.dropout > 0.0 {
                xs = xs.dropout(self.dropout, train);
            }
        }
        let pooled = xs.adaptive_avg_pool2d([1, 1]).flatten(1, -1);
        self.fc.forward(&pooled)
    }
}

/// ResNet-18: `BasicBlock`s, [2, 2, 2, 2].
pub fn resnet18(p: &nn::Path, config: &ResNetConfig) -> ResNet<BasicBlock> {
    ResNet::new(p, [2, 2, 2, 2], config)
}

/// ResNet-34: `BasicBlock`s, [3, 4, 6, 3].
pub fn resnet34(p: &nn::Path, config: &ResNetConfig) -> ResNet<BasicBlock> {
    ResNet::new(p, [3, 4, 6, 3], config)
}

/// ResNet-50: `BottleneckBlock`s, [3, 4, 6, 3].
pub fn resnet50(p: &nn::Path, config: &ResNetConfig) -> ResNet<BottleneckBlock> {
    ResNet::new(p, [3, 4, 6, 3], config)
}

/// Number of trainable parameters (what `sum(p.numel() for p in model.parameters())` counts;
/// BatchNorm running statistics are buffers and not counted).
pub fn parameter_count(vs: &nn::VarStore) -> i64 {
    vs.trainable_variables().iter().map(Tensor::numel).map(|n| n as i64).sum()
}

/// A network together with the variables it owns and the configuration it was built with.
#[derive(Debug)]
pub struct Model {
    /// The variables (parameters and BatchNorm statistics), named as in PyTorch.
    pub vs: nn::VarStore,
    /// The network.
    pub net: Box<dyn ModuleT>,
    /// How the network was configured.
    pub config: ResNetConfig,
}

impl Model {
    /// A fresh ResNet-18 built from this crate's [`BasicBlock`], on `device`.
    pub fn resnet18(config: &ResNetConfig, device: Device) -> Self {
        let vs = nn::VarStore::new(device);
        let net = resnet18(&vs.root(), config);
        Self { vs, net: Box::new(net), config: *config }
    }

    /// Runs the network (`train` switches BatchNorm and dropout to training behaviour).
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        self.net.forward_t(xs, train)
    }

    /// Saves the variables as safetensors, loadable by PyTorch's `load_state_dict` (strict=False:
    /// tch keeps no `num_batches_tracked`).
    pub fn save(&self, path: &std::path::Path) -> Result<(), crate::Error> {
        self.vs.save(path).map_err(|source| crate::Error::Weights { path: path.to_path_buf(), source })
    }

    /// Loads variables saved by [`Model::save`] (or by PyTorch as safetensors) by name.
    pub fn load(&mut self, path: &std::path::Path) -> Result<(), crate::Error> {
        self.vs.load(path).map_err(|source| crate::Error::Weights { path: path.to_path_buf(), source })
    }
}

/// Builds a fresh model for a configuration: how the training and ablation exercises receive their
/// networks (the grader passes its own builder, so that it controls the architecture it measures).
pub type ModelBuilder<'a> = &'a dyn Fn(&ResNetConfig) -> Model;

// Tests that need the exercises solved stay out of the student crate.
// BEGIN SOLUTION NO PROMPT
#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    #[test]
    fn resnet18_has_the_cifar_parameter_count_and_output_shape() {
        let model = Model::resnet18(&ResNetConfig::default(), Device::Cpu);
        assert_eq!(parameter_count(&model.vs), 11_173_962);
        let x = Tensor::randn([2, 3, 32, 32], (Kind::Float, Device::Cpu));
        assert_eq!(model.forward_t(&x, false).size(), [2, 10]);
    }

    #[test]
    fn variable_names_match_torchvision() {
        let model = Model::resnet18(&ResNetConfig::default(), Device::Cpu);
        let vars = model.vs.variables();
        for name in [
            "conv1.weight",
            "bn1.running_mean",
            "layer1.0.conv2.weight",
            "layer2.0.downsample.0.weight",
            "layer4.1.bn2.bias",
            "fc.bias",
        ] {
            assert!(vars.contains_key(name), "missing {name}");
        }
        assert!(!vars.contains_key("layer1.0.downsample.0.weight"), "layer1 needs no shortcut projection");
        assert!(!vars.keys().any(|k| k.contains("__")), "a layer was created twice on one path");
    }

    #[test]
    fn identity_norm_removes_every_batchnorm_and_resnet50_expands_by_four() {
        let config = ResNetConfig { norm: Norm::Identity, base_width: 8, ..Default::default() };
        let vs = nn::VarStore::new(Device::Cpu);
        let net = resnet50(&vs.root(), &config);
        assert!(!vs.variables().keys().any(|k| k.contains("bn") || k.ends_with("downsample.1.weight")));
        assert_eq!(vs.variables()["fc.weight"].size(), [10, 8 * 8 * 4]);
        let x = Tensor::randn([2, 3, 16, 16], (Kind::Float, Device::Cpu));
        assert_eq!(net.forward_t(&x, true).size(), [2, 10]);
    }
}
// END SOLUTION
