//! The judge's side of the worker: starts it in the sandbox, sends requests, reads and validates
//! answers, and explains how it ended when it stops answering.

use grader::run::protocol::{ChildStatus, Outcome, WorkerLaunch};
use grader::run::sandbox::{self, ChildRun, Interactive};
use std::time::Duration;
use wire::frame::{self, FrameError, Tensors};
use wire::{Request, Response};

/// Why a check stops early: the outcome to report (not implemented, or an error with the reason).
#[derive(Debug)]
pub struct Stop(pub Outcome);

impl From<String> for Stop {
    fn from(message: String) -> Self {
        Stop(Outcome { status: ChildStatus::Error, score: 0.0, message, details: serde_json::Value::Null })
    }
}

impl From<&str> for Stop {
    fn from(message: &str) -> Self {
        Stop::from(message.to_string())
    }
}

/// A running worker.
pub struct Worker {
    process: Option<Interactive>,
    /// What it said about itself.
    pub hello: wire::Hello,
}

/// Longest panic message kept (libtorch's errors carry a C++ stack trace students cannot use).
const MAX_PANIC_MESSAGE: usize = 400;

/// A panic message without libtorch's C++ stack trace ("Exception raised from … frame #0: …"),
/// which says nothing about the student's code, cut to [`MAX_PANIC_MESSAGE`] characters.
pub fn without_libtorch_trace(message: &str) -> String {
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

/// The outcome for student code that panicked with `text` (a `todo!()` is "not implemented").
pub fn outcome_for_panic(text: &str) -> Outcome {
    let text = without_libtorch_trace(text);
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

impl Worker {
    /// Starts the worker and asks it to describe itself.
    pub fn start(launch: &WorkerLaunch, threads: Option<usize>) -> Result<Self, Stop> {
        let process = sandbox::spawn_interactive(
            &launch.program,
            &[],
            &launch.workdir,
            &launch.env,
            launch.limits,
            launch.isolation.as_ref(),
        )
        .map_err(|e| Stop::from(format!("could not start the worker that runs your code: {e}")))?;
        let mut worker = Worker {
            process: Some(process),
            hello: wire::Hello { cuda: false, devices: 0, cudnn: false, threads: 0, libtorch: String::new() },
        };
        match worker.call(launch, &Request::Hello { threads }, &[])? {
            (Response::Hello(hello), _) => worker.hello = hello,
            (other, _) => return Err(worker.integrity(&format!("answered Hello with {}", kind(&other)))),
        }
        Ok(worker)
    }

    /// Whether the worker is still there to ask.
    pub fn alive(&self) -> bool {
        self.process.is_some()
    }

    /// The protections the worker runs under, in words.
    pub fn protections(&self) -> String {
        self.process.as_ref().map_or_else(String::new, |p| p.protections.clone())
    }

    /// Sends `request` and returns the answer. A panic in student code comes back as a [`Stop`]
    /// with the panic's outcome; a worker that stops answering or answers out of protocol is ended
    /// and explained (an error for this check).
    pub fn call(
        &mut self,
        launch: &WorkerLaunch,
        request: &Request,
        tensors: &[(String, tch::Tensor)],
    ) -> Result<(Response, Tensors), Stop> {
        if let Some(bytes) = self.process.as_ref().and_then(|p| unsolicited(&p.responses)) {
            return Err(self.integrity(&format!("it sent {bytes} before this request, which nobody asked for")));
        }
        let process = self.process.as_mut().ok_or_else(|| Stop::from("the worker has already stopped"))?;
        if frame::write(&mut process.requests, request, tensors).is_err() {
            return Err(self.ended(launch));
        }
        match frame::read::<Response>(&mut process.responses) {
            Ok((Response::Panicked(text), _)) => Err(Stop(outcome_for_panic(&text))),
            Ok(answer) => Ok(answer),
            Err(FrameError::Closed) => Err(self.ended(launch)),
            Err(FrameError::Malformed(why)) => Err(self.integrity(&why)),
        }
    }

    /// Ends the worker once a check group is done: it gets end-of-file on its requests and exits.
    /// Anything it sent after its last answer is a protocol break (one answer per request), reported
    /// against the check that is finishing.
    pub fn close(mut self) -> Result<(), Stop> {
        let Some(process) = self.process.take() else { return Ok(()) };
        let ended = process.finish(Duration::from_secs(2));
        match ended.unread {
            0 => Ok(()),
            bytes => {
                Err(integrity_stop(&format!("it sent {bytes} byte(s) after its last answer, which nobody asked for")))
            }
        }
    }

    /// The worker stopped answering: how it ended, for the student.
    fn ended(&mut self, launch: &WorkerLaunch) -> Stop {
        let Some(process) = self.process.take() else { return Stop::from("the worker has already stopped") };
        let ended = process.finish(Duration::from_secs(2));
        let run = ChildRun {
            messages: Vec::new(),
            forged: 0,
            exit: ended.exit,
            stdout: ended.stdout,
            stderr: ended.stderr.clone(),
            duration: Duration::ZERO,
            isolated: false,
        };
        let (status, message) = grader::grade::explain_missing_result(&run, &launch.limits);
        let status =
            if status == grader::output::report::Status::Timeout { ChildStatus::Timeout } else { ChildStatus::Error };
        let tail: Vec<&str> = ended.stderr.lines().rev().take(20).collect();
        let details = serde_json::json!({"stderr_tail": tail.into_iter().rev().collect::<Vec<_>>().join("\n")});
        Stop(Outcome { status, score: 0.0, message, details })
    }

    /// The worker broke the protocol (its process was tampered with): ended, recorded as such.
    pub fn integrity(&mut self, why: &str) -> Stop {
        if let Some(process) = self.process.take() {
            let _ = process.finish(Duration::ZERO);
        }
        integrity_stop(why)
    }
}

/// The error of a check whose worker broke the protocol.
fn integrity_stop(why: &str) -> Stop {
    Stop::from(format!(
        "integrity: the process running your code broke the grader's protocol ({why}); nothing it sent was used"
    ))
}

/// Bytes waiting in the answer channel when none is expected (`None`: none, or only its end).
fn unsolicited(responses: &std::io::PipeReader) -> Option<String> {
    let mut poll = libc::pollfd { fd: std::os::fd::AsRawFd::as_raw_fd(responses), events: libc::POLLIN, revents: 0 };
    // SAFETY: one valid pollfd, no waiting.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) };
    let mut waiting: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    let counted = unsafe { libc::ioctl(poll.fd, libc::FIONREAD, &mut waiting) } == 0;
    (ready == 1 && poll.revents & libc::POLLIN != 0 && counted && waiting > 0).then(|| format!("{waiting} byte(s)"))
}

/// A response's kind, for messages.
pub fn kind(response: &Response) -> &'static str {
    match response {
        Response::Hello(_) => "hello",
        Response::Expansion(_) => "expansion",
        Response::Block(_) => "block",
        Response::Variances(_) => "variances",
        Response::Train(_) => "train",
        Response::Ablation(_) => "ablation",
        Response::Panicked(_) => "panicked",
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(process) = self.process.take() {
            let _ = process.finish(Duration::from_millis(500));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grader::run::sandbox::Limits;

    /// A stand-in worker (Python) that answers every request (a JSON header, the request's own empty
    /// tensor blob echoed back), sends its first answer `copies` times (a well-formed answer ahead
    /// of the next request: a forgery) and `trailer` bytes when its requests end.
    fn stand_in(dir: &std::path::Path, copies: usize, trailer: usize) -> WorkerLaunch {
        use std::os::unix::fs::PermissionsExt;
        let answer = serde_json::to_string(&Response::Expansion(4)).unwrap();
        let hello = serde_json::to_string(&Response::Hello(wire::Hello {
            cuda: false,
            devices: 0,
            cudnn: false,
            threads: 1,
            libtorch: "stand-in".into(),
        }))
        .unwrap();
        let script = format!(
            r#"#!/usr/bin/env python3
import os, struct, sys
answers, stdin, first = os.fdopen(3, "wb"), sys.stdin.buffer, True
def part():
    size = stdin.read(8)
    return None if len(size) < 8 else stdin.read(struct.unpack("<Q", size)[0])
while True:
    header = part()
    if header is None:
        answers.write(b"x" * {trailer}); answers.flush(); sys.exit(0)
    blob = part()
    reply = ({hello:?} if b"hello" in header.lower() else {answer:?}).encode()
    answers.write((struct.pack("<Q", len(reply)) + reply + struct.pack("<Q", len(blob)) + blob) * ({copies} if first else 1))
    first = False
    answers.flush()
"#
        );
        let program = dir.join("stand-in-worker");
        std::fs::write(&program, script).unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        WorkerLaunch {
            program,
            workdir: dir.to_path_buf(),
            env: Vec::new(),
            limits: Limits {
                time: Duration::from_secs(20),
                clock: grader::run::sandbox::Clock::Wall,
                memory_bytes: None,
                processes: 4096,
            },
            isolation: None,
        }
    }

    fn ask_expansion(worker: &mut Worker, launch: &WorkerLaunch) -> Result<Response, Stop> {
        worker.call(launch, &Request::Expansion(wire::BlockKind::Basic), &[]).map(|(response, _)| response)
    }

    #[test]
    fn a_well_behaved_worker_answers_and_closes_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let launch = stand_in(dir.path(), 1, 0);
        let mut worker = Worker::start(&launch, None).unwrap_or_else(|Stop(o)| panic!("{}", o.message));
        assert_eq!(worker.hello.libtorch, "stand-in");
        assert!(matches!(ask_expansion(&mut worker, &launch), Ok(Response::Expansion(4))));
        assert!(worker.close().is_ok());
    }

    /// A well-formed answer sent ahead of the request it would answer: the request finds it
    /// waiting, and the worker is ended as having broken the protocol (not taken as the answer).
    #[test]
    fn an_answer_sent_ahead_of_its_request_is_an_integrity_failure() {
        let dir = tempfile::tempdir().unwrap();
        let launch = stand_in(dir.path(), 2, 0);
        let mut worker = Worker::start(&launch, None).unwrap_or_else(|Stop(o)| panic!("{}", o.message));
        std::thread::sleep(Duration::from_millis(200));
        let Err(Stop(outcome)) = ask_expansion(&mut worker, &launch) else { panic!("the extra bytes went unnoticed") };
        assert!(
            outcome.message.starts_with("integrity:") && outcome.message.contains("before this request"),
            "{}",
            outcome.message
        );
        assert!(!worker.alive());
    }

    /// Bytes sent after the last answer (a late forgery) fail the check that was finishing.
    #[test]
    fn bytes_sent_after_the_last_answer_are_an_integrity_failure() {
        let dir = tempfile::tempdir().unwrap();
        let launch = stand_in(dir.path(), 1, 10);
        let mut worker = Worker::start(&launch, None).unwrap_or_else(|Stop(o)| panic!("{}", o.message));
        assert!(matches!(ask_expansion(&mut worker, &launch), Ok(Response::Expansion(4))));
        let Err(Stop(outcome)) = worker.close() else { panic!("the trailing bytes went unnoticed") };
        assert!(outcome.message.contains("10 byte(s) after its last answer"), "{}", outcome.message);
    }
}
