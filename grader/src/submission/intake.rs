//! Reading a submission safely: a zip (as LMS exports deliver them) or a folder, into memory,
//! with limits. Nothing is extracted: entries are read into memory, checked, and only the answer
//! files are later written, by [`crate::submission::transplant`], into the submission's own staging folder.
//!
//! Refused, with a reason: absolute paths, `..`, symlinks and device files, duplicate or non-UTF-8
//! names, too many entries, too many bytes (declared or actual), and compression ratios that only
//! zip bombs have.

use super::Refusal;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Limits on what a submission may hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntakeLimits {
    /// Files and folders in the archive.
    pub max_entries: usize,
    /// Bytes of one file once unpacked.
    pub max_file_bytes: u64,
    /// Bytes of all files once unpacked.
    pub max_total_bytes: u64,
    /// Unpacked / packed size of one file (files over 64 KiB only).
    pub max_ratio: f64,
}

impl Default for IntakeLimits {
    fn default() -> Self {
        Self { max_entries: 1000, max_file_bytes: 2 << 20, max_total_bytes: 32 << 20, max_ratio: 200.0 }
    }
}

/// A submission's files: normalized relative path (`/`-separated) → bytes.
pub type Files = BTreeMap<String, Vec<u8>>;

/// Normalizes an entry name, or says why it is refused.
pub fn normalize(name: &str) -> Result<String, Refusal> {
    if name.starts_with('/') || name.starts_with('\\') || name.get(1..3) == Some(":\\") || name.get(1..3) == Some(":/")
    {
        return Err(Refusal::AbsolutePath { name: name.to_string() });
    }
    let parts: Vec<&str> = name.split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.contains(&"..") {
        return Err(Refusal::ClimbsOut { name: name.to_string() });
    }
    if parts.iter().any(|p| p.chars().any(char::is_control)) {
        return Err(Refusal::ControlCharacters { name: name.to_string() });
    }
    Ok(parts.join("/"))
}

const S_IFMT: u32 = 0o170000;
const S_IFLNK: u32 = 0o120000;
const S_IFREG: u32 = 0o100000;
const S_IFDIR: u32 = 0o040000;

/// Reads a zip archive within `limits`.
pub fn read_zip(bytes: &[u8], limits: &IntakeLimits) -> Result<Files, Refusal> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| Refusal::NotAZip { reason: e.to_string() })?;
    if archive.len() > limits.max_entries {
        return Err(Refusal::TooManyEntries { entries: archive.len(), limit: limits.max_entries });
    }
    let mut files = Files::new();
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut entry =
            archive.by_index(index).map_err(|e| Refusal::UnreadableEntry { index, reason: e.to_string() })?;
        let raw = entry.name_raw().to_vec();
        let name = String::from_utf8(raw).map_err(|_| Refusal::NameNotUtf8 { index })?;
        let path = normalize(&name)?;
        let kind = entry.unix_mode().map(|m| m & S_IFMT).filter(|&k| k != 0);
        if entry.is_symlink() || kind == Some(S_IFLNK) {
            return Err(Refusal::SymbolicLink { name });
        }
        if entry.is_dir() || kind == Some(S_IFDIR) {
            continue;
        }
        if kind.is_some_and(|k| k != S_IFREG) {
            return Err(Refusal::NotARegularFile { name });
        }
        let declared = entry.size();
        if declared > limits.max_file_bytes {
            return Err(Refusal::FileTooLarge { name, bytes: declared, limit: limits.max_file_bytes });
        }
        let packed = entry.compressed_size().max(1);
        if declared > 64 << 10 && declared as f64 / packed as f64 > limits.max_ratio {
            return Err(Refusal::ZipBomb { name, ratio: declared as f64 / packed as f64 });
        }
        // Headers can lie: read at most one byte past the limit.
        let mut data = Vec::with_capacity(declared.min(limits.max_file_bytes) as usize);
        (&mut entry)
            .take(limits.max_file_bytes + 1)
            .read_to_end(&mut data)
            .map_err(|e| Refusal::CannotUnpack { name: name.clone(), reason: e.to_string() })?;
        if data.len() as u64 > limits.max_file_bytes {
            return Err(Refusal::UnpacksBeyond { name, limit: limits.max_file_bytes });
        }
        total += data.len() as u64;
        if total > limits.max_total_bytes {
            return Err(Refusal::TotalTooLarge { limit: limits.max_total_bytes });
        }
        if files.insert(path.clone(), data).is_some() {
            return Err(Refusal::Duplicate { path });
        }
    }
    Ok(files)
}

