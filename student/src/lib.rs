//! # Residual Networks — the assignment crate
//!
//! Deep residual learning (He, Zhang, Ren and Sun, 2015, <https://arxiv.org/abs/1512.03385>) in Rust
//! with [tch](https://docs.rs/tch). The crate holds what the notebook gives you — layers, forward
//! hooks, the ResNet assembly, plain networks, data, training and plots — and five exercises:
//!
//! | # | exercise | file | points |
//! |---|----------|------|--------|
//! | 1 | [`BasicBlock`] | `src/basic_block.rs` | 15 |
//! | 2 | [`BottleneckBlock`] | `src/bottleneck.rs` | 15 |
//! | 3 | He-init variance check, [`layer_output_variances`] | `src/he_init.rs` | 10 |
//! | 4 | train ResNet-18 to > 75%, [`train_resnet18`] | `src/training.rs` | 15 |
//! | 5 | BatchNorm / dropout ablation, [`run_ablation`] | `src/ablation.rs` | 10 |
//!
//! Parameter names follow PyTorch's `state_dict` (`layer2.0.downsample.0.weight`), so weights move
//! between this crate and the notebook's PyTorch model as safetensors.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ablation;
pub mod basic_block;
pub mod bottleneck;
pub mod data;
pub mod demos;
pub mod error;
pub mod he_init;
pub mod hooks;
pub mod landscape;
pub mod layers;
pub mod optim;
pub mod plain;
pub mod plots;
pub mod resnet;
pub mod simple;
pub mod train;
pub mod training;

pub use ablation::{Ablation, AblationRun, run_ablation};
pub use basic_block::BasicBlock;
pub use bottleneck::BottleneckBlock;
pub use data::Dataset;
pub use data::augment;
pub use error::Error;
pub use he_init::{LayerVariance, layer_output_variances};
pub use layers::{Downsample, Norm};
pub use plain::{PlainBlock, PlainNet, plain_net};
pub use resnet::{
    Model, ModelBuilder, ResNet, ResNetConfig, ResidualBlock, parameter_count, resnet18, resnet34, resnet50,
};
pub use train::{EpochStats, TrainConfig, TrainingData, TrainingReport};
pub use training::train_resnet18;
