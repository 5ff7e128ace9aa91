//! The submissions folder: one submission per zip or folder, its student id, shards of it, and a
//! submission's fingerprint.

use crate::submission::intake::{self, IntakeLimits};
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// One submission found in the submissions folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The student id used for its output folder (from the file name).
    pub student: String,
    /// The zip or folder.
    pub path: PathBuf,
}

/// A deterministic part of a batch: submission `i` (in name order) belongs to shard
/// `i % count + 1`. Slurm array task K of N runs `--shard K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("--shard takes K/N (like 2/8), not {s:?}"))?;
        let (index, count): (usize, usize) = (
            k.trim().parse().map_err(|_| format!("bad shard index {k:?}"))?,
            n.trim().parse().map_err(|_| format!("bad shard count {n:?}"))?,
        );
        if count == 0 || index == 0 || index > count {
            return Err(format!("--shard {s}: K must be between 1 and N"));
        }
        Ok(Self { index, count })
    }
}

/// A folder-name-safe student id from a submission's name (`.zip` in any case dropped): ASCII
/// letters, digits, `-`, `_` and `.` are kept, and so is every other script's text (`李.zip` is
/// `李`, `çé.zip` is `çé`, accents written as combining marks too); ASCII punctuation, spaces,
/// separators and control characters become `_`. The file name itself is kept in the report and
/// the gradebook's `source`.
pub fn student_id(name: &str) -> String {
    let stem = if name.to_ascii_lowercase().ends_with(".zip") { &name[..name.len() - 4] } else { name };
    let kept = |c: char| {
        c.is_ascii_alphanumeric() || "-_.".contains(c) || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
    };
    let id: String = stem.chars().map(|c| if kept(c) { c } else { '_' }).collect();
    let id = id.trim_matches('.').to_string();
    if id.is_empty() { "submission".to_string() } else { id }
}

/// The submissions in `dir`, in name order: `*.zip` files and folders (hidden entries skipped).
pub fn list(dir: &Path) -> Result<Vec<Submission>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list the submissions folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.') && (p.is_dir() || name.to_ascii_lowercase().ends_with(".zip") || !name.contains('.'))
        })
        .collect();
    entries.sort();
    let mut seen = std::collections::HashSet::new();
    let mut submissions = Vec::new();
    for path in entries {
        let base = student_id(&path.file_name().expect("named").to_string_lossy());
        let mut student = base.clone();
        let mut n = 2;
        while !seen.insert(student.clone()) {
            student = format!("{base}-{n}");
            n += 1;
        }
        submissions.push(Submission { student, path });
    }
    Ok(submissions)
}

/// The submissions of one shard.
pub fn select(submissions: Vec<Submission>, shard: Option<Shard>) -> Vec<Submission> {
    match shard {
        None => submissions,
        Some(s) => {
            submissions.into_iter().enumerate().filter(|(i, _)| i % s.count == s.index - 1).map(|(_, x)| x).collect()
        }
    }
}

/// sha256 of a submission: the zip's bytes, or a folder's files (path and content, in order).
pub fn fingerprint(path: &Path) -> String {
    let mut hasher = Sha256::new();
    if path.is_dir() {
        if let Ok(files) = intake::read_dir(path, &IntakeLimits::default()) {
            for (name, bytes) in files {
                hasher.update(name.as_bytes());
                hasher.update([0]);
                hasher.update(&bytes);
                hasher.update([0]);
            }
        }
    } else if let Ok(bytes) = std::fs::read(path) {
        hasher.update(&bytes);
    }
    hex::encode(hasher.finalize())
}
