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
use resnet_lab::landscape::{linspace, loss_slice};
use resnet_lab::plots::{loss_landscape, training_curves, write_svg};
use resnet_lab::{EpochStats, Error, Model, ResNetConfig, TrainConfig, TrainingData, plain_net, resnet};
use std::path::PathBuf;
use tch::Device;

/// The networks compared: name, blocks per stage, residual or plain.
const NETWORKS: [(&str, [usize; 4], bool); 3] =
    [("plain-18", [2, 2, 2, 2], false), ("plain-34", [3, 4, 6, 3], false), ("resnet-34", [3, 4, 6, 3], true)];

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

fn build(name: &str, blocks: [usize; 4], residual: bool, config: &ResNetConfig, device: Device) -> Model {
    let vs = tch::nn::VarStore::new(device);
    let net: Box<dyn tch::nn::ModuleT> = if residual {
        Box::new(resnet::ResNet::<resnet_lab::BasicBlock>::new(&vs.root(), blocks, config))
    } else {
        Box::new(plain_net(&vs.root(), blocks, config))
    };
    eprintln!("training {name}");
    Model { vs, net, config: *config }
}

fn main() -> Result<(), Error> {
    let options = options();
    if !matches!(options.demo.as_str(), "degradation" | "landscape") {
        eprintln!("usage: demo degradation|landscape [--data CIFAR_DIR] [--out DIR] [--epochs N]");
        std::process::exit(2);
    }
    let device = Device::cuda_if_available();
    let gpu = device.is_cuda() && options.data.is_some();
    let (data, config) = match (&options.data, gpu) {
        (Some(dir), true) => {
            let all = cifar::load_train(dir)?;
            let (train, validation) = all.split_at(45_000);
            let config = TrainConfig { epochs: options.epochs.unwrap_or(8), device, ..Default::default() };
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
                ..Default::default()
            };
            (data, config)
        }
    };
    std::fs::create_dir_all(&options.out).map_err(|source| Error::Io { path: options.out.clone(), source })?;
    let mut histories: Vec<(&str, Vec<EpochStats>)> = Vec::new();
    let mut slices: Vec<(&str, Vec<(f64, f64)>)> = Vec::new();
    let networks: Vec<_> =
        NETWORKS.iter().filter(|(name, _, _)| options.demo == "degradation" || *name != "plain-18").collect();
    for &&(name, blocks, residual) in &networks {
        let mut model = build(name, blocks, residual, &config.model, device);
        let report = resnet_lab::train_resnet18(&mut model, &data, &config)?;
        for stats in &report.history {
            eprintln!(
                "  epoch {}: train loss {:.3}, validation {:.1}%",
                stats.epoch, stats.train_loss, stats.validation_accuracy
            );
        }
        histories.push((name, report.history));
        if options.demo == "landscape" {
            let batch = data.validation.to_device(device).slice(0, 500);
            let alphas = linspace(-1.0, 1.0, 21);
            slices.push((name, loss_slice(&*model.net, &model.vs, &batch.images, &batch.labels, &config, &alphas, 7)));
        }
    }
    let (path, svg) = if options.demo == "degradation" {
        let series: Vec<(&str, &[EpochStats])> = histories.iter().map(|(n, h)| (*n, h.as_slice())).collect();
        (options.out.join("degradation.svg"), training_curves(&series, 75.0)?)
    } else {
        let series: Vec<(&str, &[(f64, f64)])> = slices.iter().map(|(n, s)| (*n, s.as_slice())).collect();
        (options.out.join("landscape.svg"), loss_landscape(&series)?)
    };
    write_svg(&path, &svg)?;
    let summary: Vec<serde_json::Value> = histories
        .iter()
        .map(|(name, h)| serde_json::json!({"network": name, "final_train_loss": h.last().map(|s| s.train_loss), "final_validation_accuracy": h.last().map(|s| s.validation_accuracy)}))
        .collect();
    println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
    println!("{}", path.display());
    Ok(())
}
