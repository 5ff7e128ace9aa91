//! CIFAR-10 data: the binary-format reader and writer, the official download, a synthetic stand-in
//! for tests and CPU runs, and the normalization and augmentation used in training.

pub mod augment;
pub mod cifar;
pub mod download;
pub mod synthetic;

use tch::{Device, Kind, Tensor};

/// Images and labels held in memory.
#[derive(Debug)]
pub struct Dataset {
    /// `uint8` pixels, shape `[N, 3, 32, 32]` (channels R, G, B).
    pub images: Tensor,
    /// `int64` class indices in `0..10`, shape `[N]`.
    pub labels: Tensor,
}

impl Dataset {
    /// Number of examples.
    pub fn len(&self) -> i64 {
        self.labels.size()[0]
    }

    /// Whether the dataset holds no example.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Examples `start..end` (a view, no copy).
    pub fn slice(&self, start: i64, end: i64) -> Dataset {
        Dataset { images: self.images.narrow(0, start, end - start), labels: self.labels.narrow(0, start, end - start) }
    }

    /// The first `n` examples and the rest.
    pub fn split_at(&self, n: i64) -> (Dataset, Dataset) {
        (self.slice(0, n), self.slice(n, self.len()))
    }

    /// Concatenates datasets in order.
    pub fn concat(parts: &[Dataset]) -> Dataset {
        let images: Vec<_> = parts.iter().map(|d| &d.images).collect();
        let labels: Vec<_> = parts.iter().map(|d| &d.labels).collect();
        Dataset { images: Tensor::cat(&images, 0), labels: Tensor::cat(&labels, 0) }
    }

    /// A copy on `device` (still `uint8`: four times smaller than floats; normalized per batch).
    pub fn to_device(&self, device: Device) -> Dataset {
        Dataset { images: self.images.to_device(device), labels: self.labels.to_device(device) }
    }

    /// Checks the invariants every constructor of this crate upholds.
    pub fn validate(&self) -> Result<(), String> {
        let shape = self.images.size();
        if shape.len() != 4 || shape[1..] != [3, 32, 32] {
            return Err(format!("images have shape {shape:?}, expected [N, 3, 32, 32]"));
        }
        if self.images.kind() != Kind::Uint8 || self.labels.kind() != Kind::Int64 {
            return Err("images must be uint8 and labels int64".into());
        }
        if shape[0] != self.len() {
            return Err(format!("{} images but {} labels", shape[0], self.len()));
        }
        Ok(())
    }
}
