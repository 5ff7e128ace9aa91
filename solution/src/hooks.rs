//! Forward hooks: watch the output of every layer of a model while it runs.
//!
//! This is the Rust counterpart of PyTorch's `module.register_forward_hook(fn)`. Every layer that the
//! assignment's models are built from ([`crate::layers`]) announces its output, with its full
//! PyTorch-style name (`layer2.0.conv1`) and its [`LayerKind`], to the hooks registered on the
//! current thread, in the order the forward pass computes them.
//!
//! ```no_run
//! # use resnet_lab_solution::hooks::{register_forward_hook, LayerKind};
//! # fn demo(model: &dyn tch::nn::ModuleT, x: &tch::Tensor) {
//! let handle = register_forward_hook(|event| {
//!     if event.kind == LayerKind::Conv2d {
//!         println!("{} -> {:?}", event.name, event.output.size());
//!     }
//! });
//! let _ = model.forward_t(x, false);
//! handle.remove(); // or let it drop
//! # }
//! ```
//!
//! Hooks see the live output tensor: read from it (`var`, `mean`, `size`), do not modify it.

use std::cell::RefCell;
use tch::Tensor;

/// What kind of layer produced an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LayerKind {
    /// A 2-D convolution (`nn.Conv2d`).
    Conv2d,
    /// A 2-D batch normalization (`nn.BatchNorm2d`).
    BatchNorm2d,
    /// A fully connected layer (`nn.Linear`).
    Linear,
}

/// One layer's output, as a hook sees it.
#[derive(Debug, Clone, Copy)]
pub struct LayerEvent<'a> {
    /// The layer's full name, as PyTorch's `named_modules()` would give it (`layer1.0.conv2`).
    pub name: &'a str,
    /// The layer's kind.
    pub kind: LayerKind,
    /// The tensor the layer just returned.
    pub output: &'a Tensor,
}

type Hook = Box<dyn FnMut(&LayerEvent<'_>)>;

thread_local! {
    static HOOKS: RefCell<Vec<(u64, Hook)>> = const { RefCell::new(Vec::new()) };
    static NEXT_ID: RefCell<u64> = const { RefCell::new(0) };
}

/// Keeps a hook registered; dropping it (or calling [`HookHandle::remove`]) unregisters the hook.
#[must_use = "the hook is removed as soon as its handle is dropped"]
#[derive(Debug)]
pub struct HookHandle {
    id: u64,
}

impl HookHandle {
    /// Unregisters the hook now (what PyTorch's `handle.remove()` does).
    pub fn remove(self) {}
}

impl Drop for HookHandle {
    fn drop(&mut self) {
        let id = self.id;
        // `try_with`: the thread-local may already be gone when a handle drops during thread exit.
        let _ = HOOKS.try_with(|hooks| {
            if let Ok(mut hooks) = hooks.try_borrow_mut() {
                hooks.retain(|(hook_id, _)| *hook_id != id);
            }
        });
    }
}

/// Registers `hook` to be called with the output of every layer run on this thread, until the
/// returned handle is dropped. Hooks run in registration order.
pub fn register_forward_hook(hook: impl FnMut(&LayerEvent<'_>) + 'static) -> HookHandle {
    let id = NEXT_ID.with(|next| {
        let mut next = next.borrow_mut();
        *next += 1;
        *next
    });
    HOOKS.with(|hooks| hooks.borrow_mut().push((id, Box::new(hook))));
    HookHandle { id }
}

/// Called by the layers of [`crate::layers`] after each forward. A layer run from inside a hook does
/// not call the hooks again.
pub fn emit(name: &str, kind: LayerKind, output: &Tensor) {
    HOOKS.with(|hooks| {
        if let Ok(mut hooks) = hooks.try_borrow_mut() {
            let event = LayerEvent { name, kind, output };
            for (_, hook) in hooks.iter_mut() {
                hook(&event);
            }
        }
    });
}

/// A recorded layer output: the layer's name, kind and a copy of its output.
#[derive(Debug)]
pub struct LayerOutput {
    /// The layer's full name.
    pub name: String,
    /// The layer's kind.
    pub kind: LayerKind,
    /// A detached copy of the output.
    pub output: Tensor,
}

/// Runs `f` and returns its result with every layer output produced meanwhile, in forward order.
pub fn capture_layer_outputs<T>(f: impl FnOnce() -> T) -> (T, Vec<LayerOutput>) {
    let sink = std::rc::Rc::new(RefCell::new(Vec::new()));
    let handle = {
        let sink = sink.clone();
        register_forward_hook(move |event| {
            sink.borrow_mut().push(LayerOutput {
                name: event.name.to_string(),
                kind: event.kind,
                output: event.output.detach().copy(),
            })
        })
    };
    let result = f();
    drop(handle);
    let outputs = std::mem::take(&mut *sink.borrow_mut());
    (result, outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_see_events_until_removed() {
        let seen = std::rc::Rc::new(RefCell::new(Vec::new()));
        let sink = seen.clone();
        let handle = register_forward_hook(move |e| sink.borrow_mut().push(e.name.to_string()));
        let t = Tensor::zeros([1], (tch::Kind::Float, tch::Device::Cpu));
        emit("a", LayerKind::Conv2d, &t);
        handle.remove();
        emit("b", LayerKind::Linear, &t);
        assert_eq!(*seen.borrow(), vec!["a".to_string()]);
    }

    #[test]
    fn capture_returns_outputs_in_order_and_unregisters() {
        let t = Tensor::ones([2], (tch::Kind::Float, tch::Device::Cpu));
        let (value, outputs) = capture_layer_outputs(|| {
            emit("x", LayerKind::Conv2d, &t);
            emit("y", LayerKind::BatchNorm2d, &t);
            7
        });
        assert_eq!(value, 7);
        let names: Vec<_> = outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["x", "y"]);
        assert_eq!(outputs[1].kind, LayerKind::BatchNorm2d);
        let (_, after) = capture_layer_outputs(|| ());
        assert!(after.is_empty());
    }

    #[test]
    fn a_hook_that_runs_a_layer_does_not_recurse() {
        let count = std::rc::Rc::new(RefCell::new(0));
        let c = count.clone();
        let _h = register_forward_hook(move |e| {
            *c.borrow_mut() += 1;
            emit("inner", LayerKind::Linear, e.output);
        });
        let t = Tensor::ones([1], (tch::Kind::Float, tch::Device::Cpu));
        emit("outer", LayerKind::Conv2d, &t);
        assert_eq!(*count.borrow(), 1);
    }
}
