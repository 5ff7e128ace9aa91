//! `grader-runner`: runs one check of the catalog against the assignment crate it was built with,
//! and sends the result to the grader over the private result pipe. Started by `grader`, once per
//! check; see `grader::protocol`.
// HANDOUT: #![allow(dead_code)] // Helpers shared with checks that only the instructors' grader has.

mod checks;
mod context;
mod harness;
mod weights;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match grader::protocol::RunRequest::from_args(&args) {
        Ok(request) => harness::run(request),
        Err(message) => {
            eprintln!("grader-runner: {message}");
            std::process::exit(2);
        }
    }
}
