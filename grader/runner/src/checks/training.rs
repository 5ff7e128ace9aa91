//! Checks of exercise 4: training ResNet-18.
//!
//! `training.runs` calls the student's `train_resnet18` on the grader's own ResNet-18 with the
//! training and validation splits only, and keeps the trained weights and the report in the
//! scratch folder. The other two checks run in processes that never call student code: they load
//! those weights into the reference ResNet-18 and measure test and validation accuracy themselves.

use super::{CheckResult, Outcomes};
use crate::context::{Context, grader_model, measure};
use crate::weights;
use grader::protocol::Outcome;
use serde_json::json;
use tch::nn::VarStore;

const WEIGHTS: &str = "training/model.safetensors";
const REPORT: &str = "training/report.json";

/// Checks a returned history: one entry per epoch, numbered, with finite values.
pub fn validate_history(report: &assignment::TrainingReport, epochs: usize) -> Result<(), String> {
    let h = &report.history;
    if h.len() != epochs {
        return Err(format!("the history has {} entries for {epochs} epochs", h.len()));
    }
    for (i, s) in h.iter().enumerate() {
        if s.epoch != i + 1 {
            return Err(format!("history entry {} says epoch {}; number epochs from 1", i + 1, s.epoch));
        }
        let values = [s.train_loss, s.train_accuracy, s.validation_accuracy, s.learning_rate, s.seconds];
        if values.iter().any(|v| !v.is_finite()) {
            return Err(format!(
                "epoch {} has a value that is not finite (loss {}, train accuracy {}, validation accuracy {}): did training diverge?",
                s.epoch, s.train_loss, s.train_accuracy, s.validation_accuracy
            ));
        }
        if !(0.0..=100.0).contains(&s.validation_accuracy) || !(0.0..=100.0).contains(&s.train_accuracy) {
            return Err(format!("epoch {} reports an accuracy outside 0-100%: accuracies are percentages", s.epoch));
        }
    }
    if !report.accuracy.is_finite() || !(0.0..=100.0).contains(&report.accuracy) {
        return Err(format!("the reported accuracy {} is not a percentage", report.accuracy));
    }
    Ok(())
}

