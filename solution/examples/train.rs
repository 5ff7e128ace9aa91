//! Trains a ResNet-18 with `train_resnet18` and prints the figures of each epoch.
//!
//! ```text
//! cargo run --release --example train -- --data ~/cifar-10          # real CIFAR-10 (GPU if any)
//! cargo run --release --example train -- --data ~/cifar-10 --download --epochs 8
//! cargo run --release --example train                               # synthetic data, CPU, a minute
//! ```
//!
//! With `--data DIR`: CIFAR-10 from DIR (its `cifar-10-batches-bin` files; `--download` fetches and
//! checks them first), 45,000 training and 5,000 validation images as the grader splits them, the
//! notebook's ResNet-18 on the GPU when there is one, and at the end the accuracy on the official
//! test file. Without it: synthetic CIFAR-format data and a narrow network on the CPU.
//! `--epochs N` and `--width W` (the base width, 64 in the notebook) change the run.

use resnet_lab_solution::data::{cifar, download, synthetic};
use resnet_lab_solution::train::evaluate;
use resnet_lab_solution::{Error, Model, ResNetConfig, TrainConfig, TrainingData, train_resnet18};
use std::path::PathBuf;
use tch::Device;

/// What the command line asks for.
struct Options {
    data: Option<PathBuf>,
    download: bool,
    epochs: Option<usize>,
    width: Option<i64>,
}

fn parse() -> Result<Options, String> {
    let mut options = Options { data: None, download: false, epochs: None, width: None };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--data" => options.data = Some(PathBuf::from(value("--data")?)),
            "--download" => options.download = true,
            "--epochs" => options.epochs = Some(value("--epochs")?.parse().map_err(|e| format!("--epochs: {e}"))?),
            "--width" => options.width = Some(value("--width")?.parse().map_err(|e| format!("--width: {e}"))?),
            other => return Err(format!("unknown argument {other:?}; see the top of examples/train.rs")),
        }
    }
    if options.download && options.data.is_none() {
        return Err("--download needs --data DIR: the folder to download CIFAR-10 into".into());
    }
    Ok(options)
}

fn main() -> Result<(), Error> {
    let options = parse().unwrap_or_else(|problem| {
        eprintln!("train: {problem}");
        std::process::exit(2)
    });
    let (data, test, mut config) = match &options.data {
        Some(dir) => {
            let dir = if options.download {
                download::download_cifar10(dir, &download::DownloadOptions::default())?
            } else {
                dir.clone()
            };
            let all = cifar::load(&dir)?;
            let (train, validation) = all.train.split_at(45_000);
            (TrainingData { train, validation }, Some(all.test), TrainConfig { verbose: true, ..Default::default() })
        }
        None => {
            let data = TrainingData { train: synthetic::generate(2000, 1), validation: synthetic::generate(500, 2) };
            let config = TrainConfig {
                epochs: 2,
                batch_size: 64,
                peak_learning_rate: 0.05,
                device: Device::Cpu,
                model: ResNetConfig { base_width: 16, ..Default::default() },
                verbose: true,
                ..Default::default()
            };
            (data, None, config)
        }
    };
    config.epochs = options.epochs.unwrap_or(config.epochs);
    config.model.base_width = options.width.unwrap_or(config.model.base_width);
    println!(
        "training ResNet-18 (base width {}) for {} epochs on {} images, on {:?}",
        config.model.base_width,
        config.epochs,
        data.train.len(),
        config.device
    );
    let mut model = Model::resnet18(&config.model, config.device);
    let started = std::time::Instant::now();
    let report = train_resnet18(&mut model, &data, &config)?;
    println!("validation accuracy {:.1}% in {:.1} s", report.accuracy, started.elapsed().as_secs_f64());
    if let Some(test) = test {
        println!(
            "test accuracy {:.1}% (the grader measures the same way, with its own run)",
            evaluate(&*model.net, &test.to_device(config.device), &config)
        );
    }
    Ok(())
}
