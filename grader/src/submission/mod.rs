//! Stage 1 and 2 of grading: take a submission in ([`intake`]: a zip or folder, safely unpacked,
//! its manifest read) and put its answer files into a fresh copy of the assignment crate
//! ([`transplant`]).

pub mod intake;
mod refusal;
pub mod transplant;

pub use refusal::Refusal;
