//! Trains a ResNet-18 on the synthetic dataset on the CPU and prints the per-epoch figures:
//! `cargo run --example train -- [train examples] [epochs] [base width]`.

use resnet_lab_solution::data::synthetic;
use resnet_lab_solution::{Model, ResNetConfig, TrainConfig, TrainingData, train_resnet18};
use tch::Device;

fn main() -> Result<(), resnet_lab_solution::Error> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let (n, epochs, width) =
        (args.first().copied().unwrap_or(2000), args.get(1).copied().unwrap_or(2), args.get(2).copied().unwrap_or(16));
    let data = TrainingData { train: synthetic::generate(n as i64, 1), validation: synthetic::generate(500, 2) };
    let config = TrainConfig {
        epochs,
        batch_size: 64,
        peak_learning_rate: 0.05,
        device: Device::Cpu,
        model: ResNetConfig { base_width: width as i64, ..Default::default() },
        verbose: true,
        ..Default::default()
    };
    let mut model = Model::resnet18(&config.model, config.device);
    let started = std::time::Instant::now();
    let report = train_resnet18(&mut model, &data, &config)?;
    println!("validation accuracy {:.1}% in {:.1} s", report.accuracy, started.elapsed().as_secs_f64());
    Ok(())
}
