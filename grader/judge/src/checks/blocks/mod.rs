//! Checks of exercises 1 and 2: `BasicBlock` and `BottleneckBlock`.
//!
//! The worker builds the student's block and runs it on inputs the judge sends. The public checks
//! compare output shapes, and outputs on the public fixture's fixed weights (see [`FIXTURE`]),
//! naming the usual mistake whose outputs the student's block reproduces.

use crate::context::Context;
use crate::worker::Stop;
use grader::run::protocol::Outcome;
use std::collections::HashMap;
use tch::{Device, Kind, Tensor};
use wire::frame::{Tensors, named};
use wire::{BlockKind, BlockRequest, BlockResponse, BlockShape, Request, Response};

// BEGIN HIDDEN
pub mod hidden;
// END HIDDEN

/// Which exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block {
    /// Exercise 1.
    Basic,
    /// Exercise 2.
    Bottleneck,
}

/// One block configuration and the input it gets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Case {
    /// Input channels.
    pub in_channels: i64,
    /// Planes (output channels / expansion).
    pub planes: i64,
    /// Stride.
    pub stride: i64,
    /// Input shape.
    pub input: [i64; 4],
}

impl Block {
    fn name(self) -> &'static str {
        match self {
            Self::Basic => "BasicBlock",
            Self::Bottleneck => "BottleneckBlock",
        }
    }

    fn expansion(self) -> i64 {
        match self {
            Self::Basic => 1,
            Self::Bottleneck => 4,
        }
    }

    fn kind(self) -> BlockKind {
        match self {
            Self::Basic => BlockKind::Basic,
            Self::Bottleneck => BlockKind::Bottleneck,
        }
    }

    /// The `EXPANSION` the student's block declares.
    fn student_expansion(self, ctx: &Context) -> Result<i64, Stop> {
        match ctx.ask(&Request::Expansion(self.kind()), &[])? {
            (Response::Expansion(expansion), _) => Ok(expansion),
            (other, _) => Err(ctx.unexpected("expansion", &other)),
        }
    }

    /// The notebook's public cases: (case, expected output shape).
    pub fn public_cases(self) -> [(Case, [i64; 4]); 2] {
        match self {
            Self::Basic => [
                (Case { in_channels: 64, planes: 64, stride: 1, input: [2, 64, 32, 32] }, [2, 64, 32, 32]),
                (Case { in_channels: 64, planes: 128, stride: 2, input: [2, 64, 32, 32] }, [2, 128, 16, 16]),
            ],
            Self::Bottleneck => [
                (Case { in_channels: 64, planes: 64, stride: 1, input: [2, 64, 32, 32] }, [2, 256, 32, 32]),
                (Case { in_channels: 256, planes: 128, stride: 2, input: [2, 256, 32, 32] }, [2, 512, 16, 16]),
            ],
        }
    }

    /// The layer names PyTorch gives the block's parameters.
    fn layer_names(self) -> &'static str {
        match self {
            Self::Basic => "conv1, bn1, conv2, bn2, and downsample.0 and downsample.1 for a projection shortcut",
            Self::Bottleneck => {
                "conv1, bn1, conv2, bn2, conv3, bn3, and downsample.0 and downsample.1 for a projection shortcut"
            }
        }
    }

    fn describe(self, c: &Case) -> String {
        match self {
            Self::Basic => format!("BasicBlock({} → {}, stride {})", c.in_channels, c.planes, c.stride),
            Self::Bottleneck => format!("BottleneckBlock({} → {}×4, stride {})", c.in_channels, c.planes, c.stride),
        }
    }

    fn needs_downsample(self, c: &Case) -> bool {
        c.stride != 1 || c.in_channels != c.planes * self.expansion()
    }

    /// The worker's request for the student's block in `case`.
    fn request(self, ctx: &Context, case: &Case, salt: u64) -> BlockRequest {
        BlockRequest {
            block: self.kind(),
            shape: BlockShape {
                in_channels: case.in_channels,
                planes: case.planes,
                stride: case.stride,
                downsample: self.needs_downsample(case),
                out_channels: case.planes * self.expansion(),
            },
            seed: seed(ctx, salt),
            load_weights: false,
            zero_names: Vec::new(),
            zero_suffixes: Vec::new(),
            modes: Vec::new(),
            gradients: false,
        }
    }
}

