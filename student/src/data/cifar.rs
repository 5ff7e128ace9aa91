//! The CIFAR-10 binary format (`cifar-10-batches-bin`), read and written with validation.
//!
//! Each file is a sequence of 3,073-byte records: one label byte (0–9), then 1,024 red, 1,024 green
//! and 1,024 blue bytes, each plane 32×32 row-major. The official archive has `data_batch_1.bin` …
//! `data_batch_5.bin` (10,000 records each) and `test_batch.bin` (10,000).

use super::Dataset;
use crate::Error;
use std::path::{Path, PathBuf};
use tch::{Kind, Tensor};

/// Bytes per record: 1 label + 3 × 32 × 32 pixels.
pub const RECORD_BYTES: usize = 1 + 3 * 32 * 32;
/// Number of classes.
pub const NUM_CLASSES: u8 = 10;
/// The class names, in label order.
pub const CLASS_NAMES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
/// The training files of the official archive.
pub const TRAIN_FILES: [&str; 5] =
    ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
/// The test file of the official archive.
pub const TEST_FILE: &str = "test_batch.bin";

/// The training and test splits.
#[derive(Debug)]
pub struct Cifar10 {
    /// 50,000 training examples (in the official archive).
    pub train: Dataset,
    /// 10,000 test examples.
    pub test: Dataset,
}

/// Decodes records from `bytes`; `path` only names the source in errors.
pub fn decode_records(bytes: &[u8], path: &Path) -> Result<Dataset, Error> {
    let bad = |problem: String| Error::BadData { path: path.to_path_buf(), problem };
    if bytes.is_empty() {
        return Err(bad("the file is empty; expected 3,073-byte CIFAR-10 records".into()));
    }
    if !bytes.len().is_multiple_of(RECORD_BYTES) {
        let whole = bytes.len() / RECORD_BYTES;
        return Err(bad(format!(
            "{} bytes is not a whole number of 3,073-byte records ({whole} full records and {} bytes over): the file is truncated or not a CIFAR-10 binary batch",
            bytes.len(),
            bytes.len() % RECORD_BYTES
        )));
    }
    let count = bytes.len() / RECORD_BYTES;
    let mut labels = Vec::with_capacity(count);
    let mut pixels = Vec::with_capacity(count * (RECORD_BYTES - 1));
    for (index, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        if record[0] >= NUM_CLASSES {
            return Err(bad(format!(
                "record {index} (byte offset {}) has label {}, but CIFAR-10 labels are 0-9: the file is corrupt or in another format (CIFAR-100 records are 3,074 bytes)",
                index * RECORD_BYTES,
                record[0]
            )));
        }
        labels.push(i64::from(record[0]));
        pixels.extend_from_slice(&record[1..]);
    }
    let images = Tensor::from_slice(&pixels).view([count as i64, 3, 32, 32]);
    Ok(Dataset { images, labels: Tensor::from_slice(&labels) })
}

/// Encodes a dataset as CIFAR-10 binary records.
pub fn encode_records(data: &Dataset) -> Vec<u8> {
    let n = data.len() as usize;
    let pixels = Vec::<u8>::try_from(data.images.to_kind(Kind::Uint8).contiguous().view([-1])).expect("uint8 pixels");
    let labels = Vec::<i64>::try_from(&data.labels).expect("int64 labels");
    let mut out = Vec::with_capacity(n * RECORD_BYTES);
    for (label, image) in labels.iter().zip(pixels.chunks_exact(RECORD_BYTES - 1)) {
        out.push(*label as u8);
        out.extend_from_slice(image);
    }
    out
}

/// Reads one binary batch file.
pub fn read_batch_file(path: &Path) -> Result<Dataset, Error> {
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => Error::MissingData { path: path.to_path_buf() },
        _ => Error::Io { path: path.to_path_buf(), source },
    })?;
    decode_records(&bytes, path)
}

