//! Nesterov SGD over one flat parameter buffer (given code).
//!
//! libtorch's SGD updates every variable on its own: four or five small kernels per variable, some
//! 300 launches per step for ResNet-18, which on a GPU cost as much time as the arithmetic of a
//! short run. [`Sgd`] instead keeps every trainable variable as a view into one buffer and updates
//! the whole buffer at once (about ten kernels per step), with the same arithmetic as
//! `torch.optim.SGD(nesterov=True, weight_decay=…)`. Gradients are cleared by dropping them
//! (PyTorch's `set_to_none`), so the backward pass writes fresh ones without a zeroing kernel.
//!
//! Use it as you would any optimizer: `zero_grad()`, `loss.backward()`, `step()`.

use std::sync::{Arc, Mutex};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

/// How to build an [`Sgd`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    /// The learning rate until [`Sgd::set_lr`] changes it.
    pub learning_rate: f64,
    /// Momentum (0: plain SGD).
    pub momentum: f64,
    /// L2 weight decay added to every gradient.
    pub weight_decay: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// Scale the gradients so that their joint L2 norm is at most this (`None`: no clipping).
    pub grad_clip: Option<f64>,
}

/// Where one variable lives inside the flat buffer.
#[derive(Debug)]
struct Slot {
    /// The variable (shares its storage with the buffer).
    var: Tensor,
    /// Its dimensions in memory order (outermost first): `var.permute(order)` is contiguous.
    order: Vec<i64>,
    /// Its address inside the buffer when it was bound.
    address: usize,
}

/// Nesterov SGD over every trainable variable of a [`nn::VarStore`], updated as one buffer.
#[derive(Debug)]
pub struct Sgd {
    config: SgdConfig,
    learning_rate: f64,
    /// Every trainable variable, end to end; the variables are views into it.
    flat: Tensor,
    slots: Vec<Slot>,
    /// The momentum of every element of `flat` (created at the first step).
    momentum_buffer: Option<Tensor>,
    /// libtorch's optimizer over the same variables, used only to drop their gradients.
    clearer: nn::Optimizer,
    /// The variable store's list of variables (followed when the model changes).
    store: Arc<Mutex<nn::Variables>>,
}

impl Sgd {
    /// An optimizer over the trainable variables of `vs` (which must share one device and dtype).
    pub fn new(vs: &nn::VarStore, config: SgdConfig) -> Result<Self, String> {
        let clearer = nn::Sgd::default().build(vs, 0.0).map_err(|e| e.to_string())?;
        let store = vs.variables_.clone();
        let (flat, slots) = bind(trainable(&store))?;
        Ok(Self { config, learning_rate: config.learning_rate, flat, slots, momentum_buffer: None, clearer, store })
    }

    /// Sets the learning rate of the next steps.
    pub fn set_lr(&mut self, learning_rate: f64) {
        self.learning_rate = learning_rate;
    }

    /// The current learning rate.
    pub fn lr(&self) -> f64 {
        self.learning_rate
    }

    /// Drops every gradient (the next backward pass creates fresh ones).
    pub fn zero_grad(&mut self) {
        self.clearer.zero_grad();
    }

    /// One SGD step from the gradients the backward passes since [`Sgd::zero_grad`] left. A
    /// variable without a gradient counts as having a zero gradient.
    pub fn step(&mut self) {
        self.rebind_if_replaced();
        tch::no_grad(|| {
            let options = (self.flat.kind(), self.flat.device());
            let grads: Vec<Tensor> = self
                .slots
                .iter()
                .map(|slot| {
                    let grad = slot.var.grad();
                    if grad.defined() {
                        grad.permute(slot.order.as_slice()).reshape([-1]).to_kind(options.0)
                    } else {
                        Tensor::zeros([slot.var.numel() as i64], options)
                    }
                })
                .collect();
            let mut grad = Tensor::cat(&grads, 0);
            if let Some(max_norm) = self.config.grad_clip {
                let scale = (grad.norm() + 1e-6).reciprocal().g_mul_scalar(max_norm).clamp_max(1.0);
                grad *= scale;
            }
            if self.config.weight_decay != 0.0 {
                grad += &self.flat * self.config.weight_decay;
            }
            let update = if self.config.momentum == 0.0 {
                grad
            } else {
                let buffer = match self.momentum_buffer.take() {
                    None => grad.copy(),
                    Some(mut buffer) => {
                        buffer *= self.config.momentum;
                        buffer += &grad;
                        buffer
                    }
                };
                let update = if self.config.nesterov { grad + &buffer * self.config.momentum } else { buffer.copy() };
                self.momentum_buffer = Some(buffer);
                update
            };
            self.flat -= update * self.learning_rate;
        });
    }

