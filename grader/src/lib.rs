//! The resnet-lab grader: the check catalog, per-check process isolation, scoring, reports, and the
//! instructor tooling that generates the student crate.
//!
//! This crate does not link libtorch. Checks run in `grader-runner` (the `resnet-lab-runner`
//! crate), which is built against the crate being graded (see [`runner_build`]) and started once
//! per check (see [`sandbox`] and [`protocol`]).

// BEGIN HIDDEN
pub mod assign;
// END HIDDEN
pub mod batch;
pub mod catalog;
pub mod charts;
pub mod commands;
pub mod data_dir;
pub mod grade;
pub mod gradebook;
// BEGIN HIDDEN
pub mod handout;
// END HIDDEN
pub mod html;
pub mod intake;
pub mod jail;
pub mod pace;
pub mod profile;
pub mod protocol;
pub mod report;
pub mod sandbox;
pub mod schema;
pub mod summary;
pub mod transplant;
pub mod worker_build;
