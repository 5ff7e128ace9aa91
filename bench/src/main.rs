//! `resnet-bench`: trains the solution's ResNet-18 with the recipe the grader uses and prints, per
//! run, steady throughput, seconds from process start to 75% and 90% test accuracy, the final
//! accuracy and the fraction of the GPU's arithmetic peak used. Writes the table as JSON.
//!
//! Before the runs it prints where the first seconds went: CUDA context, reading the data (on a
//! second thread), the optional warm-up, the upload. Each run's first epoch shows what planning the
//! GPU kernels for the training shapes costs.
//!
//! `make bench` runs it (synthetic data on a CPU); on a GPU: `make bench DATA=dir`, which also runs
//! `bench/pytorch_baseline.py` right after and prints the throughput ratio.

use anyhow::{Context, Result};
use clap::Parser;
use reference::Dataset;
use reference::data::{cifar, synthetic};
use reference::train::{LrSchedule, evaluate, prepare_variables, seed_everything, sgd, steps_per_epoch, train_epoch};
use reference::{Model, ResNetConfig, TrainConfig};
use std::time::Instant;
use tch::{Device, Kind, Tensor};

/// Training FLOPs per 32×32 image for the CIFAR ResNet-18 (≈ 3 × 1.1 GFLOP forward).
const TRAIN_FLOP_PER_IMAGE: f64 = 3.3e9;

#[derive(Debug, Parser)]
#[command(about = "Times the solution's training path")]
struct Args {
    /// CIFAR-10 folder; without it, synthetic data.
    #[arg(long)]
    data: Option<std::path::PathBuf>,
    /// Training runs (seeds 0, 1, …) in this process.
    #[arg(long, default_value_t = 3)]
    runs: u64,
    /// Epochs of the one-cycle schedule (5 at 0.2: the full profile's recipe; 12 at 0.4 reaches 90%).
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 512)]
    batch_size: i64,
    /// Peak learning rate.
    #[arg(long, default_value_t = 0.2)]
    lr: f64,
    /// Base width (64 = the notebook's ResNet-18).
    #[arg(long, default_value_t = 64)]
    width: i64,
    /// Dense fp16 peak of the GPU in TFLOP/s, for the utilization column (H100/H200 ≈ 989).
    #[arg(long, default_value_t = 989.0)]
    peak_tflops: f64,
    /// Examples per evaluation batch.
    #[arg(long, default_value_t = 1000)]
    eval_batch_size: i64,
    /// Before the first run, one training step and one evaluation batch of a throwaway model, while
    /// the data loads on another thread (so the first real epoch starts with planned kernels). On
    /// an H100 it took 0.92 s and saved the first epoch 0.88 s: no gain, hence off.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    warm_up: bool,
    /// Where to write the JSON table.
    #[arg(long, default_value = "target/bench/bench.json")]
    out: std::path::PathBuf,
}

/// Seconds since this process started (from /proc; 0 where unavailable).
fn process_age() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let ticks: f64 =
        stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().nth(19)?.parse().ok()).unwrap_or(0.0);
    let hz = 100.0;
    if ticks > 0.0 { (uptime - ticks / hz).max(0.0) } else { 0.0 }
}

/// Reads CIFAR-10 (or makes synthetic data) on the CPU.
fn load(data: Option<std::path::PathBuf>) -> Result<(Dataset, Dataset)> {
    Ok(match data {
        Some(dir) => {
            let data = cifar::load(&dir).with_context(|| format!("loading CIFAR-10 from {}", dir.display()))?;
            (data.train, data.test)
        }
        None => (synthetic::generate(2048, 1), synthetic::generate(1024, 2)),
    })
}

