//! Checks of exercise 5: the BatchNorm / dropout ablation.
//!
//! `ablation.runs` hands the student a builder that makes the grader's own ResNet-18 for any
//! configuration, records what was built, checks the three trained variants and keeps their
//! weights for the grader's own measurements, which run no student code.

use super::CheckResult;
// BEGIN HIDDEN
use super::Outcomes;
// END HIDDEN
use crate::checks::training::validate_history;
// BEGIN HIDDEN
use crate::checks::training::{accuracy, load_reference, reported_accuracy};
// END HIDDEN
use crate::context::{Context, grader_model};
// BEGIN HIDDEN
use crate::context::measure;
// END HIDDEN
use crate::weights;
use grader::protocol::Outcome;
use serde_json::json;
use std::cell::RefCell;
// BEGIN HIDDEN
use tch::{Kind, Tensor};
// END HIDDEN

const VARIANTS: [&str; 3] = ["with_batch_norm", "without_batch_norm", "with_dropout"];

fn weights_path(ctx: &Context, variant: &str) -> std::path::PathBuf {
    ctx.artifact(&format!("ablation/{variant}.safetensors"))
}

fn report_path(ctx: &Context, variant: &str) -> std::path::PathBuf {
    ctx.artifact(&format!("ablation/{variant}.json"))
}

// BEGIN HIDDEN
fn has_batch_norm(model: &assignment::Model) -> bool {
    model.vs.variables().keys().any(|k| k.ends_with("running_mean"))
}

/// Two training-mode passes on one batch differ only when dropout is active.
fn dropout_active(model: &assignment::Model, device: tch::Device) -> bool {
    tch::manual_seed(1);
    let x = Tensor::randn([4, 3, 32, 32], (Kind::Float, device));
    tch::no_grad(|| {
        let a = model.forward_t(&x, true);
        let b = model.forward_t(&x, true);
        !a.allclose(&b, 1e-6, 1e-6, false)
    })
}

// END HIDDEN

/// `ablation.runs`, and the check of what the variants are.
pub fn runs(ctx: &Context) -> CheckResult {
    let data = ctx.student_data(Some(ctx.profile.ablation_train_examples))?;
    let config = ctx.student_train_config(ctx.profile.ablation_epochs);
    let built = RefCell::new(Vec::new());
    let device = ctx.device;
    let build = |c: &assignment::ResNetConfig| {
        built.borrow_mut().push(*c);
        grader_model(c, device)
    };
    let ablation = match assignment::run_ablation(&build, &data, &config) {
        Ok(a) => a,
        Err(e) => {
            let message = format!("run_ablation returned an error: {e}");
            // BEGIN HIDDEN
            return Ok(Outcomes::Many(vec![
                ("ablation.runs", Outcome::fail(message.clone())),
                ("ablation.variants", Outcome::fail(message)),
            ]));
            // END HIDDEN
            // HANDOUT: return Ok(Outcome::fail(message).into());
        }
    };
    let runs = [&ablation.with_batch_norm, &ablation.without_batch_norm, &ablation.with_dropout];
    let (mut valid, mut problems, mut reports) = (0, Vec::new(), serde_json::Map::new());
    for (name, run) in VARIANTS.iter().zip(runs) {
        weights::save(&run.model.vs, &weights_path(ctx, name))?;
        std::fs::write(report_path(ctx, name), serde_json::to_string(&run.report).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        reports.insert(name.to_string(), json!(run.report));
        match validate_history(&run.report, config.epochs) {
            Ok(()) => valid += 1,
            Err(problem) => problems.push(format!("{name}: {problem}")),
        }
    }
    let runs_outcome = if problems.is_empty() {
        Outcome::pass(format!(
            "validation accuracy: with BatchNorm {:.1}%, without {:.1}%, with dropout {:.1}%",
            ablation.with_batch_norm.report.accuracy,
            ablation.without_batch_norm.report.accuracy,
            ablation.with_dropout.report.accuracy
        ))
    } else {
        Outcome::partial(valid as f64 / 3.0, problems.join("; "))
    }
    .with_details(json!({"reports": reports, "built": built.borrow().len()}));

    // BEGIN HIDDEN
    let mut variant_problems = Vec::new();
    if !has_batch_norm(&ablation.with_batch_norm.model) || dropout_active(&ablation.with_batch_norm.model, device) {
        variant_problems.push("with_batch_norm must be config.model unchanged (BatchNorm, no dropout)".to_string());
    }
    if has_batch_norm(&ablation.without_batch_norm.model) {
        variant_problems
            .push("without_batch_norm still has BatchNorm layers: build it with norm: Norm::Identity".to_string());
    }
    let dropout = ablation.with_dropout.model.config.dropout;
    if !has_batch_norm(&ablation.with_dropout.model)
        || !dropout_active(&ablation.with_dropout.model, device)
        || !(0.0..=0.5).contains(&dropout)
    {
        variant_problems
            .push(format!("with_dropout must keep BatchNorm and add dropout (0 < p ≤ 0.5; its config says {dropout})"));
    }
    if built.borrow().len() < 3 {
        variant_problems.push(format!(
            "only {} models were built: build and train a fresh model for each variant",
            built.borrow().len()
        ));
    }
    let variants_outcome = if variant_problems.is_empty() {
        Outcome::pass("BatchNorm, no normalization and dropout variants, each built fresh")
    } else {
        Outcome::partial(1.0 - variant_problems.len().min(3) as f64 / 3.0, variant_problems.join("; "))
    };
    Ok(Outcomes::Many(vec![("ablation.runs", runs_outcome), ("ablation.variants", variants_outcome)]))
    // END HIDDEN
    // HANDOUT: Ok(runs_outcome.into())
}

// BEGIN HIDDEN
/// Hidden: each variant's reported accuracy is what the grader measures on the validation split.
pub fn measured(ctx: &Context) -> CheckResult {
    let (_, validation) = ctx.train_and_validation(None)?;
    let test = ctx.test()?;
    let (mut agreeing, mut problems, mut details) = (0, Vec::new(), serde_json::Map::new());
    for name in VARIANTS {
        let path = weights_path(ctx, name);
        let names = weights::names(&path)?;
        let norm = if names.iter().any(|n| n.ends_with("running_mean")) {
            measure::Norm::BatchNorm
        } else {
            measure::Norm::Identity
        };
        let config = measure::ResNetConfig { norm, ..ctx.model_config() };
        let (_vs, net) = load_reference(ctx, &path, &config)?;
        let measured = accuracy(ctx, &net, &validation);
        let test_accuracy = accuracy(ctx, &net, &test);
        let claimed = reported_accuracy(&report_path(ctx, name))?;
        details.insert(name.to_string(), json!({"reported": claimed, "validation": measured, "test": test_accuracy}));
        if (claimed - measured).abs() <= 1.0 {
            agreeing += 1;
        } else {
            problems.push(format!("{name} reported {claimed:.1}% but measures {measured:.1}%"));
        }
    }
    let outcome = if problems.is_empty() {
        Outcome::pass("each variant's reported accuracy matches the grader's measurement")
    } else {
        Outcome::partial(
            agreeing as f64 / 3.0,
            format!("{}: report each trained model's own validation accuracy", problems.join("; ")),
        )
    };
    Ok(outcome.with_details(serde_json::Value::Object(details)).into())
}
// END HIDDEN
