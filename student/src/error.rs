//! The one error type of the assignment crate: each variant says what went wrong and what to do.

use std::path::PathBuf;

/// Everything that can go wrong outside the student's own code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("cannot access {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A CIFAR-10 file is missing.
    #[error(
        "{path} does not exist: download the CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz) and unpack it there, or call `data::download::download_cifar10` (`cargo run --example train -- --data DIR --download`)"
    )]
    MissingData {
        /// The missing file.
        path: PathBuf,
    },
    /// A data file has the wrong size or content.
    #[error("{path} is not valid CIFAR-10 data: {problem}")]
    BadData {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The download failed.
    #[error("could not download {url}: {reason}")]
    Download {
        /// What was being downloaded.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// The download arrived, but not intact.
    #[error("the download of {url} is corrupt (md5 {actual}, expected {expected}); nothing was kept, try again")]
    Checksum {
        /// What was downloaded.
        url: String,
        /// The published MD5.
        expected: String,
        /// The MD5 of what arrived.
        actual: String,
    },
    /// Weights could not be saved or loaded.
    #[error("cannot save or load the weights at {path}: {source}")]
    Weights {
        /// The weights file.
        path: PathBuf,
        /// libtorch's reason.
        source: tch::TchError,
    },
    /// A plot could not be drawn.
    #[error(transparent)]
    Plot(#[from] resnet_lab_plots::Error),
    /// Training could not proceed.
    #[error("training failed: {0}")]
    Training(String),
}