/// Writes one binary batch file.
pub fn write_batch_file(path: &Path, data: &Dataset) -> Result<(), Error> {
    std::fs::write(path, encode_records(data)).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// Finds the folder holding the batch files: `dir` itself or its `cifar-10-batches-bin` child.
pub fn batches_dir(dir: &Path) -> PathBuf {
    let nested = dir.join("cifar-10-batches-bin");
    if !dir.join(TEST_FILE).exists() && nested.join(TEST_FILE).exists() { nested } else { dir.to_path_buf() }
}

/// Reads the five training files of `dir` (or of `dir/cifar-10-batches-bin`).
pub fn load_train(dir: &Path) -> Result<Dataset, Error> {
    let dir = batches_dir(dir);
    let parts = TRAIN_FILES.iter().map(|name| read_batch_file(&dir.join(name))).collect::<Result<Vec<_>, _>>()?;
    Ok(Dataset::concat(&parts))
}

/// Reads the test file of `dir` (or of `dir/cifar-10-batches-bin`).
pub fn load_test(dir: &Path) -> Result<Dataset, Error> {
    read_batch_file(&batches_dir(dir).join(TEST_FILE))
}

/// Reads the whole dataset from `dir` (or `dir/cifar-10-batches-bin`).
pub fn load(dir: &Path) -> Result<Cifar10, Error> {
    Ok(Cifar10 { train: load_train(dir)?, test: load_test(dir)? })
}

/// Writes `train` split over the five training files and `test` as the test file, with
/// `batches.meta.txt`, into `dir` (created if needed): the official layout.
pub fn write_dir(dir: &Path, train: &Dataset, test: &Dataset) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    let n = train.len();
    if n < TRAIN_FILES.len() as i64 {
        return Err(Error::BadData {
            path: dir.to_path_buf(),
            problem: format!("{n} training examples cannot fill the five training files"),
        });
    }
    for (i, name) in TRAIN_FILES.iter().enumerate() {
        let (start, end) = (i as i64 * n / 5, (i as i64 + 1) * n / 5);
        write_batch_file(&dir.join(name), &train.slice(start, end))?;
    }
    write_batch_file(&dir.join(TEST_FILE), test)?;
    let meta = dir.join("batches.meta.txt");
    std::fs::write(&meta, CLASS_NAMES.join("\n") + "\n").map_err(|source| Error::Io { path: meta, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::synthetic;

    #[test]
    fn records_round_trip() {
        let data = synthetic::generate(7, 3);
        let bytes = encode_records(&data);
        assert_eq!(bytes.len(), 7 * RECORD_BYTES);
        let back = decode_records(&bytes, Path::new("x.bin")).unwrap();
        assert!(back.images.equal(&data.images));
        assert!(back.labels.equal(&data.labels));
    }

    #[test]
    fn truncated_empty_and_bad_label_files_are_explained() {
        let bytes = encode_records(&synthetic::generate(2, 1));
        let err = decode_records(&bytes[..bytes.len() - 5], Path::new("b.bin")).unwrap_err().to_string();
        assert!(err.contains("b.bin") && err.contains("1 full records and 3068 bytes over"), "{err}");
        let err = decode_records(&[], Path::new("e.bin")).unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        let mut bad = bytes.clone();
        bad[RECORD_BYTES] = 42;
        let err = decode_records(&bad, Path::new("l.bin")).unwrap_err().to_string();
        assert!(err.contains("record 1") && err.contains("label 42"), "{err}");
    }

    #[test]
    fn a_missing_file_names_the_download() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("data_batch_1.bin") && err.contains("cifar-10-binary.tar.gz"), "{err}");
    }

    #[test]
    fn write_dir_then_load_gives_the_same_data_in_the_nested_layout_too() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("cifar-10-batches-bin");
        let (train, test) = (synthetic::generate(12, 1), synthetic::generate(4, 2));
        write_dir(&nested, &train, &test).unwrap();
        let back = load(dir.path()).unwrap();
        assert!(back.train.images.equal(&train.images) && back.test.labels.equal(&test.labels));
    }
}