    /// Drops the gradients, runs the backward pass of `loss` and takes a step.
    pub fn backward_step(&mut self, loss: &Tensor) {
        self.zero_grad();
        loss.backward();
        self.step();
    }

    /// If a variable no longer lives in the buffer (its data was replaced, e.g. by a layout change
    /// or a move to another device after the optimizer was built), builds the buffer again from the
    /// variables as they are now. Momentum survives when the buffer keeps its size and device.
    fn rebind_if_replaced(&mut self) {
        // A slot's tensor shares its variable's storage handle, so a replaced variable shows here
        // without copying the store's list every step.
        let count = self.store.lock().map_or(self.slots.len(), |v| v.trainable_variables.len());
        let moved =
            count != self.slots.len() || self.slots.iter().any(|slot| slot.var.data_ptr() as usize != slot.address);
        if !moved {
            return;
        }
        match bind(trainable(&self.store)) {
            Ok((flat, slots)) => {
                let same_shape = flat.size() == self.flat.size() && flat.device() == self.flat.device();
                if !same_shape {
                    self.momentum_buffer = None;
                }
                self.flat = flat;
                self.slots = slots;
            }
            Err(problem) => panic!("the optimizer cannot follow the model's variables: {problem}"),
        }
    }
}

/// The trainable variables of a store, in creation order.
fn trainable(store: &Mutex<nn::Variables>) -> Vec<Tensor> {
    let variables = store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    variables.trainable_variables.iter().map(|var| var.tensor.shallow_clone()).collect()
}

/// Copies `vars` into one new buffer and makes each variable a view into it, keeping each
/// variable's layout (so channels-last weights stay channels-last).
fn bind(vars: Vec<Tensor>) -> Result<(Tensor, Vec<Slot>), String> {
    let (kind, device) = vars.first().map_or((Kind::Float, Device::Cpu), |v| (v.kind(), v.device()));
    if let Some(odd) = vars.iter().find(|v| v.kind() != kind || v.device() != device) {
        return Err(format!(
            "every trainable variable must be {kind:?} on {device:?}, one is {:?} on {:?}",
            odd.kind(),
            odd.device()
        ));
    }
    let total: i64 = vars.iter().map(|v| v.numel() as i64).sum();
    let flat = Tensor::empty([total], (kind, device));
    let mut slots = Vec::with_capacity(vars.len());
    let mut offset = 0;
    tch::no_grad(|| {
        for mut var in vars {
            let order = memory_order(&var);
            let numel = var.numel() as i64;
            let sizes = var.size();
            let stored: Vec<i64> = order.iter().map(|&d| sizes[d as usize]).collect();
            let view = flat.narrow(0, offset, numel).view(stored.as_slice()).permute(inverse(&order).as_slice());
            let mut target = view.shallow_clone();
            target.copy_(&var);
            var.set_data(&view);
            slots.push(Slot { address: var.data_ptr() as usize, var, order });
            offset += numel;
        }
    });
    Ok((flat, slots))
}

/// The dimensions of `t` from the largest stride to the smallest (ties keep their order).
fn memory_order(t: &Tensor) -> Vec<i64> {
    let strides = t.stride();
    let mut order: Vec<i64> = (0..strides.len() as i64).collect();
    order.sort_by_key(|&d| std::cmp::Reverse(strides[d as usize]));
    order
}

