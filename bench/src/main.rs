//! `resnet-bench`: trains the solution's ResNet-18 with the recipe the grader uses and prints, per
//! run, steady throughput, seconds from process start to 75% and 90% test accuracy, the final
//! accuracy and the fraction of the GPU's arithmetic peak used. Writes the table as JSON.
//!
//! `make bench` runs it (synthetic data on a CPU); on a GPU: `resnet-bench --data DIR --runs 3`.

use anyhow::{Context, Result};
use clap::Parser;
use reference::data::{cifar, synthetic};
use reference::train::{LrSchedule, evaluate, prepare_variables, seed_everything, sgd, steps_per_epoch, train_epoch};
use reference::{Model, ResNetConfig, TrainConfig};
use std::time::Instant;
use tch::Device;

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
    /// Epochs of the one-cycle schedule.
    #[arg(long, default_value_t = 8)]
    epochs: usize,
    /// Batch size.
    #[arg(long, default_value_t = 512)]
    batch_size: i64,
    /// Peak learning rate.
    #[arg(long, default_value_t = 0.4)]
    lr: f64,
    /// Base width (64 = the notebook's ResNet-18).
    #[arg(long, default_value_t = 64)]
    width: i64,
    /// Dense fp16 peak of the GPU in TFLOP/s, for the utilization column (H100/H200 ≈ 989).
    #[arg(long, default_value_t = 989.0)]
    peak_tflops: f64,
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

fn main() -> Result<()> {
    let born = Instant::now() - std::time::Duration::from_secs_f64(process_age());
    let args = Args::parse();
    let device = Device::cuda_if_available();
    let (train, test) = match &args.data {
        Some(dir) => {
            let data = cifar::load(dir).with_context(|| format!("loading CIFAR-10 from {}", dir.display()))?;
            (data.train, data.test)
        }
        None => (synthetic::generate(2048, 1), synthetic::generate(1024, 2)),
    };
    let (train, test) = (train.to_device(device), test.to_device(device));
    let data_ready = born.elapsed().as_secs_f64();
    eprintln!("device {device:?}; data on the device {data_ready:.2} s after process start");
    let mut rows = Vec::new();
    for seed in 0..args.runs {
        let run_start = born.elapsed().as_secs_f64();
        let config = TrainConfig {
            epochs: args.epochs,
            batch_size: args.batch_size,
            peak_learning_rate: args.lr,
            device,
            seed,
            model: ResNetConfig { base_width: args.width, ..Default::default() },
            ..Default::default()
        };
        seed_everything(seed);
        let model = Model::resnet18(&config.model, device);
        prepare_variables(&model.vs, &config);
        let mut opt = sgd(&model.vs, &config)?;
        let steps = steps_per_epoch(train.len(), config.batch_size);
        let schedule = LrSchedule::one_cycle(config.peak_learning_rate, config.warmup_fraction, steps * config.epochs);
        let (mut t75, mut t90, mut final_acc) = (None, None, 0.0);
        let mut epoch_seconds = Vec::new();
        for epoch in 0..config.epochs {
            let t = Instant::now();
            train_epoch(&*model.net, &mut opt, &train, &config, &schedule, epoch * steps);
            if device.is_cuda() {
                tch::Cuda::synchronize(0);
            }
            epoch_seconds.push(t.elapsed().as_secs_f64());
            final_acc = evaluate(&*model.net, &test, &config);
            let now = born.elapsed().as_secs_f64();
            if final_acc >= 75.0 && t75.is_none() {
                t75 = Some(now);
            }
            if final_acc >= 90.0 && t90.is_none() {
                t90 = Some(now);
            }
            eprintln!("run {seed} epoch {} test {final_acc:.2}% ({:.2} s)", epoch + 1, epoch_seconds[epoch]);
        }
        let steady: Vec<f64> = epoch_seconds.iter().skip(1).copied().collect();
        let steady_s =
            if steady.is_empty() { epoch_seconds[0] } else { steady.iter().sum::<f64>() / steady.len() as f64 };
        let img_s = train.len() as f64 / steady_s;
        let utilization = img_s * TRAIN_FLOP_PER_IMAGE * (args.width as f64 / 64.0).powi(2) / (args.peak_tflops * 1e12);
        rows.push(serde_json::json!({
            "seed": seed, "device": format!("{device:?}"), "epochs": args.epochs, "batch_size": args.batch_size,
            "first_epoch_s": epoch_seconds[0], "steady_epoch_s": steady_s, "img_per_s": img_s,
            "run_started_s": run_start, "s_to_75": t75, "s_to_90": t90, "final_test_accuracy": final_acc,
            "peak_fraction": utilization, "data_ready_s": data_ready,
        }));
    }
    println!(
        "{:<5} {:>6} {:>9} {:>10} {:>12} {:>12} {:>9} {:>7}",
        "seed", "epochs", "img/s", "1st ep s", "start→75% s", "start→90% s", "final %", "peak"
    );
    for r in &rows {
        let opt = |v: &serde_json::Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.2}"));
        println!(
            "{:<5} {:>6} {:>9.0} {:>10.2} {:>12} {:>12} {:>9.2} {:>6.1}%",
            r["seed"],
            r["epochs"],
            r["img_per_s"].as_f64().unwrap(),
            r["first_epoch_s"].as_f64().unwrap(),
            opt(&r["s_to_75"]),
            opt(&r["s_to_90"]),
            r["final_test_accuracy"].as_f64().unwrap(),
            100.0 * r["peak_fraction"].as_f64().unwrap()
        );
    }
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&rows)?)?;
    Ok(())
}
