//! One module per subcommand, each with its clap arguments and a `run` returning the exit code.

pub mod assign;
pub mod check;
pub mod list;
