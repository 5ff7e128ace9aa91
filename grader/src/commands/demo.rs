//! `grader demo`: the notebook's demonstrations as pictures — the degradation problem (plain nets
//! against a ResNet of the same depth) and the 1-D loss landscape. Runs the assignment crate's
//! `demo` example in release mode (the instructor's workspace runs the solution's; the handout,
//! the student crate's, which needs a working BasicBlock).

use crate::exit::Exit;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// Which demonstration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Demo {
    /// Shallow and deep plain nets and a ResNet: training loss and validation accuracy per epoch.
    Degradation,
    /// Loss along a random direction through the trained weights, plain net against ResNet.
    Landscape,
}

/// Arguments of `grader demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The demonstration.
    #[arg(value_enum)]
    demo: Demo,
    /// CIFAR-10 folder: with a GPU, full-width networks on the real data; otherwise a shortened
    /// synthetic version runs on the CPU.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where the SVG goes.
    #[arg(long, default_value = "target/demo-plots")]
    out: PathBuf,
    /// Epochs per network.
    #[arg(long)]
    epochs: Option<usize>,
}

/// Runs the command: success when the example succeeded.
pub fn run(args: Args) -> Result<Exit> {
    let root = crate::run::worker_build::Workspace::locate()?.root;
    // BEGIN HIDDEN
    let (package, example) = if root.join("solution/Cargo.toml").is_file() {
        ("resnet-lab-solution", "solution-demo")
    } else {
        ("resnet-lab-student", "demo")
    };
    // END HIDDEN
    // HANDOUT: let (package, example) = ("resnet-lab-student", "demo");
    let name = match args.demo {
        Demo::Degradation => "degradation",
        Demo::Landscape => "landscape",
    };
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(&root).args(["run", "--release", "--quiet", "-p", package, "--example", example, "--", name]);
    command.arg("--out").arg(&args.out);
    if let Some(data) = &args.data {
        command.arg("--data").arg(data);
    }
    if let Some(epochs) = args.epochs {
        command.args(["--epochs", &epochs.to_string()]);
    }
    let status = command.status().context("cannot run cargo")?;
    if !status.success() {
        anyhow::bail!("the {name} demonstration failed ({status}); its output above says why");
    }
    Ok(Exit::Success)
}
