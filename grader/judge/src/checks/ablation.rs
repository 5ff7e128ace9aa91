//! Checks of exercise 5: the BatchNorm / dropout ablation.
//!
//! `ablation.runs` sends the worker the grader's own ResNet-18 as data; the worker hands the
//! student's `run_ablation` a builder that makes it for any configuration (BatchNorm or none, any
//! dropout), records what was built, and returns the three trained variants, which the judge
//! checks and keeps for its own measurements (which involve no worker).

use super::CheckResult;
// BEGIN HIDDEN
use super::Outcomes;
use grader::catalog::CheckId;
// END HIDDEN
use crate::checks::training::{fitting_weights, parse_report, validate_history};
// BEGIN HIDDEN
use crate::checks::training::{accuracy, load_reference, reported_accuracy};

// END HIDDEN
use crate::context::{Context, measure, resnet18_spec};
use crate::weights;
use grader::run::protocol::Outcome;
use serde_json::json;
use wire::frame::with_prefix;

const VARIANTS: [&str; 3] = ["with_batch_norm", "without_batch_norm", "with_dropout"];

fn weights_path(ctx: &Context, variant: &str) -> std::path::PathBuf {
    ctx.artifact(&format!("ablation/{variant}.safetensors"))
}

fn report_path(ctx: &Context, variant: &str) -> std::path::PathBuf {
    ctx.artifact(&format!("ablation/{variant}.json"))
}

/// The variables a variant trained with these names and shapes must have: the grader's network
/// built with or without BatchNorm.
fn expected_weights(config: &measure::ResNetConfig, batch_norm: bool) -> wire::frame::Tensors {
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let norm = if batch_norm { measure::Norm::BatchNorm } else { measure::Norm::Identity };
    let _net = measure::resnet18(&vs.root(), &measure::ResNetConfig { norm, ..*config });
    crate::context::named_weights(&vs, "")
}

/// `ablation.runs`, and the check of what the variants are.
pub fn runs(ctx: &Context) -> CheckResult {
    let data = ctx.student_data(Some(ctx.profile.ablation_train_examples))?;
    let config = ctx.student_train_config(ctx.profile.ablation_epochs);
    let request = wire::Request::Ablation(wire::AblationRequest {
        net: resnet18_spec(&config.model),
        config: serde_json::to_value(&config).map_err(|e| e.to_string())?,
    });
    let (response, returned) = match ctx.ask(&request, &data)? {
        (wire::Response::Ablation(response), returned) => (response, returned),
        (other, _) => return Err(ctx.unexpected("ablation", &other)),
    };
    if let Some(e) = response.error {
        let message = format!("run_ablation returned an error: {e}");
        // BEGIN HIDDEN
        return Ok(Outcomes::Many(vec![
            (CheckId::AblationRuns, Outcome::fail(message.clone())),
            (CheckId::AblationVariants, Outcome::fail(message)),
        ]));
        // END HIDDEN
        // HANDOUT: return Ok(Outcome::fail(message).into());
    }
    let (mut valid, mut problems, mut reports) = (0, Vec::new(), serde_json::Map::new());
    let mut accuracies = Vec::new();
    // BEGIN HIDDEN
    let mut variant_problems = Vec::new();
    // END HIDDEN
    for name in VARIANTS {
        let Some(variant) = response.variants.iter().find(|v| v.name == name) else {
            return Err(format!("integrity: the worker sent no {name} variant").into());
        };
        let report = parse_report(variant.report.clone())?;
        let trained = with_prefix(&returned, &format!("{name}."));
        let batch_norm = trained.iter().any(|(n, _)| n.ends_with("running_mean"));
        match fitting_weights(&trained, &expected_weights(&config.model, batch_norm)) {
            Ok(fitting) => weights::save_named(&fitting, &weights_path(ctx, name))?,
            Err(problem) => problems.push(format!("{name}: {problem}")),
        }
        std::fs::write(report_path(ctx, name), serde_json::to_string(&report).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        reports.insert(name.to_string(), json!(report));
        accuracies.push(report.accuracy);
        match validate_history(&report, config.epochs) {
            Ok(()) => valid += 1,
            Err(problem) => problems.push(format!("{name}: {problem}")),
        }
        // BEGIN HIDDEN
        let dropout = variant.config["dropout"].as_f64().unwrap_or(f64::NAN);
        let problem = match name {
            "with_batch_norm" if !batch_norm || variant.dropout_active => {
                Some("with_batch_norm must be config.model unchanged (BatchNorm, no dropout)".to_string())
            }
            "without_batch_norm" if batch_norm => {
                Some("without_batch_norm still has BatchNorm layers: build it with norm: Norm::Identity".to_string())
            }
            "with_dropout" if !batch_norm || !variant.dropout_active || !(0.0..=0.5).contains(&dropout) => Some(
                format!("with_dropout must keep BatchNorm and add dropout (0 < p ≤ 0.5; its config says {dropout})"),
            ),
            _ => None,
        };
        variant_problems.extend(problem);
        // END HIDDEN
    }
    let runs_outcome = if problems.is_empty() {
        Outcome::pass(format!(
            "validation accuracy: with BatchNorm {:.1}%, without {:.1}%, with dropout {:.1}%",
            accuracies[0], accuracies[1], accuracies[2]
        ))
    } else {
        Outcome::partial(valid as f64 / 3.0, problems.join("; "))
    }
    .with_details(json!({"reports": reports, "built": response.built.len()}));

    // BEGIN HIDDEN
    if response.built.len() < 3 {
        variant_problems.push(format!(
            "only {} models were built: build and train a fresh model for each variant",
            response.built.len()
        ));
    }
    let variants_outcome = if variant_problems.is_empty() {
        Outcome::pass("BatchNorm, no normalization and dropout variants, each built fresh")
    } else {
        Outcome::partial(1.0 - variant_problems.len().min(3) as f64 / 3.0, variant_problems.join("; "))
    };
    Ok(Outcomes::Many(vec![(CheckId::AblationRuns, runs_outcome), (CheckId::AblationVariants, variants_outcome)]))
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
