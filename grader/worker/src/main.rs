//! `grader-worker`: the process that runs a submission's code.
//!
//! It reads [`wire::Request`]s on standard input and answers each with one [`wire::Response`] on
//! file descriptor 3, running the student's functions on what the judge sent. It never decides
//! anything: no check, no score, no reference; the judge validates and judges every answer. A panic
//! in student code becomes [`wire::Response::Panicked`] with its text; a crash or an exit ends the
//! process, which the judge explains.

mod execute;

use std::io::Write;
use std::sync::Mutex;

/// The last panic's message and location, recorded by the panic hook.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// The descriptor answers go to (the judge installs a pipe there).
const RESPONSE_FD: i32 = 3;

fn panic_text(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    match info.location() {
        Some(at) => format!("{message} (at {}:{})", at.file(), at.line()),
        None => message,
    }
}

/// As the first process of its PID namespace (bubblewrap's `--as-pid-1`), the worker does not get
/// the signals it sends itself, or the kernel's CPU-time signal, without a handler: an `abort()` in
/// student code would end in a segmentation fault instead, and a worker past its CPU time budget
/// would run on to the hard limit's SIGKILL (read as "out of memory"). With these handlers it ends
/// as the signal would end it (status 128 + the signal, which the grader reads as that signal).
fn exit_on_fatal_signals_as_first_process() {
    extern "C" fn ended_by(signal: libc::c_int) {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(128 + signal) }
    }
    if std::process::id() == 1 {
        for signal in [libc::SIGABRT, libc::SIGXCPU] {
            // SAFETY: installs a handler that only calls an async-signal-safe function.
            unsafe {
                libc::signal(signal, ended_by as extern "C" fn(libc::c_int) as libc::sighandler_t);
            }
        }
    }
}

fn main() {
    exit_on_fatal_signals_as_first_process();
    // SAFETY: the judge installs the write end of the response pipe on RESPONSE_FD before exec, and
    // nothing else in this process owns that descriptor.
    let installed: std::fs::File = unsafe { std::os::fd::FromRawFd::from_raw_fd(RESPONSE_FD) };
    // A copy that closes on exec, and the inherited descriptor closed: a process the student's code
    // starts cannot write into the answer channel.
    let mut responses = installed.try_clone().unwrap_or_else(|e| {
        eprintln!("grader-worker: no answer channel on fd {RESPONSE_FD}: {e}");
        std::process::exit(2)
    });
    drop(installed);
    std::panic::set_hook(Box::new(|info| {
        let text = panic_text(info);
        eprintln!("panic: {text}");
        *LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
    }));
    let mut requests = std::io::stdin().lock();
    loop {
        let (request, tensors) = match wire::frame::read::<wire::Request>(&mut requests) {
            Ok(frame) => frame,
            Err(wire::frame::FrameError::Closed) => std::process::exit(0),
            Err(e) => {
                eprintln!("grader-worker: {e}");
                std::process::exit(2);
            }
        };
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| execute::execute(request, &tensors)));
        let (response, tensors) = answer.unwrap_or_else(|_| {
            let text = LAST_PANIC.lock().unwrap_or_else(|e| e.into_inner()).take().unwrap_or_else(|| "a panic".into());
            (wire::Response::Panicked(text), Vec::new())
        });
        if wire::frame::write(&mut responses, &response, &tensors).is_err() {
            std::process::exit(3);
        }
        let _ = responses.flush();
    }
}
