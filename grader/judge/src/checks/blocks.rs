//! Checks of exercises 1 and 2: `BasicBlock` and `BottleneckBlock`.
//!
//! The worker builds the student's block and runs it on inputs the judge sends. The public checks
//! compare output shapes, and outputs on the public fixture's fixed weights (see [`FIXTURE`]),
//! naming the usual mistake whose outputs the student's block reproduces.
// BEGIN HIDDEN
//! The judge also builds the reference block and compares on weights drawn per run, which the worker
//! loads into the student's block by name; when outputs differ, it replays them through blocks with
//! the usual mistakes and names the one the student's block reproduces.
// END HIDDEN

use crate::context::Context;
use crate::worker::Stop;
use grader::run::protocol::Outcome;
use std::collections::HashMap;
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};
use wire::frame::{Tensors, named};
use wire::{BlockKind, BlockRequest, BlockResponse, BlockShape, Request, Response};

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

    // BEGIN HIDDEN
    /// The stride sits on this convolution (0-based).
    fn stride_conv(self) -> usize {
        match self {
            Self::Basic => 0,
            Self::Bottleneck => 1,
        }
    }

    fn kernels(self) -> &'static [i64] {
        match self {
            Self::Basic => &[3, 3],
            Self::Bottleneck => &[1, 3, 1],
        }
    }
    // END HIDDEN

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

    // BEGIN HIDDEN
    /// Smaller cases for numerical comparison: one without and one with a shortcut projection.
    fn numeric_cases(self) -> [Case; 2] {
        match self {
            Self::Basic => [
                Case { in_channels: 8, planes: 8, stride: 1, input: [4, 8, 10, 10] },
                Case { in_channels: 8, planes: 16, stride: 2, input: [4, 8, 10, 10] },
            ],
            Self::Bottleneck => [
                Case { in_channels: 16, planes: 4, stride: 1, input: [4, 16, 10, 10] },
                Case { in_channels: 16, planes: 8, stride: 2, input: [4, 16, 10, 10] },
            ],
        }
    }
    // END HIDDEN

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

    // BEGIN HIDDEN
    /// The reference block, on the root of `vs`.
    fn reference(self, vs: &VarStore, c: &Case) -> Box<dyn ModuleT> {
        let p = vs.root();
        let out = c.planes * self.expansion();
        let ds = self.needs_downsample(c).then(|| {
            reference::Downsample::new(&(&p / "downsample"), c.in_channels, out, c.stride, reference::Norm::BatchNorm)
        });
        match self {
            Self::Basic => Box::new(reference::BasicBlock::new(
                &p,
                c.in_channels,
                c.planes,
                c.stride,
                ds,
                reference::Norm::BatchNorm,
            )),
            Self::Bottleneck => Box::new(reference::BottleneckBlock::new(
                &p,
                c.in_channels,
                c.planes,
                c.stride,
                ds,
                reference::Norm::BatchNorm,
            )),
        }
    }
    // END HIDDEN
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
const FIXTURE: &[u8] = include_bytes!("../../fixtures/blocks.safetensors");

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

// BEGIN HIDDEN
fn described_variables(vs: &VarStore) -> Vec<(String, Vec<i64>)> {
    let mut v: Vec<_> = vs.variables().into_iter().map(|(name, t)| (name, t.size())).collect();
    v.sort();
    v
}

/// Hidden: parameter names and shapes equal the reference's (PyTorch's).
pub fn parameters_check(ctx: &Context, block: Block) -> Result<Outcome, Stop> {
    seeded(ctx, 10);
    let mut problems = Vec::new();
    for (case, _) in block.public_cases() {
        let rvs = VarStore::new(Device::Cpu);
        let _r = block.reference(&rvs, &case);
        let (response, _) = ask_block(ctx, block.request(ctx, &case, 10), None, Vec::new())?;
        let student: HashMap<_, _> = response.variables.into_iter().map(|v| (v.name, v.shape)).collect();
        let expected = described_variables(&rvs);
        for (name, dims) in &expected {
            match student.get(name) {
                None => problems.push(format!("missing {name} {}", shape(dims))),
                Some(got) if got != dims => {
                    problems.push(format!("{name} has shape {}, expected {}", shape(got), shape(dims)))
                }
                Some(_) => {}
            }
        }
        let expected_names: Vec<_> = expected.iter().map(|(n, _)| n).collect();
        for name in student.keys().filter(|n| !expected_names.contains(n)) {
            problems.push(format!(
                "unexpected {name} {} (a bias, or a layer PyTorch does not have?)",
                shape(&student[name])
            ));
        }
        if !problems.is_empty() {
            problems.sort();
            problems.dedup();
            return Ok(Outcome::fail(format!(
                "{}: {}",
                block.describe(&case),
                problems.iter().take(6).cloned().collect::<Vec<_>>().join("; ")
            )));
        }
    }
    Ok(Outcome::pass("parameter names and shapes match PyTorch's"))
}

