//! Token fingerprints of Rust source that survive renaming, reformatting and comments: the source
//! is lexed, identifiers and literals become placeholders, and winnowing (Schleimer, Wilkerson and
//! Aiken, 2003 — what MOSS does) keeps, of every window of k-gram hashes, the smallest.

use std::collections::BTreeMap;

/// Tokens per k-gram: shorter shared runs are not evidence.
pub const K: usize = 15;
/// k-grams per winnowing window: a shared run of `K + W - 1` tokens is always found.
pub const W: usize = 8;

/// Rust's keywords (kept as themselves; every other identifier is one placeholder).
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in",
    "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self", "Self", "static", "struct", "super",
    "trait", "true", "type", "unsafe", "use", "where", "while", "dyn",
];

/// One normalized token and the line it is on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Its normalized text: a keyword, punctuation, `V` (an identifier) or `L` (a literal).
    pub text: String,
    /// Its line.
    pub line: usize,
}

/// The normalized tokens of `source` (comments dropped).
pub fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let (mut out, mut i, mut line) = (Vec::new(), 0, 1);
    let mut push = |text: &str, line: usize| out.push(Token { text: text.to_string(), line });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                line += usize::from(chars[i] == '\n');
                i += 1;
            }
            i += 2;
        } else if c == '"' {
            let start = line;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                line += usize::from(chars[i] == '\n');
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            push("L", start);
        } else if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
            push("L", line);
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            push(if KEYWORDS.contains(&word.as_str()) { &word } else { "V" }, line);
        } else {
            push(&c.to_string(), line);
            i += 1;
        }
    }
    out
}

fn hash(tokens: &[Token]) -> u64 {
    // FNV-1a over the k-gram's token texts: stable across runs and machines.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for token in tokens {
        for byte in token.text.bytes().chain([0]) {
            h = (h ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The winnowed fingerprints of `source`: hash → the lines (first, last) of a k-gram it came from.
pub fn fingerprints(source: &str) -> BTreeMap<u64, (usize, usize)> {
    let tokens = tokens(source);
    let mut kept = BTreeMap::new();
    if tokens.len() < K {
        return kept;
    }
    let grams: Vec<(u64, usize, usize)> =
        tokens.windows(K).map(|gram| (hash(gram), gram[0].line, gram[K - 1].line)).collect();
    for window in grams.windows(W.min(grams.len())) {
        // The rightmost smallest hash of the window (the winnowing rule).
        let smallest = window.iter().rev().min_by_key(|(h, _, _)| *h).expect("a window is not empty");
        kept.entry(smallest.0).or_insert((smallest.1, smallest.2));
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: &str = "fn forward(&self, x: &Tensor) -> Tensor {\n    let out = self.conv1.forward(x).relu();\n    // the second layer\n    let out = self.bn2.forward(&self.conv2.forward(&out));\n    (out + x).relu()\n}\n";

    #[test]
    fn renaming_reformatting_and_comments_do_not_change_the_fingerprints() {
        let disguised = "fn forward(&self,input:&Tensor)->Tensor{let h=self.first.forward(input).relu(); /* mine */\nlet h = self.norm.forward(&self.second.forward(&h));\n(h + input).relu()}";
        assert_eq!(
            fingerprints(ORIGINAL).keys().collect::<Vec<_>>(),
            fingerprints(disguised).keys().collect::<Vec<_>>()
        );
        assert!(!fingerprints(ORIGINAL).is_empty());
    }

    #[test]
    fn different_code_shares_few_fingerprints_and_lines_are_kept() {
        let other = "fn forward(&self, x: &Tensor) -> Tensor {\n    match self.kind { Kind::A => x.shallow_clone(), _ => x.sum(None) }\n}\n";
        let (a, b) = (fingerprints(ORIGINAL), fingerprints(other));
        let shared = a.keys().filter(|h| b.contains_key(h)).count();
        assert!(shared * 4 < a.len(), "{shared} of {}", a.len());
        assert!(a.values().all(|(first, last)| 1 <= *first && first <= last && *last <= 6));
    }
}
