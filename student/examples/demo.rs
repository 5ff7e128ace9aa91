//! The notebook's two demonstrations, as pictures:
//!
//! - `degradation`: a shallow and a deep plain network (no skip connections) and a ResNet as deep
//!   as the deep one, trained the same way; the deep plain net trains *worse* than the shallow one
//!   (the degradation problem) while the ResNet does not.
//! - `landscape`: the loss along a random filter-normalized direction through the trained weights
//!   of the deep plain net and the ResNet: the plain net's valley is sharper.
//!
//! `cargo run --release --example demo -- degradation|landscape [--data DIR] [--out DIR] [--epochs N]`
//! On a GPU with CIFAR-10 (`--data`) it trains full-width networks on the real data; on a CPU it
//! runs a shortened version on synthetic data (narrow networks, a few thousand images, minutes).

use resnet_lab::data::{cifar, synthetic};
use resnet_lab::demos::{degradation, landscape};
use resnet_lab::plots::write_svg;
use resnet_lab::{Error, ResNetConfig, TrainConfig, TrainingData};
use std::path::PathBuf;
use tch::Device;

struct Options {
    demo: String,
    data: Option<PathBuf>,
    out: PathBuf,
    epochs: Option<usize>,
}

fn options() -> Options {
    let mut args = std::env::args().skip(1);
    let mut options =
        Options { demo: String::new(), data: None, out: PathBuf::from("target/demo-plots"), epochs: None };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => options.data = args.next().map(PathBuf::from),
            "--out" => options.out = args.next().map(PathBuf::from).unwrap_or(options.out),
            "--epochs" => options.epochs = args.next().and_then(|e| e.parse().ok()),
            name => options.demo = name.to_string(),
        }
    }
    options
}

fn main() -> Result<(), Error> {
    let options = options();
    if !matches!(options.demo.as_str(), "degradation" | "landscape") {
        eprintln!("usage: demo degradation|landscape [--data CIFAR_DIR] [--out DIR] [--epochs N]");
        std::process::exit(2);
    }
    let device = Device::cuda_if_available();
    let (data, config) = match &options.data {
        Some(dir) if device.is_cuda() => {
            let (train, validation) = cifar::load_train(dir)?.split_at(45_000);
            let config =
                TrainConfig { epochs: options.epochs.unwrap_or(8), device, verbose: true, ..Default::default() };
            (TrainingData { train, validation }, config)
        }
        _ => {
            let data = TrainingData { train: synthetic::generate(3000, 1), validation: synthetic::generate(500, 2) };
            let config = TrainConfig {
                epochs: options.epochs.unwrap_or(4),
                batch_size: 64,
                peak_learning_rate: 0.05,
                device,
                model: ResNetConfig { base_width: 8, ..Default::default() },
                verbose: true,
                ..Default::default()
            };
            (data, config)
        }
    };
    std::fs::create_dir_all(&options.out).map_err(|source| Error::Io { path: options.out.clone(), source })?;
    let (path, svg) = if options.demo == "degradation" {
        let (histories, svg) = degradation(&data, &config)?;
        for (name, history) in &histories {
            let last = history.last().expect("at least one epoch");
            println!("{name}: final train loss {:.3}, validation {:.1}%", last.train_loss, last.validation_accuracy);
        }
        (options.out.join("degradation.svg"), svg)
    } else {
        let (slices, svg) = landscape(&data, &config, 500)?;
        for (name, slice) in &slices {
            let ends = (slice[0].1, slice[slice.len() / 2].1, slice[slice.len() - 1].1);
            println!("{name}: loss at α = -1, 0, 1: {:.3}, {:.3}, {:.3}", ends.0, ends.1, ends.2);
        }
        (options.out.join("landscape.svg"), svg)
    };
    write_svg(&path, &svg)?;
    println!("{}", path.display());
    Ok(())
}
