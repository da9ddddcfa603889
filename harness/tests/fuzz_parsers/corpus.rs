//! The seed corpus: files of the repository, read relative to its root.
//!
//! A directory or file that is missing or empty fails the test rather than shrinking the
//! corpus unnoticed (a fixture moved, a glob that no longer matches).

use std::path::{Path, PathBuf};

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The bytes of `path`, relative to the repository root.
pub fn file(path: &str) -> Vec<u8> {
    let full = root().join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("seed {}: {e}", full.display()))
}

/// Every file of `dir` (relative to the repository root) whose name starts with `prefix` and
/// ends with one of `suffixes`, in name order; at least one.
pub fn files(dir: &str, prefix: &str, suffixes: &[&str]) -> Vec<Vec<u8>> {
    let full = root().join(dir);
    let entries = std::fs::read_dir(&full)
        .unwrap_or_else(|e| panic!("seed directory {}: {e}", full.display()));
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix) && suffixes.iter().any(|s| n.ends_with(s)))
        .collect();
    names.sort();
    assert!(
        !names.is_empty(),
        "no seed `{prefix}*{suffixes:?}` in {}",
        full.display()
    );
    names.iter().map(|n| file(&format!("{dir}/{n}"))).collect()
}

/// The cases written for the fuzzer, `harness/tests/fixtures/fuzz/<target>/*` (regressions
/// found by it go there too).
pub fn written(target: &str) -> Vec<Vec<u8>> {
    files(&format!("harness/tests/fixtures/fuzz/{target}"), "", &[""])
}

/// The real Apple captures, `harness/tests/fixtures/apple/<prefix>*<suffix>`.
pub fn apple(prefix: &str, suffix: &str) -> Vec<Vec<u8>> {
    files("harness/tests/fixtures/apple", prefix, &[suffix])
}

/// An annotated JSON example (`//` comments, trailing commas, as macmon's README has them) as
/// one compact line of JSON, the form `macmon pipe` prints.
pub fn jsonc_line(text: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    // The examples have no `//` inside strings, so a comment is whatever follows one.
    let stripped: String = text
        .lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    let mut json = String::new();
    let chars: Vec<char> = stripped.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let closes_next = chars[i + 1..]
            .iter()
            .find(|c| !c.is_whitespace())
            .is_some_and(|&n| n == '}' || n == ']');
        if !(c == ',' && closes_next) {
            json.push(c);
        }
    }
    let value: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("annotated JSON seed: {e}"));
    value.to_string().into_bytes()
}