fn shape(t: &[i64]) -> String {
    format!("({})", t.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
}

fn seed(ctx: &Context, salt: u64) -> i64 {
    (ctx.request.seed.wrapping_mul(7919).wrapping_add(salt)) as i64
}

fn seeded(ctx: &Context, salt: u64) {
    tch::manual_seed(seed(ctx, salt));
}

/// Asks the worker to run the student's block; `input` travels as the tensor `input`.
fn ask_block(
    ctx: &Context,
    request: BlockRequest,
    input: Option<&Tensor>,
    mut tensors: Tensors,
) -> Result<(BlockResponse, Tensors), Stop> {
    if let Some(x) = input {
        tensors.push(("input".to_string(), x.shallow_clone()));
    }
    match ctx.ask(&Request::Block(request), &tensors)? {
        (Response::Block(response), tensors) => Ok((response, tensors)),
        (other, _) => Err(ctx.unexpected("block", &other)),
    }
}

/// The worker's output `index` (a float tensor), or an integrity stop when it did not send one.
fn output(tensors: &Tensors, index: usize) -> Result<Tensor, Stop> {
    match named(tensors, &format!("output.{index}")) {
        Some(t) if t.kind() == Kind::Float => Ok(t.shallow_clone()),
        _ => Err(Stop::from(format!("integrity: the worker sent no float output {index} for the block"))),
    }
}

/// Public: the notebook's shape check for `index` of [`Block::public_cases`].
pub fn shape_check(ctx: &Context, block: Block, index: usize) -> Result<Outcome, Stop> {
    seeded(ctx, index as u64);
    let declared = block.student_expansion(ctx)?;
    if declared != block.expansion() {
        return Ok(Outcome::fail(format!(
            "{}'s EXPANSION is {}; it must be {}: the block's output has planes × {} channels",
            block.name(),
            declared,
            block.expansion(),
            block.expansion()
        )));
    }
    let (case, expected) = block.public_cases()[index];
    let x = Tensor::randn(case.input, (Kind::Float, Device::Cpu));
    let request = BlockRequest { modes: vec![true, false], ..block.request(ctx, &case, index as u64) };
    let (_, tensors) = ask_block(ctx, request, Some(&x), Vec::new())?;
    for (i, train) in [true, false].into_iter().enumerate() {
        let y = output(&tensors, i)?;
        if y.size() != expected {
            return Ok(Outcome::fail(format!(
                "{} maps {} to {} in {} mode; expected {}",
                block.describe(&case),
                shape(&case.input),
                shape(&y.size()),
                if train { "training" } else { "evaluation" },
                shape(&expected)
            )));
        }
    }
    Ok(Outcome::pass(format!("{} maps {} to {}", block.describe(&case), shape(&case.input), shape(&expected))))
}

/// Runs the student's block with `weights` loaded by name (see `wire::BlockRequest`).
/// `Ok(Err(outcome))`: the weights did not fit the student's variables.
fn ask_loaded(
    ctx: &Context,
    block: Block,
    weights: &HashMap<String, Tensor>,
    request: BlockRequest,
    x: &Tensor,
) -> Result<Result<Tensors, Outcome>, Stop> {
    let request = BlockRequest { load_weights: true, ..request };
    let weights = weights.iter().map(|(k, v)| (format!("weights.{k}"), v.shallow_clone())).collect();
    let (response, tensors) = ask_block(ctx, request, Some(x), weights)?;
    Ok(match response.load_problem {
        Some(problem) => Err(Outcome::fail(format!(
            "cannot load fixed weights into your {} by name ({problem}): name the layers as PyTorch does ({})",
            block.name(),
            block.layer_names()
        ))),
        None => Ok(tensors),
    })
}

fn close(a: &Tensor, b: &Tensor) -> bool {
    a.size() == b.size() && {
        let scale = 1.0 + b.abs().max().double_value(&[]);
        (a - b).abs().max().double_value(&[]) <= 1e-4 * scale
    }
}

/// A usual mistake in a residual block, which the checks name when a block's output is the one it
/// produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mistake {
    /// ReLU on the branch before the add, none after it.
    ReluBeforeAdd,
    /// A ReLU on the branch before the add, and the one after it.
    ExtraReluBeforeAdd,
    /// No ReLU after the add.
    NoFinalRelu,
    /// No skip connection.
    NoSkip,
    /// No ReLU after the first BatchNorm.
    NoInnerRelu,
    /// BatchNorm in one mode whatever `train` says.
    BatchNormFixedMode,
    /// The stride on this convolution (0-based) instead of the right one.
    StrideOn(usize),
}

