//! One module per subcommand, each with its clap arguments and a `run` returning the exit code;
//! flags shared by the grading commands live in [`common`].

pub mod assign;
pub mod autograder;
pub mod batch;
pub mod check;
pub mod common;
pub mod grade;
pub mod list;
pub mod merge;
pub mod submit;
