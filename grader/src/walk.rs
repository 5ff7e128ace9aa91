//! Listing the files of a folder tree, by the walkdir crate.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// Every file below `dir` that is not a folder (symbolic links are listed, not followed), as paths
/// relative to `base`, sorted; entries named in `skip` (a folder and all below it, or a file) are
/// left out.
pub fn files_below(dir: &Path, base: &Path, skip: &[&str]) -> Result<Vec<PathBuf>> {
    let entered = |entry: &walkdir::DirEntry| entry.depth() == 0 || !skip.iter().any(|s| entry.file_name() == *s);
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).into_iter().filter_entry(entered) {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        if !entry.file_type().is_dir() {
            files.push(entry.path().strip_prefix(base).expect("below base").to_path_buf());
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_files_relative_sorted_and_skips_named_folders() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["b/x.rs", "a.rs", "target/big.bin", "b/target/also.bin", "c/d/e.rs", "c/.git"] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        std::os::unix::fs::symlink("/etc", dir.path().join("link")).unwrap();
        let files = files_below(dir.path(), dir.path(), &["target", ".git"]).unwrap();
        let names: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(names, ["a.rs", "b/x.rs", "c/d/e.rs", "link"]);
        let below_b = files_below(&dir.path().join("b"), dir.path(), &[]).unwrap();
        assert_eq!(below_b, [PathBuf::from("b/target/also.bin"), PathBuf::from("b/x.rs")]);
    }
}
