//! The judge–worker protocol.
//!
//! A check is split in two processes. The **worker** holds the student's crate and a thin request
//! executor, runs in the sandbox, and knows nothing of checks, scores, tolerances or the reference
//! solution. The **judge** holds the reference and the check logic, never links or loads student
//! code, asks the worker for raw outputs (a block's output on an input, the variances a function
//! returns, the weights a training run produced) and computes every verdict itself.
//!
//! Each message is one [`frame`]: a JSON header and a set of named tensors (a safetensors blob, whose
//! parser is made for untrusted input). The worker answers each [`Request`] with exactly one
//! [`Response`]; everything it sends is validated by the judge before use.

pub mod frame;
pub mod net;

use serde::{Deserialize, Serialize};

/// Which exercise's block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// Exercise 1, `BasicBlock`.
    Basic,
    /// Exercise 2, `BottleneckBlock`.
    Bottleneck,
}

/// One block configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockShape {
    /// Input channels.
    pub in_channels: i64,
    /// Planes (output channels / expansion).
    pub planes: i64,
    /// Stride.
    pub stride: i64,
    /// Whether the block gets a projection shortcut (`downsample`, with BatchNorm) …
    pub downsample: bool,
    /// … to this many channels.
    pub out_channels: i64,
}

/// What to do with a freshly built student block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockRequest {
    /// Which block.
    pub block: BlockKind,
    /// Its configuration.
    pub shape: BlockShape,
    /// Seed for the block's initialization (and the gradient weighting).
    pub seed: i64,
    /// Load the frame's tensors named `weights.<variable>` into the block by name: a variable the
    /// frame lacks and whose name ends in `.bias` is set to zero; any other missing variable, or a
    /// shape that differs, is reported in [`BlockResponse::load_problem`] and nothing runs.
    pub load_weights: bool,
    /// After loading, zero every variable with one of these names …
    pub zero_names: Vec<String>,
    /// … or one of these suffixes.
    pub zero_suffixes: Vec<String>,
    /// Run the block on the frame's tensor `input` in these modes (`true`: training), in order;
    /// the outputs come back as `output.<i>`.
    pub modes: Vec<bool>,
    /// Also run one training-mode pass with gradients: `grad.input` and `grad.<variable>` come back
    /// for the loss `sum(output × r)`, `r` standard normal from `seed`.
    pub gradients: bool,
}

/// One variable of a network: name, shape, trainable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    /// PyTorch-style name (`conv1.weight`).
    pub name: String,
    /// Its shape.
    pub shape: Vec<i64>,
    /// Whether the optimizer trains it (BatchNorm statistics are not trained).
    pub trainable: bool,
}

/// What the worker saw of a block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockResponse {
    /// The block's variables, sorted by name.
    pub variables: Vec<Variable>,
    /// Why the weights could not be loaded by name (then no output came back).
    pub load_problem: Option<String>,
}

/// A network of the crate's provided code that the He-init function is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VarianceNetwork {
    /// `simple::simple_net`: convolutions and ReLUs only (the initialization alone decides the
    /// variances).
    Simple {
        /// Convolutions.
        depth: usize,
        /// Their channels.
        width: i64,
    },
    /// `plain_net`, with BatchNorm after each convolution.
    Plain {
        /// Blocks per stage.
        blocks: [usize; 4],
        /// Its base width.
        base_width: i64,
    },
}

/// Run the student's He-init function on a network of the crate's provided code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariancesRequest {
    /// Which network.
    pub network: VarianceNetwork,
    /// Load these (frame tensors `weights.<variable>`, every variable) before the call.
    pub load_weights: bool,
}

/// One layer as the student's function reported it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerVariance {
    /// The layer's name.
    pub name: String,
    /// `Conv2d`, `BatchNorm2d`, `Linear`, … as the crate's `LayerKind` debug-prints it.
    pub kind: String,
    /// The variance the function reported.
    pub variance: f64,
}

/// Train the grader's network (frame tensors `weights.<variable>` are its initial weights) with the
/// student's `train_resnet18` on the frame's `train.images`, `train.labels`, `validation.images`,
/// `validation.labels`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainRequest {
    /// The network (see [`net::NetSpec`]).
    pub net: net::NetSpec,
    /// The crate's `TrainConfig`, as JSON (its serde form).
    pub config: serde_json::Value,
}

/// What a training run returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainResponse {
    /// The returned `TrainingReport`, as JSON; `None` when the function returned an error.
    pub report: Option<serde_json::Value>,
    /// The error it returned, if any.
    pub error: Option<String>,
    /// Examples the network saw in evaluation mode (counted by the worker: see the trust model).
    pub evaluated_examples: i64,
    /// Wall-clock seconds of the call.
    pub seconds: f64,
}

/// Run the student's `run_ablation` with a builder of the grader's network (for any `norm` and
/// `dropout`), on the same data tensors as [`TrainRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AblationRequest {
    /// The network; its `Norm` layers are BatchNorm or nothing, and its dropout probability is the
    /// requested configuration's.
    pub net: net::NetSpec,
    /// The crate's `TrainConfig`, as JSON.
    pub config: serde_json::Value,
}

/// One trained variant of the ablation (its weights come back as `<variant>.<variable>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AblationVariant {
    /// `with_batch_norm`, `without_batch_norm` or `with_dropout`.
    pub name: String,
    /// The model's `config` field, as JSON.
    pub config: serde_json::Value,
    /// Its `TrainingReport`, as JSON.
    pub report: serde_json::Value,
    /// Whether two training-mode passes over one batch differed (dropout active).
    pub dropout_active: bool,
}

/// What `run_ablation` returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AblationResponse {
    /// The error it returned, if any (then no variants).
    pub error: Option<String>,
    /// The configurations the builder was called with, as JSON.
    pub built: Vec<serde_json::Value>,
    /// The three variants.
    pub variants: Vec<AblationVariant>,
}

/// What the worker is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// Describe yourself (libtorch, CUDA) after setting libtorch's CPU threads.
    Hello {
        /// libtorch's CPU threads (`None`: its default).
        threads: Option<usize>,
    },
    /// The `EXPANSION` a block type declares.
    Expansion(BlockKind),
    /// Build a block and run it.
    Block(BlockRequest),
    /// The He-init function.
    Variances(VariancesRequest),
    /// The training exercise.
    Train(TrainRequest),
    /// The ablation exercise.
    Ablation(AblationRequest),
}

/// What the worker says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// CUDA usable.
    pub cuda: bool,
    /// CUDA devices.
    pub devices: i64,
    /// cuDNN usable.
    pub cudnn: bool,
    /// libtorch CPU threads.
    pub threads: i64,
    /// libtorch version the worker links.
    pub libtorch: String,
}

/// The worker's answer to one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    /// Answer to [`Request::Hello`].
    Hello(Hello),
    /// Answer to [`Request::Expansion`].
    Expansion(i64),
    /// Answer to [`Request::Block`].
    Block(BlockResponse),
    /// Answer to [`Request::Variances`]: what the student's function returned.
    Variances(Vec<LayerVariance>),
    /// Answer to [`Request::Train`].
    Train(TrainResponse),
    /// Answer to [`Request::Ablation`].
    Ablation(AblationResponse),
    /// The student's code panicked; the panic's text (a `todo!()` starts "not yet implemented").
    Panicked(String),
}