/// The reference block for a case with non-trivial BatchNorm statistics, and a snapshot of its
/// variables before any forward pass (what the worker loads into the student's block by name).
struct Pair {
    reference: Box<dyn ModuleT>,
    weights: HashMap<String, Tensor>,
}

fn pair(block: Block, case: &Case) -> Pair {
    let rvs = VarStore::new(Device::Cpu);
    let reference = block.reference(&rvs, case);
    crate::context::randomize_batch_norm(&rvs);
    let weights = rvs.variables().into_iter().map(|(k, v)| (k, v.detach().copy())).collect();
    Pair { reference, weights }
}

/// How a mistaken block differs from the correct one.
#[derive(Debug, Clone, Copy)]
struct Variant {
    stride_conv: usize,
    relu_before_add: bool,
    final_relu: bool,
    skip: bool,
    /// The residual branch's BatchNorm mode regardless of the requested one.
    batch_norm_train: Option<bool>,
    /// Every ReLU inside the residual branch present.
    inner_relus: bool,
}

impl Variant {
    fn correct(block: Block) -> Self {
        Self {
            stride_conv: block.stride_conv(),
            relu_before_add: false,
            final_relu: true,
            skip: true,
            batch_norm_train: None,
            inner_relus: true,
        }
    }
}

/// The known mistakes for `block` (those that change its output in `train` mode or with a stride),
/// each with how the functional block reproduces it.
fn mistakes(block: Block, train: bool) -> Vec<(Mistake, Variant)> {
    let ok = Variant::correct(block);
    let mut list = vec![
        (Mistake::ReluBeforeAdd, Variant { relu_before_add: true, final_relu: false, ..ok }),
        (Mistake::ExtraReluBeforeAdd, Variant { relu_before_add: true, ..ok }),
        (Mistake::NoFinalRelu, Variant { final_relu: false, ..ok }),
        (Mistake::NoSkip, Variant { skip: false, ..ok }),
        (Mistake::NoInnerRelu, Variant { inner_relus: false, ..ok }),
        (Mistake::BatchNormFixedMode, Variant { batch_norm_train: Some(!train), ..ok }),
    ];
    // A stride moved onto a later 1×1 convolution is the same function in evaluation mode (only
    // pointwise operations follow a subsampling), so only earlier convolutions are candidates.
    for conv in 0..block.kernels().len() {
        if conv != block.stride_conv() && (conv < block.stride_conv() || block.kernels()[conv] != 1) {
            list.push((Mistake::StrideOn(conv), Variant { stride_conv: conv, ..ok }));
        }
    }
    list
}

/// The block's output computed functionally from `weights`, with `variant`'s changes.
fn functional(
    block: Block,
    weights: &HashMap<String, Tensor>,
    x: &Tensor,
    case: &Case,
    train: bool,
    variant: Variant,
) -> Tensor {
    // The mistake is in the residual branch the student writes; the shortcut's `Downsample` is
    // given code, called with `train`.
    let branch_train = variant.batch_norm_train.unwrap_or(train);
    let bn = |prefix: &str, h: &Tensor, bn_train: bool| {
        let w = |s: &str| weights[&format!("{prefix}.{s}")].copy();
        h.batch_norm(
            Some(w("weight")),
            Some(w("bias")),
            Some(w("running_mean")),
            Some(w("running_var")),
            bn_train,
            0.1,
            1e-5,
            false,
        )
    };
    let conv = |name: &str, h: &Tensor, stride: i64, kernel: i64| {
        h.conv2d(&weights[&format!("{name}.weight")], None::<Tensor>, [stride], [kernel / 2], [1], 1)
    };
    let kernels = block.kernels();
    let mut h = x.shallow_clone();
    for (i, &k) in kernels.iter().enumerate() {
        let stride = if i == variant.stride_conv { case.stride } else { 1 };
        h = bn(&format!("bn{}", i + 1), &conv(&format!("conv{}", i + 1), &h, stride, k), branch_train);
        let last = i + 1 == kernels.len();
        if (!last && (variant.inner_relus || i > 0)) || (last && variant.relu_before_add) {
            h = h.relu();
        }
    }
    if variant.skip {
        let identity = if block.needs_downsample(case) {
            bn("downsample.1", &conv("downsample.0", x, case.stride, 1), train)
        } else {
            x.shallow_clone()
        };
        if identity.size() == h.size() {
            h += identity;
        }
    }
    if variant.final_relu { h.relu() } else { h }
}