/// One training step and one evaluation batch of a throwaway model with `config`'s shapes: the GPU
/// libraries choose and load their kernels for these shapes here instead of in the first epoch.
fn warm_up(config: &TrainConfig) -> Result<()> {
    let model = Model::resnet18(&config.model, config.device);
    prepare_variables(&model.vs, config);
    let mut opt = sgd(&model.vs, config)?;
    let batch = synthetic::generate(config.batch_size.max(config.eval_batch_size), 7).to_device(config.device);
    let train = batch.slice(0, config.batch_size);
    let schedule = LrSchedule::one_cycle(config.peak_learning_rate, config.warmup_fraction, 1);
    train_epoch(&*model.net, &mut opt, &train, config, &schedule, 0);
    evaluate(&*model.net, &batch.slice(0, config.eval_batch_size), config);
    Ok(())
}

/// The GPU's name as `nvidia-smi` says it, or the device's debug name.
fn device_name(device: Device) -> String {
    let smi = std::process::Command::new("nvidia-smi").args(["--query-gpu=name", "--format=csv,noheader"]).output();
    match smi {
        Ok(out) if device.is_cuda() && out.status.success() => {
            String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("cuda").trim().to_string()
        }
        _ => format!("{device:?}").to_lowercase(),
    }
}

/// What one run's epochs took and reached.
struct Epochs {
    /// Seconds of each epoch's training.
    seconds: Vec<f64>,
    /// Seconds from process start until the test accuracy first reached 75%.
    reached_75: Option<f64>,
    /// … and 90%.
    reached_90: Option<f64>,
    /// The test accuracy after the last epoch.
    final_accuracy: f64,
}

/// Trains `model` with `config`'s one-cycle schedule on the first of `data`, timing each epoch and
/// testing on the second after it; `born` is when the process started.
fn timed_epochs(
    model: &Model,
    (train, test): (&Dataset, &Dataset),
    config: &TrainConfig,
    seed: u64,
    born: Instant,
) -> Result<Epochs> {
    prepare_variables(&model.vs, config);
    let mut opt = sgd(&model.vs, config)?;
    let steps = steps_per_epoch(train.len(), config.batch_size);
    let schedule = LrSchedule::one_cycle(config.peak_learning_rate, config.warmup_fraction, steps * config.epochs);
    let mut epochs = Epochs { seconds: Vec::new(), reached_75: None, reached_90: None, final_accuracy: 0.0 };
    for epoch in 0..config.epochs {
        let t = Instant::now();
        train_epoch(&*model.net, &mut opt, train, config, &schedule, epoch * steps);
        if config.device.is_cuda() {
            tch::Cuda::synchronize(0);
        }
        epochs.seconds.push(t.elapsed().as_secs_f64());
        let accuracy = evaluate(&*model.net, test, config);
        let now = born.elapsed().as_secs_f64();
        if accuracy >= 75.0 {
            epochs.reached_75.get_or_insert(now);
        }
        if accuracy >= 90.0 {
            epochs.reached_90.get_or_insert(now);
        }
        epochs.final_accuracy = accuracy;
        eprintln!("run {seed} epoch {} test {accuracy:.2}% ({:.2} s)", epoch + 1, epochs.seconds[epoch]);
    }
    Ok(epochs)
}

