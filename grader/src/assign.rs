//! `grader assign`: writes the student crate from the solution crate.
//!
//! The solution marks what students must write with line markers:
//!
//! ```text
//! // TODO: guidance for the student (kept)
//! // BEGIN SOLUTION            -> replaced by `todo!("Exercise …")` at the marker's indentation
//! ...solution code...
//! // END SOLUTION
//! // BEGIN SOLUTION NO PROMPT  -> removed without a trace (struct fields, solution-only tests)
//! ```
//!
//! Everything else is copied byte for byte, so signatures, types and provided code stay identical
//! and the same grader compiles against either crate. Generation is deterministic; `--check`
//! compares instead of writing (a test runs it, the way rustlings' `dev check` rejects stale files).

use crate::markers::{Marked, Markers};
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const BEGIN: &str = "// BEGIN SOLUTION";
const BEGIN_NO_PROMPT: &str = "// BEGIN SOLUTION NO PROMPT";
const END: &str = "// END SOLUTION";
/// Added to each answer file of the student crate: the stubs leave parameters and imports unused.
const STUB_ALLOW: &str = "#![allow(unused)] // The stubs leave names unused; delete this line once you are done.";

/// Package names in the two crates' `Cargo.toml`.
pub const SOLUTION_PACKAGE: &str = "resnet-lab-solution";
/// The student crate's package name.
pub const STUDENT_PACKAGE: &str = "resnet-lab-student";
/// Names that differ between the two crates (so that both can live in one workspace without
/// colliding outputs): applied to every generated file. Students see `resnet_lab`.
const RENAMES: [(&str, &str); 4] = [
    ("name = \"resnet-lab-solution\"", "name = \"resnet-lab-student\""),
    ("resnet_lab_solution", "resnet_lab"),
    ("name = \"solution-", "name = \""),
    (
        "the reference solution, single source of truth for the student crate",
        "the student crate (generated from the solution by `grader assign`)",
    ),
];

fn rename(text: &str) -> String {
    RENAMES.iter().fold(text.to_string(), |t, (from, to)| t.replace(from, to))
}

/// What a region becomes in the student crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    Prompt,
    NoPrompt,
}

/// The result of transforming one source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stubbed {
    /// The student version of the file.
    pub text: String,
    /// How many regions became `todo!()`.
    pub prompts: usize,
}

/// The exercise a file holds, from its first line (`//! Exercise 1 — `BasicBlock` (15 points).`).
fn exercise_title(source: &str) -> Option<String> {
    let first = source.lines().next()?.strip_prefix("//! ")?;
    first
        .starts_with("Exercise")
        .then(|| first.split(" (").next().unwrap_or(first).replace('`', "").trim_end_matches('.').to_string())
}

/// The solution's markers (see the module docs).
const MARKERS: Markers<'static, Region> =
    Markers { begin: &[(BEGIN, Region::Prompt), (BEGIN_NO_PROMPT, Region::NoPrompt)], end: END };

/// Replaces the solution regions of one file; `path` (relative to the crate) names it in messages.
pub fn stub_source(source: &str, path: &Path) -> Result<Stubbed> {
    let title = exercise_title(source).unwrap_or_else(|| "This exercise".to_string());
    let mut out = String::with_capacity(source.len());
    let mut prompts = 0;
    for line in MARKERS.parse(source, path)? {
        match line {
            Marked::Outside(text) => out.push_str(text),
            Marked::Opens(Region::Prompt, indent) => {
                prompts += 1;
                out.push_str(&format!("{indent}todo!(\"{title} ({})\")\n", path.display()));
            }
            Marked::Opens(Region::NoPrompt, _) | Marked::Inside(..) | Marked::Closes => {}
        }
    }
    if prompts > 0 {
        out = insert_after_module_docs(&out, STUB_ALLOW);
    }
    Ok(Stubbed { text: out, prompts })
}