/// The permutation that undoes `order`.
fn inverse(order: &[i64]) -> Vec<i64> {
    let mut inverse = vec![0; order.len()];
    for (position, &dim) in order.iter().enumerate() {
        inverse[dim as usize] = position as i64;
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::Module;

    /// A conv (4-D weight, stored channels-last as on a GPU) and a linear layer.
    fn model(seed: i64) -> (nn::VarStore, impl Module) {
        tch::manual_seed(seed);
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let conv = nn::conv2d(&root / "conv", 2, 3, 3, Default::default());
        let linear = nn::linear(&root / "fc", 3 * 4 * 4, 5, Default::default());
        tch::no_grad(|| {
            for (_, mut var) in vs.variables() {
                if var.dim() == 4 {
                    let nhwc = crate::augment::to_channels_last(&var);
                    var.set_data(&nhwc);
                }
            }
        });
        let net = nn::func(move |x| x.apply(&conv).relu().flatten(1, -1).apply(&linear));
        (vs, net)
    }

    /// A loss on inputs that depend on `step` only (tests run in parallel and share torch's RNG).
    fn loss_of(net: &impl Module, step: i64) -> Tensor {
        let x = Tensor::arange(8 * 2 * 6 * 6, (Kind::Float, Device::Cpu)).view([8, 2, 6, 6]);
        let x = (x * (0.37 * (step + 1) as f64)).sin();
        net.forward(&x).square().mean(Kind::Float)
    }

    fn by_name(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
        let mut named: Vec<_> = vs.variables().into_iter().collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        named
    }

    const CONFIG: SgdConfig =
        SgdConfig { learning_rate: 0.1, momentum: 0.9, weight_decay: 5e-4, nesterov: true, grad_clip: None };

    #[test]
    fn takes_the_same_steps_as_libtorch_sgd() {
        let (vs_ref, net_ref) = model(1);
        let (mut vs, net) = model(1);
        // The same start, whatever other tests did to the shared RNG meanwhile.
        vs.copy(&vs_ref).unwrap();
        let initial = by_name(&vs).into_iter().map(|(_, t)| t.copy()).collect::<Vec<_>>();
        let mut reference =
            nn::Sgd { momentum: 0.9, dampening: 0.0, wd: 5e-4, nesterov: true }.build(&vs_ref, 0.1).unwrap();
        let mut flat = Sgd::new(&vs, CONFIG).unwrap();
        for step in 0..6 {
            let lr = 0.1 / (step + 1) as f64;
            reference.set_lr(lr);
            flat.set_lr(lr);
            reference.backward_step(&loss_of(&net_ref, step));
            flat.backward_step(&loss_of(&net, step));
        }
        for (((name, want), (_, got)), initial) in by_name(&vs_ref).into_iter().zip(by_name(&vs)).zip(initial) {
            let gap = (&want - &got).abs().max().double_value(&[]);
            assert!(gap < 1e-6, "{name} differs by {gap}");
            let moved = (&got - initial).abs().max().double_value(&[]);
            assert!(moved > 1e-4, "{name} did not move");
        }
    }

    #[test]
    fn variables_keep_their_layout_and_share_one_buffer() {
        let (vs, _) = model(2);
        let before: Vec<(String, Vec<i64>, Tensor)> =
            by_name(&vs).into_iter().map(|(n, t)| (n, t.stride(), t.copy())).collect();
        let opt = Sgd::new(&vs, CONFIG).unwrap();
        for ((name, stride, value), (_, now)) in before.iter().zip(by_name(&vs)) {
            assert_eq!(&now.stride(), stride, "{name} changed layout");
            assert!(now.equal(value), "{name} changed value");
        }
        let base = opt.flat.data_ptr() as usize;
        let end = base + opt.flat.numel() * 4;
        for (name, var) in by_name(&vs) {
            let at = var.data_ptr() as usize;
            assert!((base..end).contains(&at), "{name} is not inside the buffer");
        }
    }

    #[test]
    fn zero_grad_drops_the_gradients() {
        let (vs, net) = model(3);
        let mut opt = Sgd::new(&vs, CONFIG).unwrap();
        loss_of(&net, 0).backward();
        assert!(vs.trainable_variables().iter().all(|v| v.grad().defined()));
        opt.zero_grad();
        assert!(vs.trainable_variables().iter().all(|v| !v.grad().defined()));
    }

    #[test]
    fn a_variable_replaced_after_building_still_trains() {
        let (vs, net) = model(4);
        let mut opt = Sgd::new(&vs, CONFIG).unwrap();
        let (name, mut weight) = by_name(&vs).into_iter().find(|(_, t)| t.dim() == 2).unwrap();
        tch::no_grad(|| weight.set_data(&weight.contiguous().copy()));
        let before = weight.copy();
        opt.backward_step(&loss_of(&net, 0));
        let moved = (&vs.variables()[&name] - before).abs().max().double_value(&[]);
        assert!(moved > 0.0, "{name} did not train after its data was replaced");
    }

    #[test]
    fn clipping_bounds_the_joint_gradient_norm() {
        let (vs, net) = model(5);
        let before = Tensor::cat(&vs.trainable_variables().iter().map(|v| v.flatten(0, -1)).collect::<Vec<_>>(), 0);
        let config =
            SgdConfig { learning_rate: 1.0, momentum: 0.0, weight_decay: 0.0, nesterov: false, grad_clip: Some(1e-3) };
        let mut opt = Sgd::new(&vs, config).unwrap();
        opt.backward_step(&loss_of(&net, 0));
        let after = Tensor::cat(&vs.trainable_variables().iter().map(|v| v.flatten(0, -1)).collect::<Vec<_>>(), 0);
        let step = (after - before).norm().double_value(&[]);
        assert!((step - 1e-3).abs() < 1e-6, "the step's norm is {step}, not the clip 1e-3");
    }
}