fn diagnose(block: Block, pair: &Pair, x: &Tensor, case: &Case, train: bool, got: &Tensor) -> Option<String> {
    if got.kind() != Kind::Float || !crate::context::all_finite(got) {
        return None;
    }
    mistakes(block, train).into_iter().find_map(|(mistake, variant)| {
        let candidate = functional(block, &pair.weights, x, case, train, variant);
        close(got, &candidate).then(|| mistake.explain(block, train))
    })
}

/// Hidden: equal outputs on shared weights, in evaluation and training mode, for a block without
/// and with a shortcut projection.
pub fn numerics_check(ctx: &Context, block: Block) -> Result<Outcome, Stop> {
    seeded(ctx, 20);
    let (mut passed, mut total, mut failures) = (0, 0, Vec::new());
    for case in block.numeric_cases() {
        let pair = pair(block, &case);
        let x = Tensor::randn(case.input, (Kind::Float, Device::Cpu));
        let modes = [false, true];
        let request = BlockRequest { modes: modes.to_vec(), ..block.request(ctx, &case, 20) };
        let outputs = match ask_loaded(ctx, block, &pair.weights, request, &x)? {
            Ok(outputs) => outputs,
            Err(outcome) => return Ok(outcome),
        };
        for (i, train) in modes.into_iter().enumerate() {
            total += 1;
            let expected = pair.reference.forward_t(&x, train);
            let got = output(&outputs, i)?;
            if close(&got, &expected) {
                passed += 1;
                continue;
            }
            let mode = if train { "training" } else { "evaluation" };
            let what = if got.size() != expected.size() {
                format!("output shape {} instead of {}", shape(&got.size()), shape(&expected.size()))
            } else {
                format!("max |difference| {:.3}", (&got - &expected).abs().max().double_value(&[]))
            };
            let why = diagnose(block, &pair, &x, &case, train, &got)
                .map_or_else(String::new, |w| format!(": your block {w}"));
            failures.push(format!("{} in {mode} mode differs from the reference ({what}){why}", block.describe(&case)));
        }
    }
    if failures.is_empty() {
        return Ok(Outcome::pass(format!("matches the reference {} in training and evaluation mode", block.name())));
    }
    // All or nothing: a block that is wrong for some inputs is wrong.
    Ok(Outcome::fail(format!("{passed} of {total} comparisons match. {}", failures.join("; "))))
}

/// Hidden: with the residual branch silenced, the block must return relu(identity) — or
/// relu(downsample(x)). Silenced means: the branch's last convolution has zero weights, and every
/// bias and BatchNorm running mean is zero, so that whatever normalization follows that
/// convolution (its own BatchNorm, a shared one, or none) outputs zero in evaluation mode. The
/// check judges the skip connection alone, whatever the block does with its BatchNorms.
pub fn skip_check(ctx: &Context, block: Block) -> Result<Outcome, Stop> {
    seeded(ctx, 30);
    let last_conv = format!("conv{}.weight", block.kernels().len());
    let suffixes = [".bias", "running_mean"];
    let silenced = |name: &str| name == last_conv || suffixes.iter().any(|s| name.ends_with(s));
    for case in block.numeric_cases() {
        let pair = pair(block, &case);
        let x = Tensor::randn(case.input, (Kind::Float, Device::Cpu));
        let request = BlockRequest {
            modes: vec![false],
            zero_names: vec![last_conv.clone()],
            zero_suffixes: suffixes.iter().map(|s| s.to_string()).collect(),
            ..block.request(ctx, &case, 30)
        };
        let outputs = match ask_loaded(ctx, block, &pair.weights, request, &x)? {
            Ok(outputs) => outputs,
            Err(outcome) => return Ok(outcome),
        };
        let got = output(&outputs, 0)?;
        let identity_only = Variant { skip: true, ..Variant::correct(block) };
        let weights: HashMap<String, Tensor> = pair
            .weights
            .iter()
            .map(|(k, v)| (k.clone(), if silenced(k) { v.zeros_like() } else { v.shallow_clone() }))
            .collect();
        let expected = functional(block, &weights, &x, &case, false, identity_only);
        if !close(&got, &expected) {
            let target = if block.needs_downsample(&case) { "relu(downsample(x))" } else { "relu(x)" };
            return Ok(Outcome::fail(format!(
                "{} with its residual branch silenced should return {target}, but does not: check how the identity is added",
                block.describe(&case)
            )));
        }
    }
    Ok(Outcome::pass("the skip connection carries the identity (and the downsample) to the output"))
}