impl Mistake {
    /// Every mistake a block of up to three convolutions can make.
    pub const ALL: [Mistake; 9] = [
        Self::ReluBeforeAdd,
        Self::ExtraReluBeforeAdd,
        Self::NoFinalRelu,
        Self::NoSkip,
        Self::NoInnerRelu,
        Self::BatchNormFixedMode,
        Self::StrideOn(0),
        Self::StrideOn(1),
        Self::StrideOn(2),
    ];

    /// Stable name, as in the public fixture's tensor names.
    pub fn id(self) -> String {
        match self {
            Self::ReluBeforeAdd => "relu_before_add".into(),
            Self::ExtraReluBeforeAdd => "extra_relu_before_add".into(),
            Self::NoFinalRelu => "no_final_relu".into(),
            Self::NoSkip => "no_skip".into(),
            Self::NoInnerRelu => "no_inner_relu".into(),
            Self::BatchNormFixedMode => "batch_norm_fixed_mode".into(),
            Self::StrideOn(conv) => format!("stride_on_conv{}", conv + 1),
        }
    }

    /// What the student's block does wrong, completing "your block …".
    pub fn explain(self, block: Block, train: bool) -> String {
        match self {
            Self::ReluBeforeAdd => {
                "applies ReLU before the residual add: add the identity first, then apply ReLU".into()
            }
            Self::ExtraReluBeforeAdd => {
                "applies an extra ReLU before the residual add: the last BatchNorm's output goes straight into the sum"
                    .into()
            }
            Self::NoFinalRelu => "misses the ReLU after the residual add".into(),
            Self::NoSkip => "has no skip connection: add the identity (or downsample(x)) before the final ReLU".into(),
            Self::NoInnerRelu => "misses a ReLU inside the residual branch (after bn1)".into(),
            Self::BatchNormFixedMode => format!(
                "runs BatchNorm in {} mode regardless of `train`: pass `train` to every forward_t",
                if train { "evaluation" } else { "training" }
            ),
            Self::StrideOn(0) if block == Block::Bottleneck => {
                "puts the stride on the first 1×1 conv (ResNet v1); v1.5 puts it on the 3×3 conv2".into()
            }
            Self::StrideOn(conv) => format!(
                "puts the stride on conv{}; it belongs on conv{}",
                conv + 1,
                if block == Block::Basic { 1 } else { 2 }
            ),
        }
    }
}

/// The public fixture (`grader/judge/fixtures/blocks.safetensors`): for each block, fixed weights
/// (BatchNorm statistics included), one input, the correct outputs in evaluation and training mode,
/// and the outputs of each [`Mistake`] that changes them. Values only: it says what a right block
/// computes, not how. The instructor regenerates it from the reference (`RESNET_LAB_UPDATE_FIXTURES=1
/// cargo test -p resnet-lab-judge public_fixture`); a test keeps it in step with the reference.
const FIXTURE: &[u8] = include_bytes!("../../../fixtures/blocks.safetensors");

/// One block's part of the public fixture.
struct Fixture {
    case: Case,
    weights: HashMap<String, Tensor>,
    input: Tensor,
    /// Correct outputs, evaluation mode first.
    expected: [Tensor; 2],
    /// Outputs of mistakes, evaluation mode first.
    mistakes: Vec<(Mistake, [Tensor; 2])>,
}

