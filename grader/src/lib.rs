//! The resnet-lab grader: the check catalog, per-check process isolation, scoring, reports, and the
//! instructor tooling that generates the student crate.
//!
//! This crate does not link libtorch. Checks run in `grader-judge` (`grader/judge`), started once
//! per check or group of checks (see [`sandbox`] and [`protocol`]); the judge runs the graded
//! crate's code only through `grader-worker`, built against that crate (see [`worker_build`]) and
//! started in the worker sandbox.

// BEGIN HIDDEN
pub mod assign;
// END HIDDEN
pub mod batch;
pub mod catalog;
pub mod charts;
pub mod commands;
pub mod data_dir;
pub mod exit;
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
