//! Runs one check: reads the nonce, calls the check inside `catch_unwind`, turns a `todo!()` or a
//! panic into an outcome, writes the result line and exits.

use crate::checks;
use crate::context::Context;
use grader::protocol::{ChildStatus, Message, Outcome, RESULT_FD, RunRequest};
use std::io::{BufRead, Write};
use std::sync::Mutex;

/// The last panic's message and location, recorded by the panic hook.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

fn panic_text(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    let message = without_libtorch_trace(&message);
    match info.location() {
        Some(at) => format!("{message} (at {}:{})", at.file(), at.line()),
        None => message,
    }
}

/// Longest panic message kept (libtorch's errors carry a C++ stack trace students cannot use).
const MAX_PANIC_MESSAGE: usize = 400;

/// A panic message without libtorch's C++ stack trace ("Exception raised from … frame #0: …"),
/// which says nothing about the student's code, cut to [`MAX_PANIC_MESSAGE`] characters.
fn without_libtorch_trace(message: &str) -> String {
    let cut = ["\nException raised from", "\\nException raised from"]
        .iter()
        .filter_map(|marker| message.find(marker))
        .min()
        .unwrap_or(message.len());
    let mut kept: String = message[..cut].chars().take(MAX_PANIC_MESSAGE).collect();
    if kept.len() < message.len() {
        kept.push_str(" …");
    }
    kept
}

/// The outcome for a check whose code panicked with `text`.
pub fn outcome_for_panic(text: &str) -> Outcome {
    let (status, message) = if let Some(rest) = text.strip_prefix("not yet implemented") {
        let what = rest.split(" (at ").next().unwrap_or("").trim_start_matches(": ");
        let what = what.split(" (src/").next().unwrap_or(what);
        (
            ChildStatus::NotImplemented,
            if what.is_empty() { "not implemented yet".to_string() } else { format!("not implemented yet ({what})") },
        )
    } else if text.contains("can't allocate memory") || text.contains("out of memory") {
        (ChildStatus::Error, format!("ran out of memory: {text}"))
    } else {
        (ChildStatus::Error, format!("panicked: {text}"))
    };
    Outcome { status, score: 0.0, message, details: serde_json::Value::Null }
}

/// What the grader asks before grading: is CUDA there, which libtorch is linked.
fn info() -> Outcome {
    let details = serde_json::json!({
        "cuda": tch::Cuda::is_available(),
        "devices": tch::Cuda::device_count(),
        "cudnn": tch::Cuda::cudnn_is_available(),
        "threads": tch::get_num_threads(),
        "libtorch": env!("RESNET_LAB_LIBTORCH_VERSION"),
    });
    Outcome::pass("runner ready").with_details(details)
}

/// The outcomes of one check (its own, and those of the checks it reports for).
fn outcomes_of(request: &RunRequest) -> Vec<(String, Outcome)> {
    let error =
        |message: String| Outcome { status: ChildStatus::Error, score: 0.0, message, details: serde_json::Value::Null };
    let Some(check) = checks::find(&request.check) else {
        if request.check == grader::grade::INFO_CHECK {
            return vec![(request.check.clone(), info())];
        }
        return vec![(request.check.clone(), error(format!("this runner has no check {:?}", request.check)))];
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let context = Context::new(request)?;
        check(&context)
    }));
    match result {
        Ok(Ok(checks::Outcomes::One(outcome))) => vec![(request.check.clone(), outcome)],
        Ok(Ok(checks::Outcomes::Many(outcomes))) => outcomes.into_iter().map(|(id, o)| (id.to_string(), o)).collect(),
        Ok(Err(problem)) => vec![(request.check.clone(), error(problem))],
        Err(_) => {
            let text = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_else(|| "a panic".into());
            vec![(request.check.clone(), outcome_for_panic(&text))]
        }
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

    std::panic::set_hook(Box::new(|info| {
        let text = panic_text(info);
        eprintln!("panic: {text}");
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
    }));
    if let Some(threads) = request.threads {
        tch::set_num_threads(threads.clamp(1, 1024) as i32);
    }

    let ids = std::iter::once(request.check.clone()).chain(request.then.iter().cloned()).collect::<Vec<_>>();
    for id in ids {
        let one = RunRequest { check: id, then: Vec::new(), ..request.clone() };
        for (check, outcome) in outcomes_of(&one) {
            let elapsed_s = Some(started.elapsed().as_secs_f64());
            let message = Message { nonce: nonce.clone(), check, outcome, elapsed_s };
            let line = serde_json::to_string(&message).expect("serializable");
            let _ = writeln!(channel, "{line}");
        }
        let _ = channel.flush();
    }
    std::process::exit(0);
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(without_libtorch_trace(&"x".repeat(1000)).chars().count(), MAX_PANIC_MESSAGE + 2);
        assert_eq!(without_libtorch_trace("plain"), "plain");
    }
}
