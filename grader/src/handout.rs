//! `grader handout` (`make handout`): what students get — the student crate and the plots crate it
//! draws with, a grader with the public checks only, a Makefile with `setup`, `check` and `submit`,
//! and a README.
//!
//! Instructor-only code in the grader's sources is in files of its own, left out whole: the files
//! of `INSTRUCTOR_ONLY`, and every `hidden.rs` or file under a `hidden/` folder (the hidden checks'
//! catalog rows, for one). The lines that wire them in sit between `// BEGIN HIDDEN` and
//! `// END HIDDEN` (`# …` in TOML) and are left out too; a `// HANDOUT: <line>` comment becomes `<line>` in the handout
//! (where the handout needs other code, e.g. measuring with the student's own crate since the
//! solution is not there). The solution never enters: the student crate is the generated one.

use crate::markers::{Marked, Markers};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Strips hidden regions of one file; `comment` is the file's line-comment prefix.
pub fn strip(source: &str, comment: &str, path: &Path) -> Result<String> {
    let (begin, end, emit) =
        (format!("{comment} BEGIN HIDDEN"), format!("{comment} END HIDDEN"), format!("{comment} HANDOUT: "));
    let markers = Markers { begin: &[(begin.as_str(), ())], end: &end };
    let mut out = String::with_capacity(source.len());
    for line in markers.parse(source, path)? {
        if let Marked::Outside(line) = line {
            match line.trim().strip_prefix(&emit) {
                Some(code) => {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    out.push_str(&format!("{indent}{code}\n"));
                }
                None => out.push_str(line),
            }
        }
    }
    Ok(out)
}

/// Instructor-only files besides `hidden.rs` and `hidden/` (their modules are declared inside
/// hidden regions).
const INSTRUCTOR_ONLY: [&str; 7] = [
    "grader/src/assign.rs",
    "grader/src/handout.rs",
    "grader/src/samples.rs",
    "grader/src/commands/samples.rs",
    "grader/src/commands/assign.rs",
    "grader/src/commands/autograder.rs",
    "grader/src/commands/handout.rs",
];

/// Whether the handout leaves `file` (relative to the workspace) out whole.
pub fn instructor_only(file: &Path) -> bool {
    INSTRUCTOR_ONLY.contains(&file.to_string_lossy().as_ref())
        || file.file_name().is_some_and(|name| name == "hidden.rs")
        || file.components().any(|part| part.as_os_str() == "hidden")
}

fn files_under(root: &Path, dir: &str) -> Result<Vec<PathBuf>> {
    crate::walk::files_below(&root.join(dir), root, &[])
}

/// The handout's root manifest: the workspace's, with the instructor-only members removed and a
/// version of its own (so that its packages never share build artifacts with the instructor's).
fn root_manifest(root: &Path) -> Result<String> {
    let mut doc: toml_edit::DocumentMut = std::fs::read_to_string(root.join("Cargo.toml"))?.parse()?;
    let members =
        toml_edit::Array::from_iter(["student", "plots", "grader", "grader/judge", "grader/wire", "grader/worker"]);
    doc["workspace"]["members"] = toml_edit::value(members.clone());
    doc["workspace"]["default-members"] = toml_edit::value(members);
    doc["workspace"]["package"]["version"] = toml_edit::value(handout_version(&doc));
    Ok(doc.to_string())
}

/// The handout's packages' version: the workspace's, suffixed `-handout`.
fn handout_version(workspace_manifest: &toml_edit::DocumentMut) -> String {
    let version = workspace_manifest["workspace"]["package"]["version"].as_str().unwrap_or("0.1.0");
    format!("{version}-handout")
}

/// Packages of the instructor's workspace that the handout does not have.
const INSTRUCTOR_PACKAGES: [&str; 2] = ["resnet-lab-solution", "resnet-lab-bench"];

/// Dependencies the handout's manifests swap (their `# HANDOUT:` lines): the judge measures with the
/// student's own crate where the instructor's measures with the solution.
const HANDOUT_SWAPS: [(&str, &str); 1] = [("resnet-lab-solution", "resnet-lab-student")];

/// The workspace's lockfile for the handout: without the instructor-only packages (same versions
/// for everything else, so the handout builds offline and reproducibly), with the dependencies its
/// manifests swap, and with the handout's version on the workspace's own packages (those without a
/// `source`), so that it matches the handout's manifests and `cargo build --locked` works there.
fn pruned_lockfile(root: &Path, version: &str) -> Result<String> {
    let mut doc: toml_edit::DocumentMut =
        std::fs::read_to_string(root.join("Cargo.lock")).context("cannot read Cargo.lock")?.parse()?;
    if let Some(packages) = doc.get_mut("package").and_then(toml_edit::Item::as_array_of_tables_mut) {
        packages.retain(|p| {
            !p.get("name").and_then(toml_edit::Item::as_str).is_some_and(|n| INSTRUCTOR_PACKAGES.contains(&n))
        });
        for package in packages.iter_mut() {
            if package.get("source").is_none() {
                package["version"] = toml_edit::value(version);
            }
            if let Some(deps) = package.get_mut("dependencies").and_then(toml_edit::Item::as_array_mut) {
                for dep in deps.iter_mut() {
                    let swap = dep.as_str().and_then(|n| HANDOUT_SWAPS.iter().find(|(from, _)| n == *from));
                    if let Some((_, to)) = swap {
                        let decor = dep.decor().clone();
                        *dep = toml_edit::Value::from(*to);
                        *dep.decor_mut() = decor;
                    }
                }
                deps.retain(|d| {
                    !d.as_str()
                        .is_some_and(|n| INSTRUCTOR_PACKAGES.iter().any(|i| n == *i || n.starts_with(&format!("{i} "))))
                });
            }
        }
    }
    Ok(doc.to_string())
}

