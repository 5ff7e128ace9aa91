//! The reference solution *is* the notebook's network: the same weights, loaded by name into the
//! notebook's PyTorch `BasicBlock`, `Bottleneck` and ResNet-18 (tests/parity/notebook_resnet.py),
//! give the same eval-mode outputs within 1e-5. Needs the build venv's Python with torch and
//! safetensors (`make setup` installs both); set RESNET_LAB_PYTHON to use another interpreter.

use resnet_lab_solution::{BasicBlock, BottleneckBlock, Downsample, Norm, ResNetConfig, resnet18};
use std::path::{Path, PathBuf};
use tch::nn::{ModuleT, VarStore};
use tch::{Device, Kind, Tensor};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn python() -> PathBuf {
    std::env::var_os("RESNET_LAB_PYTHON").map(PathBuf::from).unwrap_or_else(|| root().join(".venv/bin/python"))
}

/// Non-trivial BatchNorm statistics, so that evaluation mode really uses them.
fn randomize_batch_norm(vs: &VarStore) {
    tch::no_grad(|| {
        for (name, mut t) in vs.variables() {
            if name.ends_with("running_mean") || (name.ends_with("bias") && name.contains("bn")) {
                t.copy_(&(Tensor::randn_like(&t) * 0.1));
            } else if name.ends_with("running_var") || (name.ends_with("weight") && t.dim() == 1) {
                t.copy_(&(Tensor::rand_like(&t) + 0.5));
            }
        }
    });
}

fn save(dir: &Path, name: &str, vs: &VarStore, net: &dyn ModuleT, input: [i64; 4]) {
    randomize_batch_norm(vs);
    vs.save(dir.join(format!("{name}.weights.safetensors"))).unwrap();
    let x = Tensor::randn(input, (Kind::Float, Device::Cpu));
    let y = tch::no_grad(|| net.forward_t(&x, false));
    Tensor::write_safetensors(&[("input", &x), ("output", &y)], dir.join(format!("{name}.io.safetensors"))).unwrap();
}

#[test]
fn outputs_match_the_notebooks_pytorch_model() {
    tch::manual_seed(0);
    let dir = tempfile::tempdir().unwrap();

    let vs = VarStore::new(Device::Cpu);
    let ds = Downsample::new(&(vs.root() / "downsample"), 64, 128, 2, Norm::BatchNorm);
    let block = BasicBlock::new(&vs.root(), 64, 128, 2, Some(ds), Norm::BatchNorm);
    save(dir.path(), "basic_block", &vs, &block, [2, 64, 16, 16]);

    let vs = VarStore::new(Device::Cpu);
    let ds = Downsample::new(&(vs.root() / "downsample"), 256, 512, 2, Norm::BatchNorm);
    let block = BottleneckBlock::new(&vs.root(), 256, 128, 2, Some(ds), Norm::BatchNorm);
    save(dir.path(), "bottleneck", &vs, &block, [2, 256, 8, 8]);

    let vs = VarStore::new(Device::Cpu);
    let net = resnet18(&vs.root(), &ResNetConfig::default());
    save(dir.path(), "resnet18", &vs, &net, [2, 3, 32, 32]);

    let python = python();
    assert!(
        python.exists(),
        "{} does not exist: run `make setup` (it installs torch and safetensors into .venv) or set RESNET_LAB_PYTHON",
        python.display()
    );
    let output = std::process::Command::new(&python)
        .arg(root().join("tests/parity/notebook_resnet.py"))
        .arg(dir.path())
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "PyTorch disagrees with the solution:\n{text}");
    assert_eq!(text.matches("max relative difference").count(), 3, "{text}");
    println!("{text}");
}
