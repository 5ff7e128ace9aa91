//! The bundled sample submissions (instructors: the README's demo and the batch test): one of each
//! kind a batch meets — correct, untouched, half done, not compiling, corrupt, zip-slip, zip bomb,
//! and a check that never returns — written as an LMS export would hold them.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;
use zip::write::SimpleFileOptions;

/// The answer files, by file name.
const ANSWERS: [&str; 5] = ["basic_block.rs", "bottleneck.rs", "he_init.rs", "training.rs", "ablation.rs"];

/// The solution's answer file `path` (relative to the crate) as a correct student would submit it:
/// the solution's markers removed (see [`crate::assign`]).
pub fn solved(root: &Path, path: &str) -> Result<String> {
    let file = root.join("solution").join(path);
    let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    let is_marker = |line: &str| {
        let line = line.trim();
        line.starts_with("// BEGIN SOLUTION") || line == "// END SOLUTION"
    };
    Ok(text.split_inclusive('\n').filter(|line| !is_marker(line)).collect())
}

/// The student crate's stub of `path`.
fn stub(root: &Path, path: &str) -> Result<String> {
    let file = root.join("student").join(path);
    std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))
}

/// A deflated zip of `entries` at `path`.
fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) -> Result<()> {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), options)?;
        zip.write_all(bytes)?;
    }
    zip.finish()?;
    Ok(())
}

/// Writes the samples into `out` (emptied first).
pub fn write(root: &Path, out: &Path) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("cannot empty {}", out.display()))?;
    }
    std::fs::create_dir_all(out)?;
    let solved = |name: &str| solved(root, &format!("src/{name}"));
    let stub = |name: &str| stub(root, &format!("src/{name}"));
    let entry = |name: String, text: String| (name, text.into_bytes());

    // The solution, in a wrapping folder, with a build.rs and a Cargo.toml the grader must ignore.
    let mut alice: Vec<(String, Vec<u8>)> =
        ANSWERS.iter().map(|n| Ok(entry(format!("alice-hw3/src/{n}"), solved(n)?))).collect::<Result<_>>()?;
    alice.push(entry(
        "alice-hw3/build.rs".into(),
        r#"fn main() { std::fs::write("/tmp/pwned", "x").unwrap(); }"#.into(),
    ));
    alice.push(entry("alice-hw3/Cargo.toml".into(), "[package]\nname = \"evil\"\n".into()));
    write_zip(&out.join("alice_correct.zip"), &alice)?;
    // The stubs as handed out, as a folder.
    std::fs::create_dir_all(out.join("bob_untouched/src"))?;
    for name in ANSWERS {
        std::fs::write(out.join("bob_untouched/src").join(name), stub(name)?)?;
    }
    // The blocks solved, the rest untouched.
    let carol: Vec<(String, Vec<u8>)> = ANSWERS
        .iter()
        .enumerate()
        .map(|(i, n)| Ok(entry(format!("src/{n}"), if i < 2 { solved(n)? } else { stub(n)? })))
        .collect::<Result<_>>()?;
    write_zip(&out.join("carol_half_done.zip"), &carol)?;
    // A syntax error in BasicBlock.
    let broken = solved("basic_block.rs")?.replace("(out + identity).relu()", "(out + identity).relu(");
    write_zip(&out.join("dave_no_compile.zip"), &[entry("src/basic_block.rs".into(), broken)])?;
    // Not a zip at all (a zip's magic number, then noise).
    let mut corrupt = b"PK\x03\x04".to_vec();
    corrupt.extend((0..200u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(out.join("erin_corrupt.zip"), corrupt)?;
    // An entry that climbs out of the archive.
    let slip = [
        entry("src/basic_block.rs".into(), solved("basic_block.rs")?),
        entry("../../../tmp/evil.rs".into(), "x".into()),
    ];
    write_zip(&out.join("frank_zip_slip.zip"), &slip)?;
    write_zip_bomb(&out.join("gina_zip_bomb.zip"))?;
    // The He-init function never returns.
    let he = solved("he_init.rs")?;
    let start =
        he.find("    let measured = std::rc::Rc::new").context("the He-init solution changed: update hank_loops")?;
    let end = he.find("    measured.take()").context("the He-init solution changed: update hank_loops")?
        + "    measured.take()".len();
    let looping = format!("{}    loop {{\n        std::hint::spin_loop();\n    }}{}", &he[..start], &he[end..]);
    let mut hank: Vec<(String, Vec<u8>)> = ANSWERS
        .iter()
        .filter(|n| **n != "he_init.rs")
        .map(|n| Ok(entry(format!("src/{n}"), solved(n)?)))
        .collect::<Result<_>>()?;
    hank.push(entry("src/he_init.rs".into(), looping));
    write_zip(&out.join("hank_loops.zip"), &hank)
}

/// A zip whose one entry unpacks to 1 GiB of zeros.
fn write_zip_bomb(path: &Path) -> Result<()> {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true);
    zip.start_file("src/he_init.rs", options)?;
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        zip.write_all(&zeros)?;
    }
    zip.finish()?;
    Ok(())
}
