//! Checks of exercise 5: the BatchNorm / dropout ablation.
//!
//! `ablation.runs` sends the worker the grader's own ResNet-18 as data; the worker hands the
//! student's `run_ablation` a builder that makes it for any configuration (BatchNorm or none, any
//! dropout), records what was built, and returns the three trained variants, which the judge
//! checks and keeps for its own measurements (which involve no worker).

// BEGIN HIDDEN
pub mod hidden;
use super::Outcomes;
use grader::catalog::CheckId;
// END HIDDEN
use super::CheckResult;
use crate::checks::training::{fitting_weights, parse_report, validate_history};
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
        variant_problems.extend(hidden::variant_problem(name, variant, batch_norm));
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
    let variants_outcome = hidden::variants_outcome(variant_problems, response.built.len());
    Ok(Outcomes::Many(vec![(CheckId::AblationRuns, runs_outcome), (CheckId::AblationVariants, variants_outcome)]))
    // END HIDDEN
    // HANDOUT: Ok(runs_outcome.into())
}
