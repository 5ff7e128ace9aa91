//! The resnet-lab grader: the check catalog, per-check process isolation, scoring, reports, and the
//! instructor tooling that generates the student crate.
//!
//! This crate does not link libtorch. Checks run in `grader-runner` (the `resnet-lab-runner`
//! crate), which is built against the crate being graded and started once per check.

pub mod assign;
pub mod commands;
