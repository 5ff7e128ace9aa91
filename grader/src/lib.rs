//! The resnet-lab grader: the check catalog, per-check process isolation, scoring, reports, and the
//! instructor tooling that generates the student crate.
//!
//! The tree follows the pipeline a submission goes through:
//!
//! 1. [`submission`] — intake (a zip or folder, read into memory with limits) and transplant (its
//!    answer files into a fresh copy of the assignment crate);
//! 2. [`run`] — build the submission's worker in the build sandbox, then run the planned checks:
//!    each in a `grader-judge` process (`grader/judge`, which holds the reference and computes every
//!    verdict) that drives the worker (`grader-worker`, the submission's code and nothing else) in
//!    the worker sandbox;
//! 3. [`grade`] — the steps above for one crate, and the scoring of what the judges reported;
//! 4. [`output`] — the report (JSON, HTML page, Gradescope), and for a batch ([`batch`]) the
//!    gradebook and the dashboard.
//!
//! [`catalog`] is the list of checks every stage reads; [`commands`] are the CLI's subcommands.
//! This crate does not link libtorch.

pub mod batch;
pub mod catalog;
pub mod commands;
pub mod data_dir;
pub mod exit;
pub mod grade;
pub mod markers;
pub mod output;
// BEGIN HIDDEN
pub mod assign;
pub mod handout;
pub mod samples;
// END HIDDEN
pub mod profile;
pub mod run;
pub mod similarity;
pub mod submission;
pub mod walk;
