//! The hidden block checks (instructors only; the handout leaves this file out).
//! The judge also builds the reference block and compares on weights drawn per run, which the worker
//! loads into the student's block by name; when outputs differ, it replays them through blocks with
//! the usual mistakes and names the one the student's block reproduces.

use super::*;
use tch::nn::{ModuleT, VarStore};

impl Block {
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

    /// The reference block, on the root of `vs`.
    fn reference(self, vs: &VarStore, c: &Case) -> Box<dyn ModuleT> {
        let p = vs.root();
        let out = c.planes * self.expansion();
        let ds = self.needs_downsample(c).then(|| {
            reference::Downsample::new(&(&p / "downsample"), c.in_channels, out, c.stride, reference::Norm::BatchNorm)
        });
        match self {
            Self::Basic => build::<reference::BasicBlock>(&p, c, ds),
            Self::Bottleneck => build::<reference::BottleneckBlock>(&p, c, ds),
        }
    }
}

/// A reference block of type `B` for case `c` on `p`, with BatchNorm.
fn build<B: reference::ResidualBlock>(
    p: &tch::nn::Path,
    c: &Case,
    downsample: Option<reference::Downsample>,
) -> Box<dyn ModuleT> {
    Box::new(B::build(p, c.in_channels, c.planes, c.stride, downsample, reference::Norm::BatchNorm))
}

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
