//! The public checks: they run in `make check`, and the handout has them.

use super::CheckId::*;
use super::Exercise::*;
use super::Visibility::Public;
use super::{ABLATION, BLOCK, Check, HE_INIT, MEASURE, TRAIN, check};

/// The public checks, in report order within each exercise.
pub const CHECKS: &[Check] = &[
    check(
        BasicBlockShape,
        BasicBlock,
        "(2,64,32,32) → (2,64,32,32) without downsample",
        2.0,
        Public,
        BLOCK,
        "conv1 and conv2 are 3×3 with padding 1; out_channels channels each",
    ),
    check(
        BasicBlockShapeDownsample,
        BasicBlock,
        "(2,64,32,32) → (2,128,16,16) with stride 2 and downsample",
        2.0,
        Public,
        BLOCK,
        "the stride goes on conv1; apply `downsample` to the identity",
    ),
    check(
        BasicBlockOutputs,
        BasicBlock,
        "right outputs on fixed weights, in training and evaluation mode",
        3.0,
        Public,
        BLOCK,
        "relu(bn1(conv1(x))) → bn2(conv2(·)) → + identity (or downsample(x)) → relu; pass `train` to every BatchNorm",
    ),
    check(
        BottleneckShape,
        Bottleneck,
        "(2,64,32,32) → (2,256,32,32) with downsample",
        2.0,
        Public,
        BLOCK,
        "conv3 expands to planes × 4 channels",
    ),
    check(
        BottleneckShapeStride,
        Bottleneck,
        "(2,256,32,32) → (2,512,16,16) with stride 2",
        2.0,
        Public,
        BLOCK,
        "the stride goes on the 3×3 conv2; apply `downsample` to the identity",
    ),
    check(
        BottleneckOutputs,
        Bottleneck,
        "right outputs on fixed weights, in training and evaluation mode",
        3.0,
        Public,
        BLOCK,
        "relu(bn1(conv1)) → relu(bn2(conv2)) → bn3(conv3) → + identity → relu; stride on conv2",
    ),
    check(
        HeInitLayers,
        HeInit,
        "one finite variance per Conv2d and Linear layer",
        3.0,
        Public,
        HE_INIT,
        "keep only LayerKind::Conv2d and LayerKind::Linear events",
    ),
    check(
        TrainingRuns,
        Training,
        "trains and reports one finite history entry per epoch",
        3.0,
        Public,
        TRAIN,
        "return one EpochStats per epoch, with finite losses and accuracies",
    ),
    Check {
        after: Some(TrainingRuns),
        test_split: true,
        ..check(
            TrainingAccuracy,
            Training,
            "test accuracy, measured by the grader, reaches the target",
            8.0,
            Public,
            MEASURE,
            "train for all config.epochs with the one-cycle schedule; evaluate in eval mode",
        )
    },
    check(
        AblationRuns,
        Ablation,
        "three variants trained, each with a finite history",
        3.0,
        Public,
        ABLATION,
        "build each variant with `build`, train each with train_resnet18",
    ),
];
