//! `grader handout`: nothing of the solution and no hidden check reaches students — checked by
//! content, not by file name — and the handout builds and grades the stubs with the public checks.

mod common;
use common::root;
use grader::catalog::{CHECKS, Visibility};
use std::path::{Path, PathBuf};
use std::process::Command;

fn handout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_grader"))
        .current_dir(root())
        .args(["handout", "--out"])
        .arg(dir.path().join("h"))
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn texts(dir: &Path) -> Vec<(PathBuf, String)> {
    grader::walk::files_below(dir, Path::new(""), &[])
        .unwrap()
        .into_iter()
        .filter_map(|path| Some((path.clone(), std::fs::read_to_string(&path).ok()?)))
        .collect()
}

/// The code lines of every solution region that the solution crate's provided code (everything
/// outside the regions, examples included) does not also contain: what only a solution holds.
fn solution_lines() -> Vec<String> {
    let (mut inside_lines, mut provided) = (Vec::new(), std::collections::HashSet::new());
    for path in grader::walk::files_below(&root().join("solution"), Path::new(""), &[]).unwrap() {
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let mut inside = false;
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let t = line.trim();
            if t.starts_with("// BEGIN SOLUTION") {
                inside = true;
            } else if t == "// END SOLUTION" {
                inside = false;
            } else if inside {
                inside_lines.push(t.to_string());
            } else {
                provided.insert(t.to_string());
            }
        }
    }
    let lines: Vec<String> = inside_lines
        .into_iter()
        .filter(|t| {
            t.len() >= 28
                && t.contains(['(', '='])
                && !t.starts_with("//")
                && !t.starts_with("#[")
                && !provided.contains(t)
        })
        .collect();
    assert!(lines.len() > 30, "found only {} solution lines", lines.len());
    lines
}

#[test]
fn no_solution_code_and_no_hidden_check_leaks() {
    let dir = handout();
    let files = texts(&dir.path().join("h"));
    assert!(files.len() > 40);
    let solution = solution_lines();
    let hidden: Vec<&str> =
        CHECKS.iter().filter(|c| c.visibility == Visibility::Hidden).map(|c| c.id.as_str()).collect();
    assert!(hidden.len() >= 10);
    for (path, text) in &files {
        for line in &solution {
            assert!(!text.contains(line.as_str()), "{} holds solution code: {line}", path.display());
        }
        for id in &hidden {
            assert!(!text.contains(id), "{} names the hidden check {id}", path.display());
        }
        for needle in [
            "BEGIN HIDDEN",
            "END HIDDEN",
            "BEGIN SOLUTION",
            "END SOLUTION",
            "resnet-lab-solution",
            "resnet_lab_solution",
            "HANDOUT:",
        ] {
            assert!(!text.contains(needle), "{} holds {needle:?}", path.display());
        }
    }
    // The hidden checks' helpers (reference comparisons, mistake diagnosis) are gone too.
    let checks = dir.path().join("h/grader/judge/src/checks");
    let blocks = std::fs::read_to_string(checks.join("blocks/mod.rs")).unwrap();
    assert!(
        !blocks.contains("fn numerics_check") && !blocks.contains("fn mistakes") && blocks.contains("fn shape_check")
    );
    // Left out whole: every hidden.rs.
    let handed_out: Vec<PathBuf> = files.iter().map(|(path, _)| path.clone()).collect();
    assert!(!checks.join("blocks/hidden.rs").exists() && !dir.path().join("h/grader/src/catalog/hidden.rs").exists());
    assert!(handed_out.iter().all(|p| p.file_name().is_some_and(|n| n != "hidden.rs")), "{handed_out:?}");
}

#[test]
fn the_handout_builds_and_grades_the_stubs_with_public_checks() {
    let dir = handout();
    let h = dir.path().join("h");
    // Reuse this workspace's libtorch (setup honours LIBTORCH); a target folder of the handout's own.
    let libtorch = std::env::var("LIBTORCH").expect("cargo passes LIBTORCH from .cargo/config.toml");
    let setup =
        Command::new("bash").arg("scripts/setup.sh").current_dir(&h).env("LIBTORCH", &libtorch).output().unwrap();
    assert!(setup.status.success(), "{}", String::from_utf8_lossy(&setup.stderr));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = dir.path().join("out");
    let output = Command::new(cargo)
        .current_dir(&h)
        .env("CARGO_TARGET_DIR", dir.path().join("target"))
        .env_remove("LIBTORCH")
        .args([
            "run",
            "--offline",
            // The handout's lockfile matches its manifests.
            "--locked",
            "-q",
            "-p",
            "resnet-lab-grader",
            "--",
            "check",
            "--quiet",
            "--only",
            "basic_block.shape",
            "--only",
            "he_init.layers",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{text}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["hidden_checks_included"], false);
    let statuses: Vec<&str> =
        report["checks"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["not_implemented", "not_implemented"], "{text}");
    assert!(text.contains("Hidden checks were not run") || text.contains("not implemented"), "{text}");
}
