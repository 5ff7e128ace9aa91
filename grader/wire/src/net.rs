//! The network the grader trains through a student's training code: a plain list of layers sent by
//! the judge and built here, so that the training and ablation grades do not depend on the
//! student's blocks, and so that the worker's source holds no residual block (the structure arrives
//! only as data at run time).

use serde::{Deserialize, Serialize};
use tch::Tensor;
use tch::nn::{self, Module, ModuleT};

/// One layer of a [`NetSpec`]. Names are PyTorch's (`layer1.0.conv1`): the variables are
/// `<name>.weight` and so on, as in the reference network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// A bias-free 2-D convolution, Kaiming-normal (fan-out) initialized.
    Conv {
        /// Name.
        name: String,
        /// Input channels.
        in_channels: i64,
        /// Output channels.
        out_channels: i64,
        /// Kernel size.
        kernel: i64,
        /// Stride.
        stride: i64,
        /// Padding.
        padding: i64,
    },
    /// BatchNorm over `channels` (weight 1, bias 0) when the network is built with BatchNorm;
    /// nothing otherwise.
    Norm {
        /// Name.
        name: String,
        /// Channels.
        channels: i64,
    },
    /// ReLU.
    Relu,
    /// `body(x) + shortcut(x)`; an empty shortcut is `x` itself.
    Residual {
        /// The residual branch.
        body: Vec<Layer>,
        /// The shortcut.
        shortcut: Vec<Layer>,
    },
    /// Dropout with the network's probability (nothing when it is 0).
    Dropout,
    /// Global average pooling to one value per channel, flattened.
    GlobalAvgPool,
    /// A fully connected layer with bias, initialized as PyTorch's `nn.Linear`.
    Linear {
        /// Name.
        name: String,
        /// Input features.
        in_features: i64,
        /// Output features.
        out_features: i64,
    },
}

/// A network as data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetSpec {
    /// The layers, applied in order.
    pub layers: Vec<Layer>,
}

/// Choices made when a [`NetSpec`] is built (the ablation varies them).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetOptions {
    /// `Norm` layers are BatchNorm (else absent).
    pub batch_norm: bool,
    /// Dropout probability of `Dropout` layers.
    pub dropout: f64,
}

#[derive(Debug)]
enum Built {
    Conv(nn::Conv2D),
    Norm(Option<nn::BatchNorm>),
    Relu,
    Residual(Vec<Built>, Vec<Built>),
    Dropout(f64),
    GlobalAvgPool,
    Linear(nn::Linear),
}

/// A built [`NetSpec`].
#[derive(Debug)]
pub struct SpecNet {
    layers: Vec<Built>,
}

fn build_layers(root: &nn::Path, layers: &[Layer], options: NetOptions) -> Vec<Built> {
    layers.iter().map(|layer| build_layer(root, layer, options)).collect()
}

fn sub<'a>(root: &nn::Path<'a>, name: &str) -> nn::Path<'a> {
    name.split('.').fold(root.clone(), |p, part| p / part)
}

fn build_layer(root: &nn::Path, layer: &Layer, options: NetOptions) -> Built {
    match layer {
        Layer::Conv { name, in_channels, out_channels, kernel, stride, padding } => {
            let config = nn::ConvConfig {
                stride: *stride,
                padding: *padding,
                bias: false,
                ws_init: nn::Init::Kaiming {
                    dist: nn::init::NormalOrUniform::Normal,
                    fan: nn::init::FanInOut::FanOut,
                    non_linearity: nn::init::NonLinearity::ReLU,
                },
                ..Default::default()
            };
            Built::Conv(nn::conv2d(sub(root, name), *in_channels, *out_channels, *kernel, config))
        }
        Layer::Norm { name, channels } => Built::Norm(options.batch_norm.then(|| {
            let config = nn::BatchNormConfig {
                ws_init: nn::Init::Const(1.0),
                bs_init: nn::Init::Const(0.0),
                ..Default::default()
            };
            nn::batch_norm2d(sub(root, name), *channels, config)
        })),
        Layer::Relu => Built::Relu,
        Layer::Residual { body, shortcut } => {
            // The shortcut's variables first, as the reference assembly creates them: an optimizer
            // that lays variables out in creation order then computes exactly what it does there.
            let shortcut = build_layers(root, shortcut, options);
            Built::Residual(build_layers(root, body, options), shortcut)
        }
        Layer::Dropout => Built::Dropout(options.dropout),
        Layer::GlobalAvgPool => Built::GlobalAvgPool,
        Layer::Linear { name, in_features, out_features } => {
            let bound = 1.0 / (*in_features as f64).sqrt();
            let config = nn::LinearConfig {
                ws_init: nn::Init::Uniform { lo: -bound, up: bound },
                bs_init: Some(nn::Init::Uniform { lo: -bound, up: bound }),
                bias: true,
            };
            Built::Linear(nn::linear(sub(root, name), *in_features, *out_features, config))
        }
    }
}

fn run(layers: &[Built], xs: &Tensor, train: bool) -> Tensor {
    layers.iter().fold(xs.shallow_clone(), |h, layer| match layer {
        Built::Conv(conv) => conv.forward(&h),
        Built::Norm(Some(bn)) => bn.forward_t(&h, train),
        Built::Norm(None) => h,
        Built::Relu => h.relu(),
        Built::Residual(body, shortcut) => run(body, &h, train) + run(shortcut, &h, train),
        Built::Dropout(p) if *p > 0.0 => h.dropout(*p, train),
        Built::Dropout(_) => h,
        Built::GlobalAvgPool => h.adaptive_avg_pool2d([1, 1]).flatten(1, -1),
        Built::Linear(linear) => linear.forward(&h),
    })
}

impl SpecNet {
    /// Builds `spec` on `root` with `options`.
    pub fn new(root: &nn::Path, spec: &NetSpec, options: NetOptions) -> Self {
        Self { layers: build_layers(root, &spec.layers, options) }
    }
}

impl ModuleT for SpecNet {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        run(&self.layers, xs, train)
    }
}