/// Public: trains and returns a valid history; keeps the weights for the measuring checks.
/// Counts the examples a network sees in training and in evaluation mode.
#[derive(Debug)]
struct ModeSpy {
    inner: Box<dyn tch::nn::ModuleT>,
    evaluated: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl tch::nn::ModuleT for ModeSpy {
    fn forward_t(&self, xs: &tch::Tensor, train: bool) -> tch::Tensor {
        if !train {
            self.evaluated.fetch_add(xs.size().first().copied().unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
        }
        self.inner.forward_t(xs, train)
    }
}

/// Share of the points of `training.runs` kept when validation never ran in evaluation mode.
const WITHOUT_EVALUATION_MODE: f64 = 1.0 / 3.0;

pub fn runs(ctx: &Context) -> CheckResult {
    let data = ctx.student_data(None)?;
    let config = ctx.student_train_config(ctx.profile.epochs);
    tch::manual_seed(ctx.request.seed as i64);
    let evaluated = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let assignment::Model { vs, net, config: model_config } = grader_model(&config.model, ctx.device);
    let spy = ModeSpy { inner: net, evaluated: evaluated.clone() };
    let mut model = assignment::Model { vs, net: Box::new(spy), config: model_config };
    let initial: Vec<tch::Tensor> = model.vs.trainable_variables().iter().map(|t| t.detach().copy()).collect();
    let started = std::time::Instant::now();
    let report = match assignment::train_resnet18(&mut model, &data, &config) {
        Ok(report) => report,
        Err(e) => return Ok(Outcomes::from(Outcome::fail(format!("train_resnet18 returned an error: {e}")))),
    };
    let seconds = started.elapsed().as_secs_f64();
    weights::save(&model.vs, &ctx.artifact(WEIGHTS))?;
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(ctx.artifact(REPORT), text).map_err(|e| format!("cannot write the report: {e}"))?;
    let details = json!({"report": report, "seconds": seconds, "epochs": config.epochs});
    let trained = model.vs.trainable_variables();
    let unchanged = trained.len() == initial.len()
        && trained.iter().zip(&initial).all(|(now, before)| now.to_device(before.device()).equal(before));
    // Every epoch's validation accuracy must come from evaluation mode (BatchNorm's running
    // statistics, no dropout): at least one pass over the validation split per epoch.
    let evaluated = evaluated.load(std::sync::atomic::Ordering::Relaxed);
    let wanted = data.validation.len() * config.epochs as i64;
    let outcome = match validate_history(&report, config.epochs) {
        _ if unchanged => {
            Outcome::fail("the model's weights did not change: train_resnet18 must train the model it receives")
        }
        Ok(()) if evaluated < wanted => Outcome::partial(
            WITHOUT_EVALUATION_MODE,
            format!(
                "the validation split was evaluated in evaluation mode for {evaluated} examples, not {wanted} ({} per epoch): measure validation accuracy with `evaluate(..)` or `forward_t(.., false)` so that BatchNorm uses its running statistics",
                data.validation.len()
            ),
        ),
        Ok(()) => Outcome::pass(format!(
            "trained {} epochs in {seconds:.1} s; reported {:.1}% validation accuracy",
            config.epochs, report.accuracy
        )),
        Err(problem) => Outcome::fail(problem),
    };
    Ok(Outcomes::from(outcome.with_details(details)))
}

/// Loads the trained weights into a reference ResNet-18 (configured by `config`) on the device.
pub fn load_reference(
    ctx: &Context,
    path: &std::path::Path,
    config: &measure::ResNetConfig,
) -> Result<(VarStore, measure::ResNet<measure::BasicBlock>), String> {
    if !path.exists() {
        return Err(format!("no trained weights at {}: the training check did not finish", path.display()));
    }
    let mut vs = VarStore::new(ctx.device);
    let net = measure::resnet18(&vs.root(), config);
    weights::load(&mut vs, path)?;
    measure::train::prepare_variables(&vs, &ctx.reference_train_config());
    Ok((vs, net))
}

/// The grader's accuracy of `net` on a split.
pub fn accuracy(ctx: &Context, net: &dyn tch::nn::ModuleT, data: &measure::Dataset) -> f64 {
    measure::train::evaluate(net, &data.to_device(ctx.device), &ctx.reference_train_config())
}

/// Public: the grader's own test accuracy reaches the profile's threshold.
pub fn test_accuracy(ctx: &Context) -> CheckResult {
    let (_vs, net) = load_reference(ctx, &ctx.artifact(WEIGHTS), &ctx.model_config())?;
    let measured = accuracy(ctx, &net, &ctx.test()?);
    let target = ctx.profile.accuracy_threshold;
    let details = json!({"test_accuracy": measured, "target": target});
    let outcome = if measured >= target {
        Outcome::pass(format!("the grader measured {measured:.1}% test accuracy (target {target}%)"))
    } else {
        Outcome::fail(format!("the grader measured {measured:.1}% test accuracy, below the {target}% target"))
    };
    Ok(Outcomes::from(outcome.with_details(details)))
}

// BEGIN HIDDEN
/// The `accuracy` field of a report written by a training check.
pub fn reported_accuracy(path: &std::path::Path) -> Result<f64, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("no training report at {}: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("unreadable training report: {e}"))?;
    value["accuracy"].as_f64().ok_or_else(|| "the training report has no accuracy".to_string())
}

/// Hidden: the reported accuracy is the grader's validation measurement, within one point.
pub fn reported(ctx: &Context) -> CheckResult {
    let (_vs, net) = load_reference(ctx, &ctx.artifact(WEIGHTS), &ctx.model_config())?;
    let (_, validation) = ctx.train_and_validation(None)?;
    let measured = accuracy(ctx, &net, &validation);
    let claimed = reported_accuracy(&ctx.artifact(REPORT))?;
    let details = json!({"reported": claimed, "measured": measured});
    let outcome = if (claimed - measured).abs() <= 1.0 {
        Outcome::pass(format!("reported {claimed:.1}%, measured {measured:.1}% on the validation split"))
    } else {
        Outcome::fail(format!(
            "reported {claimed:.1}% but the grader measured {measured:.1}% on the validation split: report evaluate(..) of the final model"
        ))
    };
    Ok(Outcomes::from(outcome.with_details(details)))
}
// END HIDDEN
