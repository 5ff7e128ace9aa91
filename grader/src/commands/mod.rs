//! One module per subcommand, each with its clap arguments and a `run` returning the exit code;
//! flags shared by the grading commands live in [`common`].

// BEGIN HIDDEN
pub mod assign;
pub mod autograder;
// END HIDDEN
pub mod batch;
pub mod check;
pub mod common;
pub mod demo;
pub mod grade;
// BEGIN HIDDEN
pub mod handout;
// END HIDDEN
pub mod list;
pub mod merge;
pub mod pages;
pub mod submit;