/// Inserts `line` after the leading `//!` block (inner attributes must precede items).
fn insert_after_module_docs(source: &str, line: &str) -> String {
    let mut out = String::with_capacity(source.len() + line.len() + 1);
    let mut inserted = false;
    for l in source.split_inclusive('\n') {
        if !inserted && !l.starts_with("//!") {
            out.push_str(line);
            out.push('\n');
            inserted = true;
        }
        out.push_str(l);
    }
    if !inserted {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The files of the solution crate that make up the student crate (relative paths, sorted):
/// `Cargo.toml`, and everything under `src/` and `examples/`.
fn crate_files(solution: &Path) -> Result<Vec<PathBuf>> {
    let mut files = vec![PathBuf::from("Cargo.toml")];
    for dir in ["src", "examples"] {
        let root = solution.join(dir);
        if root.is_dir() {
            files.extend(crate::walk::files_below(&root, solution, &[])?);
        }
    }
    files.sort();
    Ok(files)
}

/// The student crate as relative path → contents, and the answer files (those with exercises).
#[derive(Debug, Default)]
pub struct StudentCrate {
    /// Every file of the student crate.
    pub files: BTreeMap<PathBuf, String>,
    /// The files a student edits, each with its number of `todo!()` stubs.
    pub answer_files: BTreeMap<PathBuf, usize>,
}

/// Builds the student crate from the solution crate at `solution`.
pub fn generate(solution: &Path) -> Result<StudentCrate> {
    let mut student = StudentCrate::default();
    for relative in crate_files(solution)? {
        let full = solution.join(&relative);
        let source = std::fs::read_to_string(&full).with_context(|| format!("cannot read {}", full.display()))?;
        if relative == Path::new("Cargo.toml") && !source.contains(&format!("name = \"{SOLUTION_PACKAGE}\"")) {
            bail!("{} does not declare the package {SOLUTION_PACKAGE}", full.display());
        }
        let text = if relative.extension().is_some_and(|e| e == "rs") {
            let stubbed = stub_source(&source, &relative)?;
            if stubbed.prompts > 0 {
                student.answer_files.insert(relative.clone(), stubbed.prompts);
            }
            stubbed.text
        } else {
            source
        };
        let text = rename(&text);
        student.files.insert(relative, text);
    }
    Ok(student)
}

/// Writes `student` into `dest`: files that changed are rewritten, files no longer generated are
/// removed from `src/` and `examples/`. Returns the paths written.
pub fn write(student: &StudentCrate, dest: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (relative, text) in &student.files {
        let path = dest.join(relative);
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text) {
            std::fs::create_dir_all(path.parent().expect("has parent"))?;
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            written.push(relative.clone());
        }
    }
    if dest.is_dir() {
        for stale in crate_files(dest)? {
            if !student.files.contains_key(&stale) {
                std::fs::remove_file(dest.join(&stale))?;
                written.push(stale);
            }
        }
    }
    Ok(written)
}

/// The differences between `student` and what is in `dest` (empty when up to date).
pub fn differences(student: &StudentCrate, dest: &Path) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for (relative, text) in &student.files {
        match std::fs::read_to_string(dest.join(relative)) {
            Ok(actual) if &actual == text => {}
            Ok(_) => problems.push(format!("{} differs from what `grader assign` generates", relative.display())),
            Err(_) => problems.push(format!("{} is missing", relative.display())),
        }
    }
    if dest.is_dir() {
        for extra in crate_files(dest)? {
            if !student.files.contains_key(&extra) {
                problems.push(format!("{} is not generated from the solution", extra.display()));
            }
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_become_todo_or_vanish_and_guidance_stays() {
        let source = "//! Exercise 9 — `Thing` (5 points).\nfn f() -> i32 {\n    // TODO: return 1\n    // BEGIN SOLUTION\n    1\n    // END SOLUTION\n}\nstruct S {\n    // BEGIN SOLUTION NO PROMPT\n    x: i32,\n    // END SOLUTION\n}\n";
        let stubbed = stub_source(source, Path::new("src/thing.rs")).unwrap();
        assert_eq!(stubbed.prompts, 1);
        assert_eq!(
            stubbed.text,
            format!(
                "//! Exercise 9 — `Thing` (5 points).\n{STUB_ALLOW}\nfn f() -> i32 {{\n    // TODO: return 1\n    todo!(\"Exercise 9 — Thing (src/thing.rs)\")\n}}\nstruct S {{\n}}\n"
            )
        );
    }

    #[test]
    fn files_without_regions_are_copied_unchanged() {
        let source = "//! provided\nfn g() {}\n";
        assert_eq!(stub_source(source, Path::new("a.rs")).unwrap(), Stubbed { text: source.to_string(), prompts: 0 });
    }

    #[test]
    fn bad_markers_are_reported_with_file_and_line() {
        let nested = "// BEGIN SOLUTION\n// BEGIN SOLUTION\n// END SOLUTION\n";
        let err = stub_source(nested, Path::new("n.rs")).unwrap_err().to_string();
        assert_eq!(err, "n.rs:2: a region starts inside the region opened at line 1");
        let err = stub_source("x\n// END SOLUTION\n", Path::new("e.rs")).unwrap_err().to_string();
        assert!(err.starts_with("e.rs:2:"), "{err}");
        let err = stub_source("// BEGIN SOLUTION\nx\n", Path::new("u.rs")).unwrap_err().to_string();
        assert!(err.starts_with("u.rs:1: region never closed with `// END SOLUTION`"), "{err}");
        let err = stub_source("// BEGIN SOLUTIONS\n", Path::new("t.rs")).unwrap_err().to_string();
        assert!(err.contains("unknown marker"), "{err}");
    }

    // BEGIN HIDDEN
    #[test]
    fn the_repository_student_crate_is_up_to_date_and_unsolved() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let student = generate(&root.join("solution")).unwrap();
        let problems = differences(&student, &root.join("student")).unwrap();
        assert!(problems.is_empty(), "student/ is stale; run `make student` (grader assign):\n{}", problems.join("\n"));
        // Every exercise ships unsolved: each answer file's stubs are all present, no solution left.
        assert_eq!(student.answer_files.len(), 5, "{:?}", student.answer_files);
        for (file, stubs) in &student.answer_files {
            let text = &student.files[file];
            assert_eq!(text.matches("todo!(\"").count(), *stubs, "{}", file.display());
            assert!(!text.contains("SOLUTION"), "{} still holds a marker", file.display());
        }
    }
    // END HIDDEN
}