fn main() -> Result<()> {
    let born = Instant::now() - std::time::Duration::from_secs_f64(process_age());
    let args = Args::parse();
    let since_start = || born.elapsed().as_secs_f64();
    let loader = std::thread::spawn({
        let data = args.data.clone();
        move || {
            let read = Instant::now();
            load(data).map(|sets| (sets, read.elapsed().as_secs_f64()))
        }
    });
    let device = Device::cuda_if_available();
    let _context = Tensor::zeros([1], (Kind::Float, device));
    let device_ready = since_start();
    let config_for = |seed| TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        eval_batch_size: args.eval_batch_size,
        peak_learning_rate: args.lr,
        device,
        seed,
        model: ResNetConfig { base_width: args.width, ..Default::default() },
        ..Default::default()
    };
    let warm_up_s = if args.warm_up {
        let t = Instant::now();
        warm_up(&config_for(0))?;
        if device.is_cuda() {
            tch::Cuda::synchronize(0);
        }
        Some(t.elapsed().as_secs_f64())
    } else {
        None
    };
    let ((train, test), read_s) = loader.join().map_err(|_| anyhow::anyhow!("the data loader panicked"))??;
    let (train, test) = (train.to_device(device), test.to_device(device));
    let data_ready = since_start();
    let gpu = device_name(device);
    let mode = mode_label(&config_for(0), args.warm_up);
    eprintln!(
        "{gpu}: device ready {device_ready:.2} s, data read {read_s:.2} s (in parallel), warm-up {}, data on the device {data_ready:.2} s after process start",
        warm_up_s.map_or("off".to_string(), |s| format!("{s:.2} s"))
    );
    let mut rows = Vec::new();
    for seed in 0..args.runs {
        let run_start = born.elapsed().as_secs_f64();
        let config = config_for(seed);
        seed_everything(seed);
        let model = Model::resnet18(&config.model, device);
        let Epochs { seconds: epoch_seconds, reached_75: t75, reached_90: t90, final_accuracy: final_acc } =
            timed_epochs(&model, (&train, &test), &config, seed, born)?;
        let steps = steps_per_epoch(train.len(), config.batch_size);
        let steady: Vec<f64> = epoch_seconds.iter().skip(1).copied().collect();
        let steady_s =
            if steady.is_empty() { epoch_seconds[0] } else { steady.iter().sum::<f64>() / steady.len() as f64 };
        let img_s = (steps as i64 * config.batch_size.min(train.len())) as f64 / steady_s;
        let utilization = img_s * TRAIN_FLOP_PER_IMAGE * (args.width as f64 / 64.0).powi(2) / (args.peak_tflops * 1e12);
        rows.push(serde_json::json!({
            "seed": seed, "device": gpu, "mode": mode, "epochs": args.epochs, "batch_size": args.batch_size,
            "device_ready_s": device_ready, "data_read_s": read_s, "warm_up_s": warm_up_s,
            "first_epoch_s": epoch_seconds[0], "steady_epoch_s": steady_s, "img_per_s": img_s,
            "run_started_s": run_start, "s_to_75": t75, "s_to_90": t90, "final_test_accuracy": final_acc,
            "peak_fraction": utilization, "data_ready_s": data_ready,
        }));
    }
    print_table(&rows, &gpu, &mode);
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&rows)?)?;
    Ok(())
}

/// What the training path uses, in a word per option: `fp16+nhwc+flat-sgd+warm-up`.
fn mode_label(config: &TrainConfig, warm_up: bool) -> String {
    let mut parts = vec![if config.autocast() { "fp16" } else { "fp32" }];
    if config.nhwc() {
        parts.push("nhwc");
    }
    parts.push("flat-sgd");
    if warm_up {
        parts.push("warm-up");
    }
    parts.join("+")
}

/// One line per run.
fn print_table(rows: &[serde_json::Value], gpu: &str, mode: &str) {
    println!(
        "{:<24} {:<22} {:<5} {:>6} {:>9} {:>10} {:>12} {:>12} {:>9} {:>7}",
        "device", "mode", "seed", "epochs", "img/s", "1st ep s", "start→75% s", "start→90% s", "final %", "peak"
    );
    for r in rows {
        let opt = |v: &serde_json::Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.2}"));
        println!(
            "{:<24} {:<22} {:<5} {:>6} {:>9.0} {:>10.2} {:>12} {:>12} {:>9.2} {:>6.1}%",
            gpu,
            mode,
            r["seed"],
            r["epochs"],
            r["img_per_s"].as_f64().unwrap_or(f64::NAN),
            r["first_epoch_s"].as_f64().unwrap_or(f64::NAN),
            opt(&r["s_to_75"]),
            opt(&r["s_to_90"]),
            r["final_test_accuracy"].as_f64().unwrap_or(f64::NAN),
            100.0 * r["peak_fraction"].as_f64().unwrap_or(f64::NAN)
        );
    }
}
