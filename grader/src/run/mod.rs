//! Stage 2 of grading (see the crate docs): build the submission's worker, then run the planned
//! checks, each in a judge process that drives the worker in its sandbox.
//!
//! [`worker_build`] builds the worker in the build sandbox; [`sandbox`] starts processes with limits,
//! namespaces, seccomp and an unprivileged uid ([`jail`]); [`protocol`] is what a judge process
//! reports; [`pace`] lets a check that timed out on a busy machine run again alone.

pub mod jail;
pub mod pace;
pub mod protocol;
pub mod sandbox;
pub mod worker_build;
