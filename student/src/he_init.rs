//! Exercise 3 — the He-initialization variance check (10 points).
//!
//! He et al. (2015) initialize each convolution so that, in a deep ReLU network, the signal keeps
//! its variance from layer to layer, where small random weights make it shrink geometrically. This
//! exercise measures it: run one batch through a freshly initialized network and report, for every
//! `Conv2d` and `Linear` layer in the order the forward pass reaches them, the variance of that
//! layer's own output (what the layer returns, before the ReLU or BatchNorm that follows it).
//!
//! The grader measures your function on the notebook's `SimpleNet` ([`crate::simple`]: eight 3×3
//! convolutions of 64 channels, each followed by ReLU, no BatchNorm, so the initialization alone
//! decides the variance), and on a plain network with BatchNorm (where only the convolutions'
//! outputs count, not the BatchNorms'). What to expect on `SimpleNet` under He's fan-out
//! initialization, for a standardized input (variance 1):
//!
//! - the first convolution sets the level. Its weights have variance `2 / fan_out = 2 / (9 · 64)`,
//!   and each output sums `fan_in = 9 · 3 = 27` inputs: `27 · 2 / 576 ≈ 0.094`, not 1, because
//!   fan-in and fan-out differ there;
//! - every later convolution has `fan_in = fan_out = 9 · 64 = 576`, and the ReLU before it keeps
//!   half of the second moment of a zero-mean signal: `576 · (2 / 576) · Var / 2 = Var`. The variance
//!   stays of the order of 0.094 however deep the network is (each layer's random filters scatter
//!   its gain around 1, and zero padding gives border pixels fewer inputs: expect it within a
//!   factor of about two of the first layer's, not a constant);
//! - under a naive `N(0, 0.01²)` initialization each layer multiplies it by `576 · 10⁻⁴ / 2 ≈ 0.03`:
//!   after eight layers almost nothing of the input is left.
//!
//! The report page (`make check`) plots your measurement beside the grader's, and beside the same
//! network under the naive initialization.
#![allow(unused)] // The stubs leave names unused; delete this line once you are done.

use crate::hooks::LayerKind;
use crate::hooks::register_forward_hook;
use tch::Tensor;
use tch::nn::ModuleT;

/// The variance of one layer's output.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerVariance {
    /// The layer's full name (`layer1.0.conv1`).
    pub name: String,
    /// `Conv2d` or `Linear`.
    pub kind: LayerKind,
    /// The (unbiased) variance of all the elements of the layer's output.
    pub variance: f64,
}

/// Returns the output variance of every `Conv2d` and `Linear` layer of `model` for `input`, in
/// forward order.
///
/// Measure the network as initialized, in evaluation mode and without building a graph.
pub fn layer_output_variances(model: &dyn ModuleT, input: &Tensor) -> Vec<LayerVariance> {
    // TODO:
    //   1. Register a forward hook (`register_forward_hook`, like PyTorch's) that, for events whose
    //      `kind` is `LayerKind::Conv2d` or `LayerKind::Linear` — and no other kind — pushes a
    //      `LayerVariance { name, kind, variance: output.var(true).double_value(&[]) }` to a shared
    //      list (`Rc<RefCell<Vec<_>>>` works well: the hook must be `'static`).
    //   2. Run the model once in evaluation mode (`forward_t(input, false)`) inside `tch::no_grad`.
    //   3. Remove the hook (drop its handle) and return the list.
    todo!("Exercise 3 — the He-initialization variance check (src/he_init.rs)")
}
