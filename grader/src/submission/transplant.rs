//! Turning a submission into a crate the grader builds: a pristine copy of the student crate with
//! only the submission's answer files laid over it. The submission's `Cargo.toml`, `build.rs`,
//! `lib.rs`, extra modules, tests and everything else are ignored (and listed as ignored). Answer
//! files that read files or the environment at compile time, or use inline assembly, are refused:
//! the crate root forbids `unsafe`, and these are the remaining ways to escape it.

use crate::catalog::Exercise;
use crate::submission::Refusal;
use crate::submission::intake::Files;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What went into the graded crate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Transplanted {
    /// Answer files taken from the submission (crate-relative), with the path they came from.
    pub used: Vec<(String, String)>,
    /// Answer files the submission lacks (the stub stays: those exercises are "not implemented").
    pub missing: Vec<String>,
    /// Everything else in the submission, ignored.
    pub ignored: Vec<String>,
}

/// Macros and attributes an answer file may not use, with why.
const FORBIDDEN: [(&str, &str); 8] = [
    ("include_str!", "reads a file at compile time"),
    ("include_bytes!", "reads a file at compile time"),
    ("include!", "reads a file at compile time"),
    ("env!", "reads the build environment"),
    ("option_env!", "reads the build environment"),
    ("asm!", "is inline assembly"),
    ("global_asm!", "is inline assembly"),
    ("#[path", "points a module at another file"),
];

/// Removes comments and the contents of string and character literals, so that only code is
/// searched (a `// no include_str! here` comment is fine).
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars.get(i.wrapping_sub(1)).is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) == Some(&'"') {
                j += 1;
                while j < chars.len() && !(chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#'))) {
                    j += 1;
                }
                i = j + 1 + hashes;
                out.push_str("\"\"");
            } else {
                out.push(c);
                i += 1;
            }
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            out.push_str("' '");
            i += 3;
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
            out.push_str("' '");
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether Rust source still calls `todo!()` (in code, not in comments or strings).
pub fn has_todo(source: &str) -> bool {
    let code: String = code_only(source).chars().filter(|c| !c.is_whitespace()).collect();
    code.match_indices("todo!")
        .any(|(at, _)| !code[..at].chars().next_back().is_some_and(|p| p.is_alphanumeric() || p == '_'))
}

/// Why an answer file is refused, if it is.
pub fn refuse(path: &str, source: &str) -> Option<Refusal> {
    let code: String = code_only(source).chars().filter(|c| !c.is_whitespace()).collect();
    FORBIDDEN.iter().find_map(|(needle, why)| {
        let found = code.match_indices(needle).any(|(at, _)| {
            // `include!` must not match inside `my_include!`; `env!` not inside `option_env!`.
            !code[..at].chars().next_back().is_some_and(|p| p.is_alphanumeric() || p == '_')
        });
        found.then(|| Refusal::Forbidden {
            path: path.to_string(),
            construct: needle.trim_start_matches("#[").to_string(),
            why: why.to_string(),
        })
    })
}

/// Finds the submitted version of `answer` (e.g. `src/basic_block.rs`): an entry at that path
/// below any single top-level folder, or else the only entry with that file name.
pub fn find<'a>(files: &'a Files, answer: &str) -> Result<Option<&'a String>, Refusal> {
    let file_name = answer.rsplit('/').next().expect("non-empty");
    let exact: Vec<&String> = files.keys().filter(|k| *k == answer || k.ends_with(&format!("/{answer}"))).collect();
    let candidates = if exact.is_empty() {
        files.keys().filter(|k| k.rsplit('/').next() == Some(file_name)).collect()
    } else {
        exact
    };
    match candidates.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => {
            let shallowest = many.iter().map(|k| k.matches('/').count()).min().expect("non-empty");
            let top: Vec<&&String> = many.iter().filter(|k| k.matches('/').count() == shallowest).collect();
            if top.len() == 1 {
                Ok(Some(top[0]))
            } else {
                Err(Refusal::Ambiguous {
                    file_name: file_name.to_string(),
                    candidates: top.iter().map(|k| k.to_string()).collect(),
                })
            }
        }
    }
}

