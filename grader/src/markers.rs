//! Line markers that delimit regions of a source file: the solution's (`grader assign` makes the
//! student crate of it, turning each solution region into a `todo!()`) and the grader's
//! instructor-only regions (`grader handout` leaves them out). The marker texts are the callers'
//! (`assign::MARKERS`, `handout::strip`); this module only parses. One parser for both: regions do
//! not nest, every region closes, and a line that starts like a marker but is not one is an error
//! (a typo must not leak a region).

use anyhow::{Result, bail};
use std::path::Path;

/// The markers of one kind of region: the lines that open it (each with what the caller calls
/// that kind of region) and the line that closes it, compared after trimming.
#[derive(Debug, Clone, Copy)]
pub struct Markers<'m, K> {
    /// Opening lines and their kinds.
    pub begin: &'m [(&'m str, K)],
    /// The closing line.
    pub end: &'m str,
}

/// One line of a marked file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marked<'a, K> {
    /// A line outside every region (with its line ending).
    Outside(&'a str),
    /// A region of this kind opens; the marker line's indentation.
    Opens(K, &'a str),
    /// A line inside a region of this kind.
    Inside(K, &'a str),
    /// The region closes.
    Closes,
}

impl<K: Copy> Markers<'_, K> {
    /// The lines of `source` (`path` names it in errors, with the line number).
    pub fn parse<'a>(&self, source: &'a str, path: &Path) -> Result<Vec<Marked<'a, K>>> {
        let mut lines = Vec::new();
        let mut open: Option<(K, usize)> = None;
        for (index, line) in source.split_inclusive('\n').enumerate() {
            let number = index + 1;
            let trimmed = line.trim();
            let indent = &line[..line.len() - line.trim_start().len()];
            if let Some(&(_, kind)) = self.begin.iter().find(|(marker, _)| trimmed == *marker) {
                if let Some((_, at)) = open {
                    bail!("{}:{number}: a region starts inside the region opened at line {at}", path.display());
                }
                open = Some((kind, number));
                lines.push(Marked::Opens(kind, indent));
            } else if trimmed == self.end {
                if open.take().is_none() {
                    bail!("{}:{number}: `{}` without a matching `{}`", path.display(), self.end, self.begin[0].0);
                }
                lines.push(Marked::Closes);
            } else if self.begin.iter().any(|(marker, _)| trimmed.starts_with(marker)) || trimmed.starts_with(self.end)
            {
                let known: Vec<&str> = self.begin.iter().map(|(marker, _)| *marker).chain([self.end]).collect();
                bail!("{}:{number}: unknown marker `{trimmed}` (expected {})", path.display(), known.join(", "));
            } else {
                lines.push(match open {
                    Some((kind, _)) => Marked::Inside(kind, line),
                    None => Marked::Outside(line),
                });
            }
        }
        if let Some((_, at)) = open {
            bail!("{}:{at}: region never closed with `{}`", path.display(), self.end);
        }
        Ok(lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKERS: Markers<'static, u8> = Markers { begin: &[("// B", 1), ("// B TWO", 2)], end: "// E" };

    #[test]
    fn regions_are_found_with_their_kind_and_indentation() {
        let lines = MARKERS.parse("a\n  // B TWO\n  x\n  // E\nb", Path::new("f.rs")).unwrap();
        assert_eq!(
            lines,
            [
                Marked::Outside("a\n"),
                Marked::Opens(2, "  "),
                Marked::Inside(2, "  x\n"),
                Marked::Closes,
                Marked::Outside("b")
            ]
        );
    }

    #[test]
    fn nesting_strays_typos_and_open_ends_are_errors_with_their_line() {
        for (source, fragment) in [
            ("// B\n// B\n// E\n", "f.rs:2: a region starts inside the region opened at line 1"),
            ("x\n// E\n", "f.rs:2: `// E` without a matching `// B`"),
            ("// B\nx\n", "f.rs:1: region never closed"),
            ("// BX\n", "f.rs:1: unknown marker `// BX`"),
            ("// END\n", "f.rs:1: unknown marker"),
        ] {
            let err = MARKERS.parse(source, Path::new("f.rs")).unwrap_err().to_string();
            assert!(err.contains(fragment), "{source:?}: {err}");
        }
    }
}
