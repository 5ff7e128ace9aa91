//! The official CIFAR-10 download: streamed with a progress bar, checked against the published MD5,
//! and extracted atomically (a half-finished download or extraction never looks like a dataset).

use crate::Error;
use md5::{Digest, Md5};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Where the official binary archive lives.
pub const CIFAR10_URL: &str = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
/// The published MD5 of that archive.
pub const CIFAR10_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";
/// The folder the archive unpacks to.
pub const BATCHES_DIR: &str = "cifar-10-batches-bin";

/// What to download and how.
#[derive(Debug, Clone)]
pub struct DownloadOptions<'a> {
    /// The archive's URL (the official one by default; tests serve their own).
    pub url: &'a str,
    /// Its expected MD5, lowercase hex.
    pub md5: &'a str,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl Default for DownloadOptions<'_> {
    fn default() -> Self {
        Self { url: CIFAR10_URL, md5: CIFAR10_MD5, progress: true }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

/// Downloads and unpacks CIFAR-10 into `dest/cifar-10-batches-bin` unless it is already there, and
/// returns that folder.
pub fn download_cifar10(dest: &Path, options: &DownloadOptions<'_>) -> Result<PathBuf, Error> {
    let target = dest.join(BATCHES_DIR);
    if target.join(super::cifar::TEST_FILE).exists() {
        return Ok(target);
    }
    std::fs::create_dir_all(dest).map_err(io_error(dest))?;
    let download_error = |reason: String| Error::Download { url: options.url.to_string(), reason };

    let mut response = ureq::get(options.url).call().map_err(|e| download_error(e.to_string()))?;
    let length = response.body().content_length();
    let mut reader = response.body_mut().as_reader();
    let mut archive =
        tempfile::Builder::new().prefix(".cifar-10-download").tempfile_in(dest).map_err(io_error(dest))?;
    let bar = if options.progress {
        indicatif::ProgressBar::new(length.unwrap_or(0))
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("valid template"),
    );
    bar.set_message("CIFAR-10");
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buffer).map_err(|e| download_error(format!("the connection broke off: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        archive.write_all(&buffer[..n]).map_err(io_error(archive.path()))?;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    let actual = hex::encode(hasher.finalize());
    if actual != options.md5 {
        return Err(Error::Checksum { url: options.url.to_string(), expected: options.md5.to_string(), actual });
    }

    let staging = tempfile::Builder::new().prefix(".cifar-10-extract").tempdir_in(dest).map_err(io_error(dest))?;
    let file = std::fs::File::open(archive.path()).map_err(io_error(archive.path()))?;
    // `unpack` refuses entries that would land outside `staging` (absolute paths, `..`).
    tar::Archive::new(flate2::read::GzDecoder::new(file))
        .unpack(staging.path())
        .map_err(|e| download_error(format!("the archive could not be unpacked: {e}")))?;
    let unpacked = staging.path().join(BATCHES_DIR);
    for name in super::cifar::TRAIN_FILES.iter().chain([&super::cifar::TEST_FILE]) {
        if !unpacked.join(name).is_file() {
            return Err(download_error(format!("the archive has no {BATCHES_DIR}/{name}")));
        }
    }
    std::fs::rename(&unpacked, &target).map_err(io_error(&target))?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::BufRead;
    use std::net::TcpListener;

    /// A tar.gz holding a small dataset in the official layout, and its MD5.
    fn small_archive() -> (Vec<u8>, String) {
        let dir = tempfile::tempdir().unwrap();
        crate::data::synthetic::write_dir(&dir.path().join(BATCHES_DIR), 10, 5, 1).unwrap();
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        builder.append_dir_all(BATCHES_DIR, dir.path().join(BATCHES_DIR)).unwrap();
        let bytes = builder.into_inner().unwrap().finish().unwrap();
        let md5 = hex::encode(Md5::digest(&bytes));
        (bytes, md5)
    }

    /// Serves `body` to `requests` HTTP requests on 127.0.0.1 and returns the URL.
    fn serve(body: Vec<u8>, requests: usize) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/cifar-10-binary.tar.gz", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming().take(requests) {
                let mut stream = stream.unwrap();
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).unwrap() > 2 {
                    line.clear();
                }
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(&body).unwrap();
            }
        });
        url
    }

    #[test]
    fn downloads_verifies_and_unpacks_atomically() {
        let (bytes, md5) = small_archive();
        let url = serve(bytes, 1);
        let dest = tempfile::tempdir().unwrap();
        let options = DownloadOptions { url: &url, md5: &md5, progress: false };
        let dir = download_cifar10(dest.path(), &options).unwrap();
        let data = crate::data::cifar::load(&dir).unwrap();
        assert_eq!((data.train.len(), data.test.len()), (10, 5));
        let leftovers: Vec<_> = std::fs::read_dir(dest.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, [BATCHES_DIR], "temporary files left behind");
        // A second call finds the data and does not download again (the server is gone).
        assert_eq!(download_cifar10(dest.path(), &options).unwrap(), dir);
    }

    #[test]
    fn a_corrupt_download_is_refused_and_leaves_nothing() {
        let (bytes, _) = small_archive();
        let url = serve(bytes, 1);
        let dest = tempfile::tempdir().unwrap();
        let options = DownloadOptions { url: &url, md5: "00000000000000000000000000000000", progress: false };
        let err = download_cifar10(dest.path(), &options).unwrap_err().to_string();
        assert!(err.contains("md5") && err.contains("corrupt"), "{err}");
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_unreachable_server_is_a_clear_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x.tar.gz", listener.local_addr().unwrap());
        drop(listener);
        let dest = tempfile::tempdir().unwrap();
        let err = download_cifar10(dest.path(), &DownloadOptions { url: &url, md5: CIFAR10_MD5, progress: false })
            .unwrap_err();
        assert!(err.to_string().starts_with("could not download"), "{err}");
    }
}