/// Hidden: a backward pass reaches the input and every parameter.
pub fn gradients_check(ctx: &Context, block: Block) -> Result<Outcome, Stop> {
    seeded(ctx, 40);
    let case = block.numeric_cases()[1];
    let x = Tensor::randn(case.input, (Kind::Float, Device::Cpu));
    let request = BlockRequest { gradients: true, ..block.request(ctx, &case, 40) };
    let (response, grads) = ask_block(ctx, request, Some(&x), Vec::new())?;
    let reaches = |name: &str| {
        named(&grads, name).is_some_and(|g| {
            g.kind() == Kind::Float && crate::context::all_finite(g) && g.abs().sum(Kind::Float).double_value(&[]) > 0.0
        })
    };
    if !reaches("grad.input") {
        return Ok(Outcome::fail(
            "no gradient reaches the block's input: do not detach or rebuild tensors in forward_t",
        ));
    }
    let mut missing: Vec<String> = response
        .variables
        .into_iter()
        .filter(|v| v.trainable && !reaches(&format!("grad.{}", v.name)))
        .map(|v| v.name)
        .collect();
    missing.sort();
    Ok(if missing.is_empty() {
        Outcome::pass("gradients reach the input and every parameter")
    } else {
        Outcome::fail(format!(
            "no gradient reaches {}: is every layer you create used in forward_t?",
            missing.join(", ")
        ))
    })
}