/// Why a transplant did not happen.
#[derive(Debug, thiserror::Error)]
pub enum TransplantError {
    /// The submission is refused (a graded outcome: its report says why).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The grader could not write the crate (could not grade).
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

/// Writes the graded crate into `dest`: `pristine` (the student crate) with the submission's
/// answer files. Returns what was used, or why the submission is refused.
pub fn transplant(files: &Files, pristine: &Path, dest: &Path) -> std::result::Result<Transplanted, TransplantError> {
    let mut chosen = Vec::new();
    let mut report = Transplanted::default();
    for exercise in Exercise::ALL {
        let answer = exercise.file();
        match find(files, answer)? {
            None => report.missing.push(answer.to_string()),
            Some(source_path) => {
                let Ok(text) = std::str::from_utf8(&files[source_path]) else {
                    return Err(Refusal::NotText { path: source_path.clone() }.into());
                };
                if let Some(refusal) = refuse(source_path, text) {
                    return Err(refusal.into());
                }
                chosen.push((answer, text.to_string()));
                report.used.push((answer.to_string(), source_path.clone()));
            }
        }
    }
    let used: Vec<&String> = report.used.iter().map(|(_, from)| from).collect();
    report.ignored =
        files.keys().filter(|k| !used.contains(k) && k.rsplit('/').next() != Some("manifest.json")).cloned().collect();

    if dest.exists() {
        std::fs::remove_dir_all(dest).with_context(|| format!("cannot clear {}", dest.display()))?;
    }
    copy_crate(pristine, dest)?;
    for (answer, text) in chosen {
        std::fs::write(dest.join(answer), text).with_context(|| format!("cannot write {answer}"))?;
    }
    Ok(report)
}

/// Copies `Cargo.toml` and `src/` of a crate.
fn copy_crate(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    std::fs::copy(from.join("Cargo.toml"), to.join("Cargo.toml"))
        .with_context(|| format!("no Cargo.toml in {}", from.display()))?;
    for file in crate::walk::files_below(&from.join("src"), from, &[])? {
        let target = to.join(&file);
        std::fs::create_dir_all(target.parent().expect("parent"))?;
        std::fs::copy(from.join(&file), &target)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compile_time_escapes_are_refused_but_comments_and_strings_are_not() {
        let refuse = |path: &str, source: &str| refuse(path, source).map(|r| r.to_string());
        assert!(refuse("a.rs", "const X: &str = include_str!(\"/etc/passwd\");").unwrap().contains("include_str!"));
        assert!(refuse("a.rs", "fn f() { let k = env ! (\"HOME\"); }").unwrap().contains("env!"));
        assert!(refuse("a.rs", "#[path = \"/tmp/x.rs\"] mod x;").unwrap().contains("path"));
        assert!(refuse("a.rs", "fn f() { unsafe { core::arch::asm!(\"nop\") } }").unwrap().contains("asm!"));
        assert_eq!(refuse("a.rs", "// do not use include_str! here\nfn f() -> &'static str { \"env!(x)\" }"), None);
        assert_eq!(refuse("a.rs", "/* include!(\"x\") /* nested */ */ fn g() { my_include!(); let c = '\"'; }"), None);
        assert_eq!(refuse("a.rs", "fn h() -> &'static str { r#\"include_bytes!(\"x\")\"# }"), None);
        assert!(refuse("a.rs", "fn h() { let s = r#\"x\"#; include_bytes!(\"y\"); }").is_some());
    }

    #[test]
    fn todo_is_found_in_code_only() {
        assert!(has_todo("fn f() { todo!(\"x\") }"));
        assert!(!has_todo("// todo!() was here\nfn f() -> &'static str { \"todo!()\" }"));
    }

    fn files(entries: &[(&str, &str)]) -> Files {
        entries.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect()
    }

    #[test]
    fn answer_files_are_found_under_a_wrapping_folder_and_the_rest_is_ignored() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("student");
        let dest = tempfile::tempdir().unwrap();
        let submission = files(&[
            ("jdoe-hw3/src/basic_block.rs", "// mine\n"),
            ("jdoe-hw3/Cargo.toml", "[package]"),
            ("jdoe-hw3/build.rs", "fn main() {}"),
            ("jdoe-hw3/manifest.json", "{}"),
            ("notes/he_init.rs", "// found by name\n"),
        ]);
        let result = transplant(&submission, &root, dest.path()).unwrap();
        assert_eq!(
            result.used,
            [
                ("src/basic_block.rs".to_string(), "jdoe-hw3/src/basic_block.rs".to_string()),
                ("src/he_init.rs".to_string(), "notes/he_init.rs".to_string())
            ]
        );
        assert_eq!(result.missing, ["src/bottleneck.rs", "src/training.rs", "src/ablation.rs"]);
        assert_eq!(result.ignored, ["jdoe-hw3/Cargo.toml", "jdoe-hw3/build.rs"]);
        assert_eq!(std::fs::read_to_string(dest.path().join("src/basic_block.rs")).unwrap(), "// mine\n");
        assert_eq!(
            std::fs::read(dest.path().join("Cargo.toml")).unwrap(),
            std::fs::read(root.join("Cargo.toml")).unwrap()
        );
        assert_eq!(
            std::fs::read(dest.path().join("src/lib.rs")).unwrap(),
            std::fs::read(root.join("src/lib.rs")).unwrap()
        );
    }

    #[test]
    fn ambiguous_and_non_utf8_answers_are_refused() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("student");
        let dest = tempfile::tempdir().unwrap();
        let two = files(&[("a/basic_block.rs", "x"), ("b/basic_block.rs", "y")]);
        let refused = |files: &Files| match transplant(files, &root, dest.path()) {
            Err(TransplantError::Refused(refusal)) => refusal.to_string(),
            other => panic!("not refused: {other:?}"),
        };
        assert_eq!(
            refused(&two),
            "the submission holds 2 files named basic_block.rs: a/basic_block.rs, b/basic_block.rs"
        );
        let mut bad = Files::new();
        bad.insert("src/training.rs".into(), vec![0xff, 0xfe, 0x00]);
        assert_eq!(refused(&bad), "src/training.rs is not UTF-8 text");
    }
}