/// Reads a folder within `limits` (symbolic links are refused, not followed).
pub fn read_dir(root: &Path, limits: &IntakeLimits) -> Result<Files, Refusal> {
    let mut files = Files::new();
    let mut total = 0u64;
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| Refusal::Unreadable(format!("cannot list {}: {e}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| Refusal::Unreadable(e.to_string()))?;
            let path = entry.path();
            let relative = path.strip_prefix(root).expect("inside").to_string_lossy().replace('\\', "/");
            if relative == "target" || relative.starts_with(".git") {
                continue;
            }
            let kind = entry.file_type().map_err(|e| Refusal::Unreadable(e.to_string()))?;
            if kind.is_symlink() {
                return Err(Refusal::SymbolicLink { name: relative });
            } else if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                if entry.file_name().to_str().is_none() {
                    return Err(Refusal::Unreadable(format!(
                        "a file in {} has a name that is not UTF-8",
                        dir.display()
                    )));
                }
                let size = entry.metadata().map_err(|e| Refusal::Unreadable(e.to_string()))?.len();
                if size > limits.max_file_bytes {
                    return Err(Refusal::LargeFile { name: relative, bytes: size, limit: limits.max_file_bytes });
                }
                total += size;
                if total > limits.max_total_bytes || files.len() >= limits.max_entries {
                    return Err(Refusal::FolderTooLarge);
                }
                let bytes = std::fs::read(&path).map_err(|e| Refusal::Unreadable(e.to_string()))?;
                files.insert(relative, bytes);
            } else {
                return Err(Refusal::NotAFile { name: relative });
            }
        }
    }
    Ok(files)
}

/// Reads a submission: a `.zip` file or a folder.
pub fn read_submission(path: &Path, limits: &IntakeLimits) -> Result<Files, Refusal> {
    if path.is_dir() {
        read_dir(path, limits)
    } else {
        let unreadable = |e: std::io::Error| Refusal::Unreadable(format!("cannot read {}: {e}", path.display()));
        let size = std::fs::metadata(path).map_err(unreadable)?.len();
        if size > limits.max_total_bytes {
            return Err(Refusal::ArchiveTooLarge { bytes: size, limit: limits.max_total_bytes });
        }
        read_zip(&std::fs::read(path).map_err(unreadable)?, limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    /// A zip with `(name, bytes, unix mode)` entries.
    pub fn make_zip(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes, mode) in entries {
            let options = SimpleFileOptions::default().unix_permissions(*mode);
            if mode & S_IFMT == S_IFLNK {
                writer.add_symlink(*name, std::str::from_utf8(bytes).unwrap(), options).unwrap();
            } else {
                writer.start_file(*name, options).unwrap();
                writer.write_all(bytes).unwrap();
            }
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn normal_archives_are_read_with_normalized_names() {
        let zip = make_zip(&[("sub/./src/a.rs", b"fn a() {}", 0o644), ("sub\\src\\b.rs", b"b", 0o644)]);
        let files = read_zip(&zip, &IntakeLimits::default()).unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["sub/src/a.rs", "sub/src/b.rs"]);
    }

    #[test]
    fn hostile_archives_are_refused_with_a_reason() {
        let limits = IntakeLimits::default();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (make_zip(&[("../../etc/evil.rs", b"x", 0o644)]), "climbs out"),
            (make_zip(&[("/abs/evil.rs", b"x", 0o644)]), "absolute path"),
            (make_zip(&[("link.rs", b"/etc/passwd", S_IFLNK | 0o777)]), "symbolic link"),
            (make_zip(&[("src/a.rs", b"1", 0o644), ("src//a.rs", b"2", 0o644)]), "appears twice"),
            (make_zip(&[("bomb.bin", &vec![0u8; 3 << 20], 0o644)]), "limit per file"),
            (make_zip(&[("bomb.bin", &vec![0u8; 1 << 20], 0o644)]), "zip bombs"),
            (b"PK\x03\x04 definitely not a zip".to_vec(), "not a readable zip"),
        ];
        for (zip, fragment) in cases {
            let err = read_zip(&zip, &limits).unwrap_err().to_string();
            assert!(err.contains(fragment), "{err:?} lacks {fragment:?}");
        }
    }

    #[test]
    fn total_size_and_entry_count_are_capped() {
        let small = IntakeLimits { max_entries: 2, max_total_bytes: 10, ..IntakeLimits::default() };
        let err =
            read_zip(&make_zip(&[("a", b"123456", 0o644), ("b", b"123456", 0o644)]), &small).unwrap_err().to_string();
        assert!(err.contains("more than 10 bytes"), "{err}");
        let err = read_zip(&make_zip(&[("a", b"", 0o644), ("b", b"", 0o644), ("c", b"", 0o644)]), &small)
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 entries"), "{err}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, failure_persistence: None, ..Default::default() })]
        /// Arbitrary bytes never panic intake: they are read or refused with a reason.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            if let Err(reason) = read_zip(&bytes, &IntakeLimits::default()) {
                proptest::prop_assert!(!reason.to_string().is_empty());
            }
        }

        /// A valid archive with bytes flipped never panics intake either.
        #[test]
        fn mangled_archives_never_panic(flips in proptest::collection::vec((0usize..400, proptest::prelude::any::<u8>()), 1..8)) {
            let mut zip = make_zip(&[("src/basic_block.rs", b"pub fn f() -> u32 { 1 }", 0o644), ("README", b"hello", 0o644)]);
            for (at, byte) in flips {
                let len = zip.len();
                zip[at % len] ^= byte;
            }
            if let Err(reason) = read_zip(&zip, &IntakeLimits::default()) {
                proptest::prop_assert!(!reason.to_string().is_empty());
            }
        }
    }
}
