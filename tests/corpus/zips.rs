//! Builds the submission corpus of `tests/cases` as zip files, as an LMS export would hold them.
//!
//! Each `tests/cases/<name>/case.json` describes one submission:
//!
//! - `base`: `"solution"` (the answer files as a correct student would write them, markers
//!   removed) or `"student"` (the stubs as handed out);
//! - `patches`: `[{file, replace, with}]`, the case's mistake, applied to the base's answer file;
//!   the text to replace must occur exactly once;
//! - `prefix`: a folder the answer files are wrapped in (e.g. `"hw3/"`), as students zip them;
//! - `omit`: answer files left out of the zip;
//! - `files`: `{name: text}`, extra entries (a `build.rs`, a `Cargo.toml`, a `../` path, …);
//! - `raw_files`: `{name: hex}`, entries with exact bytes (not UTF-8, …);
//! - `symlinks`: `{name: target}`, symbolic-link entries;
//! - `huge_files`: `{name: bytes}`, entries of that many zero bytes (deflated, so the zip stays
//!   small);
//! - `only`: the exercises to grade (default: every exercise); the zip goes to `OUT/<group>/`, one
//!   folder per distinct selection, so that each folder is graded by one batch.
//!
//! The expectations (`expect`, `others`, `row`, `needs_isolation`) are read by `tests/corpus.rs`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use zip::write::SimpleFileOptions;

/// How a case's submission is made.
#[derive(Debug, Deserialize)]
pub struct Recipe {
    base: String,
    #[serde(default)]
    patches: Vec<Patch>,
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    omit: Vec<String>,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    raw_files: BTreeMap<String, String>,
    #[serde(default)]
    symlinks: BTreeMap<String, String>,
    #[serde(default)]
    huge_files: BTreeMap<String, u64>,
}

/// A case's mistake: `replace` (found exactly once in `file`) becomes `with`.
#[derive(Debug, Deserialize)]
struct Patch {
    file: String,
    replace: String,
    with: String,
}

/// The answer files, in exercise order.
const ANSWERS: [&str; 5] =
    ["src/basic_block.rs", "src/bottleneck.rs", "src/he_init.rs", "src/training.rs", "src/ablation.rs"];

/// The answer file `path` of `base` (`solution` as a correct student submits it, or `student`).
fn answer(root: &Path, base: &str, path: &str) -> Result<String, String> {
    if base == "solution" {
        return grader::samples::solved(root, path).map_err(|e| format!("{e:#}"));
    }
    let file = root.join(base).join(path);
    std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))
}

/// The answer files of case `name`, its patches applied and its omissions left out.
fn answers(root: &Path, name: &str, recipe: &Recipe) -> Result<Vec<(String, String)>, String> {
    let mut files: BTreeMap<&str, String> = BTreeMap::new();
    for path in ANSWERS {
        files.insert(path, answer(root, &recipe.base, path)?);
    }
    for patch in &recipe.patches {
        let text =
            files.get_mut(patch.file.as_str()).ok_or_else(|| format!("case {name}: no answer file {}", patch.file))?;
        let count = text.matches(&patch.replace).count();
        if count != 1 {
            return Err(format!("case {name}: the text to replace in {} occurs {count} times, not once", patch.file));
        }
        *text = text.replace(&patch.replace, &patch.with);
    }
    Ok(ANSWERS
        .iter()
        .filter(|path| !recipe.omit.iter().any(|o| o == *path))
        .map(|path| (path.to_string(), files.remove(path).expect("every answer file")))
        .collect())
}

/// Writes case `name`'s zip to `folder/<name>.zip`.
pub fn write_case(root: &Path, name: &str, recipe: &Recipe, folder: &Path) -> Result<(), String> {
    let io = |e: &dyn std::fmt::Display| format!("case {name}: {e}");
    std::fs::create_dir_all(folder).map_err(|e| io(&e))?;
    let file = std::fs::File::create(folder.join(format!("{name}.zip"))).map_err(|e| io(&e))?;
    let mut zip = zip::ZipWriter::new(file);
    let deflated =
        SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).compression_level(Some(1));
    let prefix = &recipe.prefix;
    let entry = |zip: &mut zip::ZipWriter<std::fs::File>, name: &str, bytes: &[u8]| -> Result<(), String> {
        zip.start_file(name, deflated).map_err(|e| io(&e))?;
        zip.write_all(bytes).map_err(|e| io(&e))
    };
    for (path, text) in answers(root, name, recipe)? {
        entry(&mut zip, &format!("{prefix}{path}"), text.as_bytes())?;
    }
    for (path, text) in &recipe.files {
        entry(&mut zip, path, text.as_bytes())?;
    }
    for (path, hex_bytes) in &recipe.raw_files {
        entry(&mut zip, &format!("{prefix}{path}"), &hex::decode(hex_bytes).map_err(|e| io(&e))?)?;
    }
    for (path, target) in &recipe.symlinks {
        zip.add_symlink(format!("{prefix}{path}"), target, SimpleFileOptions::default()).map_err(|e| io(&e))?;
    }
    for (path, size) in &recipe.huge_files {
        zip.start_file(path, deflated.large_file(true)).map_err(|e| io(&e))?;
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..size >> 20 {
            zip.write_all(&zeros).map_err(|e| io(&e))?;
        }
    }
    zip.finish().map_err(|e| io(&e))?;
    Ok(())
}
