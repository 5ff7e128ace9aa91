//! Stage 1 of grading (see the crate docs): take a submission in ([`intake`]: a zip or folder, read
//! into memory with limits, or refused with a [`Refusal`]) and put its answer files into a fresh
//! copy of the assignment crate ([`transplant`]; a submission's `manifest.json` is ignored there).

pub mod intake;
mod refusal;
pub mod transplant;

pub use refusal::Refusal;
