//! The hidden ablation checks (instructors only; the handout leaves this file out): the variants
//! are the ones the exercise asks for, and each variant's reported accuracy is its own.

use super::{VARIANTS, report_path, weights_path};
use crate::checks::CheckResult;
use crate::checks::training::{accuracy, load_reference, reported_accuracy};
use crate::context::{Context, measure};
use crate::weights;
use grader::run::protocol::Outcome;
use serde_json::json;

/// What is wrong with variant `name` as the worker built it (`batch_norm`: it has BatchNorm layers).
pub fn variant_problem(name: &str, variant: &wire::AblationVariant, batch_norm: bool) -> Option<String> {
    let dropout = variant.config["dropout"].as_f64().unwrap_or(f64::NAN);
    match name {
        "with_batch_norm" if !batch_norm || variant.dropout_active => {
            Some("with_batch_norm must be config.model unchanged (BatchNorm, no dropout)".to_string())
        }
        "without_batch_norm" if batch_norm => {
            Some("without_batch_norm still has BatchNorm layers: build it with norm: Norm::Identity".to_string())
        }
        "with_dropout" if !batch_norm || !variant.dropout_active || !(0.0..=0.5).contains(&dropout) => {
            Some(format!("with_dropout must keep BatchNorm and add dropout (0 < p ≤ 0.5; its config says {dropout})"))
        }
        _ => None,
    }
}

/// `ablation.variants`: the variants' problems, and whether a fresh model was built for each.
pub fn variants_outcome(mut problems: Vec<String>, built: usize) -> Outcome {
    if built < 3 {
        problems.push(format!("only {built} models were built: build and train a fresh model for each variant"));
    }
    if problems.is_empty() {
        Outcome::pass("BatchNorm, no normalization and dropout variants, each built fresh")
    } else {
        Outcome::partial(1.0 - problems.len().min(3) as f64 / 3.0, problems.join("; "))
    }
}

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
