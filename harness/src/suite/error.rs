//! Suite errors that point at the file, line, column and key, with the offending line shown.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A position in a suite file, resolved from a byte span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Dotted path of the key the span belongs to, such as `workload[1].prompt_tokens`,
    /// when it can be told.
    pub key: Option<String>,
    /// The source line, for display.
    pub source_line: String,
    /// How many characters of the line the span covers (at least 1).
    pub width: usize,
}

impl Location {
    /// Resolve a byte span of `source` to line, column and key.
    pub fn resolve(source: &str, span: Range<usize>) -> Self {
        let start = floor_char_boundary(source, span.start.min(source.len()));
        let end = floor_char_boundary(source, span.end.clamp(start, source.len()));
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        let line = source[..start].matches('\n').count() + 1;
        let column = source[line_start..start].chars().count() + 1;
        let source_line = source[line_start..line_end]
            .trim_end_matches('\r')
            .to_string();
        let width = source[start..end.min(line_end).max(start)]
            .chars()
            .count()
            .max(1);
        let key = key_path(source, line_start, &source_line);
        Self {
            line,
            column,
            key,
            source_line,
            width,
        }
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The table the line sits in (`[suite]`, the n-th `[[workload]]`) joined with the key the
/// line assigns, if any.
fn key_path(source: &str, line_start: usize, line: &str) -> Option<String> {
    let mut table: Option<String> = None;
    let mut counts: Vec<(String, usize)> = Vec::new();
    for raw in source[..line_start].lines() {
        let t = raw.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = match counts.iter_mut().find(|(k, _)| *k == name) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    counts.push((name.clone(), 0));
                    0
                }
            };
            table = Some(format!("{name}[{n}]"));
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = Some(name.trim().to_string());
        }
    }
    let trimmed = line.trim();
    let own_header = trimmed.starts_with('[');
    let key = if own_header {
        None
    } else {
        trimmed
            .split_once('=')
            .map(|(k, _)| k.trim().trim_matches('"').to_string())
            .filter(|k| !k.is_empty() && !k.starts_with('#'))
    };
    match (table, key) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(t), None) if !own_header => Some(t),
        _ => None,
    }
}

/// Why a suite could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// The file could not be read.
    #[error("cannot read suite {}: {source}", path.display())]
    Read {
        /// The suite file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the format.
    #[error("{}", Diagnostic(.0))]
    Invalid(Vec<Problem>),
}

/// One problem found in a suite, with where it is.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The suite file as given on the command line.
    pub file: PathBuf,
    /// Where in the file, when known.
    pub location: Option<Location>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl Problem {
    /// A problem at a byte span of `source`.
    pub fn at(file: &Path, source: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            location: Some(Location::resolve(source, span)),
            message: message.into(),
        }
    }

    /// A TOML error of `source`, at its span. toml gives no span for some errors (its limit of
    /// 80 parts in a dotted key); those are placed on the first line where the text up to its
    /// end fails with the same message.
    pub fn from_toml(file: &Path, source: &str, error: &toml::de::Error) -> Self {
        let span = error
            .span()
            .unwrap_or_else(|| first_failing_line(source, error.message()));
        Self::at(file, source, span, error.message().trim())
    }
}

/// The span of the first line such that `source` up to its end fails to parse as TOML with
/// `message`; the end of `source` when none does (an error of the document as a whole).
fn first_failing_line(source: &str, message: &str) -> Range<usize> {
    let fails = |end: usize| {
        toml::from_str::<toml::Table>(&source[..end]).is_err_and(|e| e.message() == message)
    };
    if !fails(source.len()) {
        return source.len()..source.len();
    }
    // Line ends, each just past its `\n` (so a char boundary), and the end of the text.
    let ends: Vec<usize> = source
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .chain([source.len()])
        .collect();
    // A parse error stays once its line is in: the prefixes that fail come after those that
    // do not, so a binary search finds the first in a few parses.
    let first = ends.partition_point(|&end| !fails(end));
    let end = ends.get(first).copied().unwrap_or(source.len());
    let start = first.checked_sub(1).map_or(0, |i| ends[i]);
    start..end
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let Some(loc) = &self.location else {
            return write!(f, "{}: {}", self.file.display(), self.message);
        };
        write!(f, "{}:{}:{}: ", self.file.display(), loc.line, loc.column)?;
        if let Some(key) = &loc.key {
            write!(f, "key `{key}`: ")?;
        }
        writeln!(f, "{}", self.message)?;
        let gutter = loc.line.to_string().len();
        writeln!(f, "{:gutter$} |", "")?;
        writeln!(f, "{} | {}", loc.line, loc.source_line)?;
        write!(
            f,
            "{:gutter$} | {}{}",
            "",
            " ".repeat(loc.column - 1),
            "^".repeat(loc.width)
        )
    }
}

struct Diagnostic<'a>(&'a [Problem]);

impl fmt::Display for Diagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
