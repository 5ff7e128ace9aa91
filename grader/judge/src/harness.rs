//! Runs the requested checks in turn: reads the nonce, calls each check (which asks the worker for
//! what it needs and judges the answers), writes each result line as soon as it is known, exits.

use crate::checks;
use crate::context::Context;
use crate::worker::Stop;
use grader::run::protocol::{ChildStatus, Message, Outcome, RESULT_FD, RunRequest, Task};
use std::io::{BufRead, Write};

fn error(message: String) -> Outcome {
    Outcome { status: ChildStatus::Error, score: 0.0, message, details: serde_json::Value::Null }
}

/// What the grader asks before grading: is CUDA there, which libtorch the worker links.
fn info(context: &Context) -> Result<Outcome, Stop> {
    // On a CPU the judge answers for the machine itself (the same libtorch, the same threads): a
    // worker started only to say so would cost every grading run a second libtorch start. On a GPU
    // the worker's own view decides (CUDA may fail only inside its sandbox).
    let hello = if context.profile.gpu {
        context.hello()?
    } else {
        wire::Hello {
            cuda: false,
            devices: 0,
            cudnn: false,
            threads: tch::get_num_threads() as i64,
            libtorch: env!("RESNET_LAB_LIBTORCH_VERSION").to_string(),
        }
    };
    let details = serde_json::json!({
        "cuda": hello.cuda,
        "devices": hello.devices,
        "cudnn": hello.cudnn,
        "threads": hello.threads,
        "libtorch": hello.libtorch,
    });
    Ok(Outcome::pass("worker ready").with_details(details))
}

/// The outcomes of one task (a check's own, and those of the checks it reports for), by the name
/// their messages carry.
fn outcomes_of(task: Task, context: &Context) -> Vec<(&'static str, Outcome)> {
    let id = match task {
        Task::Info => return vec![(task.as_str(), info(context).unwrap_or_else(|Stop(outcome)| outcome))],
        Task::Check(id) => id,
    };
    let Some(check) = checks::implementation(id) else {
        return vec![(id.as_str(), error(format!("this judge does not run {id} (another check reports it)")))];
    };
    match check(context) {
        Ok(checks::Outcomes::One(outcome)) => vec![(id.as_str(), outcome)],
        Ok(checks::Outcomes::Many(outcomes)) => outcomes.into_iter().map(|(id, o)| (id.as_str(), o)).collect(),
        Err(Stop(outcome)) => vec![(id.as_str(), outcome)],
    }
}

/// Runs the requested check (and the ones after it, in turn), writing each result as soon as it is
/// known, and exits the process.
pub fn run(request: RunRequest) -> ! {
    let started = std::time::Instant::now();
    let mut nonce = String::new();
    let _ = std::io::stdin().lock().read_line(&mut nonce);
    let nonce = nonce.trim().to_string();
    // SAFETY: the grader installs the write end of the result pipe on RESULT_FD before exec; nothing
    // else in this process owns that descriptor.
    let mut channel: std::fs::File = unsafe { std::os::fd::FromRawFd::from_raw_fd(RESULT_FD) };
    if let Some(threads) = request.threads {
        tch::set_num_threads(threads.clamp(1, 1024) as i32);
    }
    let context = match Context::new(&request) {
        Ok(context) => Some(context),
        Err(problem) => {
            let message = Message {
                nonce,
                check: request.task.as_str().to_string(),
                outcome: error(problem),
                elapsed_s: None,
                worker_sandbox: None,
            };
            let _ = writeln!(channel, "{}", serde_json::to_string(&message).expect("serializable"));
            std::process::exit(0);
        }
    };
    let context = context.expect("set up");
    let tasks = std::iter::once(request.task).chain(request.then.iter().map(|&id| Task::Check(id))).collect::<Vec<_>>();
    let last = tasks.len().saturating_sub(1);
    for (index, task) in tasks.into_iter().enumerate() {
        let mut outcomes = outcomes_of(task, &context);
        // The last check's answers are final only once its worker ended without sending more.
        if index == last
            && let Err(Stop(broken)) = context.close_worker()
        {
            for (_, outcome) in &mut outcomes {
                *outcome = broken.clone();
            }
        }
        for (check, outcome) in outcomes {
            let message = Message {
                nonce: nonce.clone(),
                check: check.to_string(),
                outcome,
                elapsed_s: Some(started.elapsed().as_secs_f64()),
                worker_sandbox: context.worker_sandbox.borrow().clone(),
            };
            let _ = writeln!(channel, "{}", serde_json::to_string(&message).expect("serializable"));
        }
        let _ = channel.flush();
    }
    std::process::exit(0);
}

#[cfg(test)]
mod tests {
    use crate::worker::{outcome_for_panic, without_libtorch_trace};
    use grader::run::protocol::ChildStatus;

    #[test]
    fn todo_panics_are_not_implemented_and_other_panics_are_errors() {
        let o = outcome_for_panic(
            "not yet implemented: Exercise 1 — BasicBlock (src/basic_block.rs) (at src/basic_block.rs:40)",
        );
        assert_eq!(o.status, ChildStatus::NotImplemented);
        assert_eq!(o.message, "not implemented yet (Exercise 1 — BasicBlock)");
        assert_eq!(outcome_for_panic("not yet implemented (at x.rs:1)").message, "not implemented yet");
        let o = outcome_for_panic("index out of bounds (at src/x.rs:1)");
        assert_eq!(
            (o.status, o.message.as_str()),
            (ChildStatus::Error, "panicked: index out of bounds (at src/x.rs:1)")
        );
        assert!(
            outcome_for_panic("DefaultCPUAllocator: can't allocate memory").message.starts_with("ran out of memory")
        );
        // tch's Debug of a Torch error escapes its newlines; either form loses the C++ trace.
        let torch = r#"Torch("The size of tensor a (16) must match the size of tensor b (32)\nException raised from infer_size_impl at /pytorch/aten/src/ATen/ExpandUtils.cpp:31 (most recent call first):\nframe #0: c10::Error")"#;
        assert_eq!(
            without_libtorch_trace(torch),
            r#"Torch("The size of tensor a (16) must match the size of tensor b (32) …"#
        );
        assert_eq!(without_libtorch_trace(&"x".repeat(1000)).chars().count(), 400 + 2);
        assert_eq!(without_libtorch_trace("plain"), "plain");
    }
}
