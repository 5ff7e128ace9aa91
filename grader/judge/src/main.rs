//! `grader-judge`: judges one check of the catalog (or a few checks of one exercise, in turn) and
//! sends each verdict to the grader over the private result pipe. It holds the reference solution
//! and the check logic and never links or loads student code: the submission's code runs in the
//! worker (`grader-worker`), which the judge starts in the sandbox and asks for raw outputs over
//! the protocol of the `wire` crate. Started by `grader`; see `grader::run::protocol`.
// HANDOUT: #![allow(dead_code)] // Helpers shared with checks that only the instructors' grader has.

mod checks;
mod context;
mod harness;
mod weights;
mod worker;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match grader::run::protocol::RunRequest::from_args(&args) {
        Ok(request) => harness::run(request),
        Err(message) => {
            eprintln!("grader-judge: {message}");
            std::process::exit(2);
        }
    }
}
