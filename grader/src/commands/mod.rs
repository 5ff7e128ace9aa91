//! One module per subcommand, each with its clap arguments and a `run` returning the exit code;
//! flags shared by the grading commands live in [`common`].

// BEGIN HIDDEN
pub mod assign;
pub mod autograder;
pub mod handout;
pub mod samples;
// END HIDDEN
pub mod batch;
pub mod check;
pub mod common;
pub mod demo;
pub mod grade;
pub mod list;
pub mod merge;
pub mod pages;
pub mod similarity;
pub mod submit;