/// Writes the handout into `dest` (which must not exist or be empty) and returns its files.
pub fn write(root: &Path, dest: &Path) -> Result<Vec<PathBuf>> {
    if dest.exists() && std::fs::read_dir(dest)?.next().is_some() {
        bail!("{} is not empty; remove it first", dest.display());
    }
    let mut written = Vec::new();
    let mut put = |relative: &str, text: &[u8]| -> Result<()> {
        let path = dest.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent"))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(PathBuf::from(relative));
        Ok(())
    };
    put("Cargo.toml", root_manifest(root)?.as_bytes())?;
    let manifest: toml_edit::DocumentMut = std::fs::read_to_string(root.join("Cargo.toml"))?.parse()?;
    put("Cargo.lock", pruned_lockfile(root, &handout_version(&manifest))?.as_bytes())?;
    for (from, to) in [
        ("packaging/handout/Makefile", "Makefile"),
        ("packaging/handout/README.md", "README.md"),
        ("packaging/handout/gitignore", ".gitignore"),
        ("scripts/setup.sh", "scripts/setup.sh"),
        ("build-support/link_libtorch.rs", "build-support/link_libtorch.rs"),
        ("rustfmt.toml", "rustfmt.toml"),
    ] {
        put(to, &std::fs::read(root.join(from)).with_context(|| format!("cannot read {from}"))?)?;
    }
    for file in files_under(root, "student")? {
        let relative = file.display().to_string();
        if !relative.starts_with("student/target") {
            put(&relative, &std::fs::read(root.join(&file))?)?;
        }
    }
    let mut grader_files = vec![
        PathBuf::from("grader/Cargo.toml"),
        PathBuf::from("grader/build.rs"),
        PathBuf::from("grader/report.schema.json"),
    ];
    grader_files.extend(files_under(root, "grader/src")?);
    for member in ["plots", "grader/judge", "grader/wire", "grader/worker"] {
        grader_files.push(PathBuf::from(format!("{member}/Cargo.toml")));
        grader_files.extend(files_under(root, &format!("{member}/src"))?);
    }
    // The public checks' fixed weights and expected outputs (values only).
    grader_files.extend(files_under(root, "grader/judge/fixtures")?);
    for file in grader_files.into_iter().filter(|f| !instructor_only(f)) {
        let bytes = std::fs::read(root.join(&file)).with_context(|| format!("cannot read {}", file.display()))?;
        let comment = match file.extension().and_then(|e| e.to_str()) {
            Some("rs") => Some("//"),
            Some("toml") => Some("#"),
            _ => None,
        };
        let bytes = match comment {
            Some(comment) => {
                let source = String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", file.display()))?;
                strip(&source, comment, &file)?.into_bytes()
            }
            None => bytes,
        };
        put(&file.display().to_string(), &bytes)?;
    }
    #[cfg(unix)]
    std::fs::set_permissions(dest.join("scripts/setup.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_regions_go_and_handout_lines_come() {
        let source = "a\n  // BEGIN HIDDEN\n  secret\n  // END HIDDEN\n  // HANDOUT: public();\nb\n";
        assert_eq!(strip(source, "//", Path::new("x.rs")).unwrap(), "a\n  public();\nb\n");
        assert_eq!(strip("x\n# BEGIN HIDDEN\ny\n# END HIDDEN\n", "#", Path::new("C.toml")).unwrap(), "x\n");
        assert!(strip("// BEGIN HIDDEN\n", "//", Path::new("u.rs")).unwrap_err().to_string().contains("u.rs:1"));
        assert!(strip("// END HIDDEN\n", "//", Path::new("e.rs")).unwrap_err().to_string().contains("e.rs:1"));
    }

    #[test]
    fn hidden_files_and_folders_stay_out() {
        for (path, out) in [
            ("grader/src/catalog/hidden.rs", true),
            ("grader/judge/src/checks/hidden/numerics.rs", true),
            ("grader/src/assign.rs", true),
            ("grader/src/catalog/public.rs", false),
            ("grader/src/hiddenness.rs", false),
        ] {
            assert_eq!(instructor_only(Path::new(path)), out, "{path}");
        }
    }
}