const MODES: [bool; 2] = [false, true];

fn mode_name(train: bool) -> &'static str {
    if train { "train" } else { "eval" }
}

impl Fixture {
    /// The name prefix of `block`'s tensors.
    fn prefix(block: Block) -> &'static str {
        match block {
            Block::Basic => "basic",
            Block::Bottleneck => "bottleneck",
        }
    }

    /// `block`'s part of `bytes` (a safetensors file).
    fn parse(bytes: &[u8], block: Block) -> Result<Fixture, String> {
        let file = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| format!("the public fixture is unreadable: {e:?}"))?;
        let prefix = format!("{}.", Self::prefix(block));
        let mut tensors = HashMap::new();
        for (name, view) in file.tensors() {
            if let Some(rest) = name.strip_prefix(&prefix) {
                let tensor = Tensor::try_from(view).map_err(|e| format!("the public fixture's {name}: {e}"))?;
                tensors.insert(rest.to_string(), tensor);
            }
        }
        let mut take =
            |name: &str| tensors.remove(name).ok_or_else(|| format!("the public fixture has no {prefix}{name}"));
        let case = take("case")?;
        let dims: Vec<i64> = Vec::try_from(&case).map_err(|e| format!("the public fixture's case: {e}"))?;
        let input = take("input")?;
        let [in_channels, planes, stride] = dims[..] else {
            return Err("the public fixture's case is not 3 numbers".into());
        };
        let size = input.size();
        let case = Case { in_channels, planes, stride, input: [size[0], size[1], size[2], size[3]] };
        let expected =
            [take(&format!("expected.{}", mode_name(false)))?, take(&format!("expected.{}", mode_name(true)))?];
        let mut mistakes = Vec::new();
        for mistake in Mistake::ALL {
            let name = |train| format!("mistake.{}.{}", mistake.id(), mode_name(train));
            if let (Some(eval), Some(train)) = (tensors.remove(&name(false)), tensors.remove(&name(true))) {
                mistakes.push((mistake, [eval, train]));
            }
        }
        let weights = tensors
            .into_iter()
            .filter_map(|(name, t)| name.strip_prefix("weights.").map(|w| (w.to_string(), t)))
            .collect();
        Ok(Fixture { case, weights, input, expected, mistakes })
    }
}

/// Public: on the fixture's fixed weights and input, the block's outputs (evaluation and training
/// mode) equal the correct ones; when they do not, names the usual mistake whose output it is.
pub fn outputs_check(ctx: &Context, block: Block) -> Result<Outcome, Stop> {
    let fixture = Fixture::parse(FIXTURE, block).map_err(Stop::from)?;
    let request = BlockRequest { modes: MODES.to_vec(), ..block.request(ctx, &fixture.case, 60) };
    let outputs = match ask_loaded(ctx, block, &fixture.weights, request, &fixture.input)? {
        Ok(outputs) => outputs,
        Err(outcome) => return Ok(outcome),
    };
    for (i, train) in MODES.into_iter().enumerate() {
        let got = output(&outputs, i)?;
        let expected = &fixture.expected[i];
        if close(&got, expected) {
            continue;
        }
        let what = if got.size() != expected.size() {
            format!("its output has shape {} instead of {}", shape(&got.size()), shape(&expected.size()))
        } else {
            format!(
                "its output differs from the correct one by up to {:.3}",
                (&got - expected).abs().max().double_value(&[])
            )
        };
        let why = fixture.mistakes.iter().find(|(_, outputs)| close(&got, &outputs[i])).map_or_else(
            || ": compare your forward_t with the diagram in the file's header".to_string(),
            |(mistake, _)| format!(": your block {}", mistake.explain(block, train)),
        );
        return Ok(Outcome::fail(format!(
            "{} on fixed weights, in {} mode: {what}{why}",
            block.describe(&fixture.case),
            if train { "training" } else { "evaluation" }
        )));
    }
    Ok(Outcome::pass(format!(
        "{} computes the right outputs on fixed weights, in training and evaluation mode",
        block.describe(&fixture.case)
    )))
}
