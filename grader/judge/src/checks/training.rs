//! Checks of exercise 4: training ResNet-18.
//!
//! `training.runs` sends the worker the grader's own ResNet-18 (as data, with its initial weights)
//! and the training and validation splits only; the worker calls the student's `train_resnet18`
//! and returns the trained weights and the report, which the judge keeps in its artifacts folder.
//! The other two checks never involve the worker: they load those weights into the reference
//! ResNet-18 and measure test and validation accuracy themselves.

use super::{CheckResult, Outcomes};
use crate::context::{Context, measure, named_weights, resnet18_spec};
use crate::weights;
use crate::worker::Stop;
use grader::run::protocol::Outcome;
use serde_json::json;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};
use wire::frame::{Tensors, named, with_prefix};

const WEIGHTS: &str = "training/model.safetensors";
const REPORT: &str = "training/report.json";

/// Checks a returned history: one entry per epoch, numbered, with finite values.
pub fn validate_history(report: &measure::TrainingReport, epochs: usize) -> Result<(), String> {
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

/// A report as the worker sent it (JSON), read as the reference crate's type.
pub fn parse_report(value: serde_json::Value) -> Result<measure::TrainingReport, Stop> {
    serde_json::from_value(value)
        .map_err(|e| Stop::from(format!("integrity: the worker sent an unreadable training report ({e})")))
}

/// The returned weights that fit `expected` (names and shapes of the grader's network), as float
/// tensors; the first misfit or non-finite value is an error for the student.
pub fn fitting_weights(returned: &Tensors, expected: &Tensors) -> Result<Tensors, String> {
    let mut kept = Vec::with_capacity(expected.len());
    for (name, initial) in expected {
        let Some(t) = named(returned, name) else {
            return Err(format!("the trained model has no variable {name}: train the model you receive"));
        };
        if t.size() != initial.size() || t.kind() != Kind::Float {
            return Err(format!(
                "the trained {name} has shape {:?}, the grader's network {:?}",
                t.size(),
                initial.size()
            ));
        }
        if !crate::context::all_finite(t) {
            return Err(format!("the trained {name} holds values that are not finite: did training diverge?"));
        }
        kept.push((name.clone(), t.shallow_clone()));
    }
    Ok(kept)
}

/// Share of the points of `training.runs` kept when validation never ran in evaluation mode.
const WITHOUT_EVALUATION_MODE: f64 = 1.0 / 3.0;

/// Public: trains and returns a valid history; keeps the weights for the measuring checks.
pub fn runs(ctx: &Context) -> CheckResult {
    let data = ctx.student_data(None)?;
    let validation_len = named(&data, "validation.labels").map_or(0, |t| t.size()[0]);
    let config = ctx.student_train_config(ctx.profile.epochs);
    tch::manual_seed(ctx.request.seed as i64);
    let vs = VarStore::new(Device::Cpu);
    let _net = measure::resnet18(&vs.root(), &config.model);
    let initial = named_weights(&vs, "");
    let trainable: Vec<String> =
        vs.variables().into_iter().filter(|(_, t)| t.requires_grad()).map(|(n, _)| n).collect();
    let mut tensors = data;
    tensors.extend(initial.iter().map(|(n, t)| (format!("weights.{n}"), t.shallow_clone())));
    let request = wire::Request::Train(wire::TrainRequest {
        net: resnet18_spec(&config.model),
        config: serde_json::to_value(&config).map_err(|e| e.to_string())?,
    });
    let started = std::time::Instant::now();
    let (response, returned) = match ctx.ask(&request, &tensors)? {
        (wire::Response::Train(response), returned) => (response, returned),
        (other, _) => return Err(ctx.unexpected("train", &other)),
    };
    let seconds = started.elapsed().as_secs_f64();
    if let Some(error) = response.error {
        return Ok(Outcome::fail(format!("train_resnet18 returned an error: {error}")).into());
    }
    let report = parse_report(response.report.unwrap_or_default())?;
    let trained = match fitting_weights(&with_prefix(&returned, "weights."), &initial) {
        Ok(trained) => trained,
        Err(problem) => return Ok(Outcome::fail(problem).into()),
    };
    weights::save_named(&trained, &ctx.artifact(WEIGHTS))?;
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(ctx.artifact(REPORT), text).map_err(|e| format!("cannot write the report: {e}"))?;
    let details = json!({"report": report, "seconds": seconds, "epochs": config.epochs});
    let unchanged = trainable.iter().all(|name| {
        let before: &Tensor = named(&initial, name).expect("listed");
        named(&trained, name).is_some_and(|now| now.equal(before))
    });
    // Every epoch's validation accuracy must come from evaluation mode (BatchNorm's running
    // statistics, no dropout): at least one pass over the validation split per epoch.
    let evaluated = response.evaluated_examples;
    let wanted = validation_len * config.epochs as i64;
    let outcome = match validate_history(&report, config.epochs) {
        _ if unchanged => {
            Outcome::fail("the model's weights did not change: train_resnet18 must train the model it receives")
        }
        Ok(()) if evaluated < wanted => Outcome::partial(
            WITHOUT_EVALUATION_MODE,
            format!(
                "the validation split was evaluated in evaluation mode for {evaluated} examples, not {wanted} ({validation_len} per epoch): measure validation accuracy with `evaluate(..)` or `forward_t(.., false)` so that BatchNorm uses its running statistics"
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