/// Hidden: shape laws over random configurations (proptest, deterministic seed).
pub fn shape_laws_check(ctx: &Context, block: Block) -> Result<Outcome, Stop> {
    use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
    seeded(ctx, 50);
    // One plain call first, so that a todo!() surfaces as "not implemented" rather than as a
    // property failure.
    let probe = block.numeric_cases()[0];
    let request = BlockRequest { modes: vec![false], ..block.request(ctx, &probe, 50) };
    ask_block(ctx, request, Some(&Tensor::zeros(probe.input, (Kind::Float, Device::Cpu))), Vec::new())?;
    let config = Config { cases: 24, failure_persistence: None, max_shrink_iters: 64, ..Config::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategy = (1i64..9, 1i64..9, 1i64..=2, 1i64..10, 1i64..10, 1i64..3);
    let result = runner.run(&strategy, |(in_channels, planes, stride, h, w, n)| {
        let case = Case { in_channels, planes, stride, input: [n, in_channels, h, w] };
        let x = Tensor::randn(case.input, (Kind::Float, Device::Cpu));
        let request = BlockRequest { modes: vec![false], ..block.request(ctx, &case, 50) };
        let y = ask_block(ctx, request, Some(&x), Vec::new())
            .and_then(|(_, tensors)| output(&tensors, 0))
            .map_err(|Stop(outcome)| TestCaseError::fail(outcome.message))?;
        let expected = [n, planes * block.expansion(), (h + stride - 1) / stride, (w + stride - 1) / stride];
        proptest::prop_assert_eq!(y.size(), expected.to_vec(), "{}", block.describe(&case));
        Ok(())
    });
    Ok(match result {
        Ok(()) => Outcome::pass(
            "output shape is (N, planes × expansion, ceil(H/stride), ceil(W/stride)) for 24 random configurations",
        ),
        Err(TestError::Fail(reason, (i, p, s, h, w, n))) => Outcome::fail(format!(
            "the shape law fails for in_channels={i}, planes={p}, stride={s}, input ({n},{i},{h},{w}): {reason}"
        )),
        Err(TestError::Abort(reason)) => Outcome::fail(format!("the property test stopped: {reason}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public fixture's tensors for `block` (see [`FIXTURE`]), computed by the reference: a block
    /// with a projection shortcut and a stride (so that every mistake shows), non-trivial BatchNorm
    /// statistics, and the outputs of every mistake that changes them.
    fn public_fixture(block: Block) -> Vec<(String, Tensor)> {
        tch::manual_seed(20_261_130);
        let case = match block {
            Block::Basic => Case { in_channels: 8, planes: 16, stride: 2, input: [3, 8, 8, 8] },
            Block::Bottleneck => Case { in_channels: 16, planes: 8, stride: 2, input: [3, 16, 8, 8] },
        };
        let pair = pair(block, &case);
        let x = Tensor::randn(case.input, (Kind::Float, Device::Cpu));
        let prefix = Fixture::prefix(block);
        let mut tensors = vec![
            (format!("{prefix}.case"), Tensor::from_slice(&[case.in_channels, case.planes, case.stride])),
            (format!("{prefix}.input"), x.copy()),
        ];
        for (name, weight) in &pair.weights {
            tensors.push((format!("{prefix}.weights.{name}"), weight.copy()));
        }
        for train in MODES {
            let expected = tch::no_grad(|| pair.reference.forward_t(&x, train));
            tensors.push((format!("{prefix}.expected.{}", mode_name(train)), expected));
            for (mistake, variant) in mistakes(block, train) {
                let output = functional(block, &pair.weights, &x, &case, train, variant);
                tensors.push((format!("{prefix}.mistake.{}.{}", mistake.id(), mode_name(train)), output));
            }
        }
        tensors
    }

    /// Where the public fixture lives in the source tree.
    fn fixture_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/blocks.safetensors")
    }

    #[test]
    fn the_public_fixture_matches_the_reference() {
        if std::env::var_os("RESNET_LAB_UPDATE_FIXTURES").is_some() {
            let tensors: Vec<_> = [Block::Basic, Block::Bottleneck].into_iter().flat_map(public_fixture).collect();
            std::fs::create_dir_all(fixture_path().parent().unwrap()).unwrap();
            Tensor::write_safetensors(&tensors, fixture_path()).unwrap();
        }
        let bytes = std::fs::read(fixture_path()).unwrap();
        assert!(bytes == FIXTURE, "the judge was built with another fixture: rebuild it");
        let update = "regenerate it: RESNET_LAB_UPDATE_FIXTURES=1 cargo test -p resnet-lab-judge public_fixture";
        for block in [Block::Basic, Block::Bottleneck] {
            let fixture = Fixture::parse(&bytes, block).unwrap();
            let rvs = VarStore::new(Device::Cpu);
            let reference = block.reference(&rvs, &fixture.case);
            let mut named = rvs.variables();
            tch::no_grad(|| {
                for (name, weight) in &fixture.weights {
                    named
                        .get_mut(name)
                        .unwrap_or_else(|| panic!("{block:?}: {name} is not the reference's; {update}"))
                        .copy_(weight);
                }
            });
            assert_eq!(fixture.weights.len(), named.len(), "{block:?}: {update}");
            for (i, train) in MODES.into_iter().enumerate() {
                let expected = tch::no_grad(|| reference.forward_t(&fixture.input, train));
                assert!(close(&fixture.expected[i], &expected), "{block:?} train={train}: {update}");
                let wanted: Vec<Mistake> = mistakes(block, train).into_iter().map(|(m, _)| m).collect();
                let held: Vec<Mistake> = fixture.mistakes.iter().map(|(m, _)| *m).collect();
                assert_eq!(held, wanted, "{block:?}: {update}");
                for ((mistake, outputs), (_, variant)) in fixture.mistakes.iter().zip(mistakes(block, train)) {
                    let output = functional(block, &fixture.weights, &fixture.input, &fixture.case, train, variant);
                    assert!(close(&outputs[i], &output), "{block:?} {mistake:?} train={train}: {update}");
                    assert!(!close(&outputs[i], &fixture.expected[i]), "{block:?}: {mistake:?} does not show");
                }
            }
        }
    }

    #[test]
    fn the_functional_block_matches_the_reference_and_the_mistakes_do_not() {
        for block in [Block::Basic, Block::Bottleneck] {
            for case in block.numeric_cases() {
                let rvs = VarStore::new(Device::Cpu);
                let net = block.reference(&rvs, &case);
                crate::context::randomize_batch_norm(&rvs);
                let weights: HashMap<_, _> = rvs.variables().into_iter().map(|(k, v)| (k, v.detach().copy())).collect();
                let x = Tensor::randn(case.input, (Kind::Float, Device::Cpu));
                for train in [false, true] {
                    let expected = net.forward_t(&x, train);
                    assert!(
                        close(&functional(block, &weights, &x, &case, train, Variant::correct(block)), &expected),
                        "{block:?} {case:?}"
                    );
                    for (mistake, variant) in mistakes(block, train) {
                        let why = mistake.explain(block, train);
                        let wrong = functional(block, &weights, &x, &case, train, variant);
                        // A stride mistake is invisible at stride 1; every other mistake shows.
                        if case.stride == 2 || variant.stride_conv == block.stride_conv() {
                            assert!(
                                !close(&wrong, &expected),
                                "{block:?} {case:?} train={train}: `{why}` looks correct"
                            );
                        }
                    }
                }
            }
        }
    }
}
// END HIDDEN
