//! Exercise 3 — the He-initialization variance check (10 points).
//!
//! He et al. (2015) choose the initial weights so that the variance of each layer's output stays
//! near the variance of its input (≈ 1 for a standardized input) instead of shrinking or exploding
//! with depth. This exercise measures it: run one batch through a freshly initialized network and
//! report, for every `Conv2d` and `Linear` layer in the order the forward pass reaches them, the
//! variance of that layer's output.
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
