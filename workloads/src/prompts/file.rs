//! A user's prompt file, read whole: JSONL of `{"prompt": "…", "max_tokens": 128}` (one
//! object a line, `max_tokens` optional) or the ShareGPT JSON layout (see [`super::sharegpt`]),
//! told apart by its first character (`[` for ShareGPT). Every problem names the file and
//! the line.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use super::item::DatasetItem;
use super::item::{max_tokens, prompt_text, JSONL_ALLOWED};

/// The layout of a prompt file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetFormat {
    /// One `{"prompt": …, "max_tokens": …}` object a line.
    Jsonl,
    /// A JSON array of `{"conversations": [{"from": "human", "value": …}, …]}`.
    Sharegpt,
}

/// A prompt file, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its layout.
    pub format: DatasetFormat,
    /// Its prompts, in file order.
    pub items: Vec<DatasetItem>,
    /// ShareGPT entries left out because they have no user turn (lines where they start).
    pub skipped_lines: Vec<u32>,
}

/// Why a prompt file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// It could not be read.
    #[error("{}: cannot read the prompt file: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line of it is not what the format allows.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// It holds no prompt.
    #[error("{}: holds no prompt; {}", path.display(), JSONL_ALLOWED)]
    Empty {
        /// The file.
        path: PathBuf,
    },
}

impl Dataset {
    /// Read and check the prompt file at `path`.
    pub fn read(path: &Path) -> Result<Self, DatasetError> {
        let bytes = std::fs::read(path).map_err(|source| DatasetError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, bytes)
    }

    /// Check the bytes of a prompt file read from `path` (named in errors).
    pub fn parse(path: &Path, bytes: Vec<u8>) -> Result<Self, DatasetError> {
        let sha256 = format!("{:x}", Sha256::digest(&bytes));
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            DatasetError::Invalid {
                path: path.to_path_buf(),
                line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
                message: "not UTF-8 text; a prompt file is JSON text".into(),
            }
        })?;
        let invalid = |line: usize, message: String| DatasetError::Invalid {
            path: path.to_path_buf(),
            line,
            message,
        };
        let (format, items, skipped_lines) = if text.trim_start().starts_with('[') {
            let (items, skipped) = super::sharegpt::read(&text).map_err(|(l, m)| invalid(l, m))?;
            (DatasetFormat::Sharegpt, items, skipped)
        } else {
            let items = read_jsonl(&text).map_err(|(l, m)| invalid(l, m))?;
            (DatasetFormat::Jsonl, items, Vec::new())
        };
        if items.is_empty() {
            return Err(DatasetError::Empty {
                path: path.to_path_buf(),
            });
        }
        Ok(Self {
            path: path.to_path_buf(),
            sha256,
            format,
            items,
            skipped_lines,
        })
    }
}

/// The prompts of JSONL text; blank lines are skipped. An error is (line, message).
fn read_jsonl(text: &str) -> Result<Vec<DatasetItem>, (usize, String)> {
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| (number, format!("not JSON ({e}); {JSONL_ALLOWED}")))?;
        let Value::Object(object) = &value else {
            return Err((number, format!("not a JSON object; {JSONL_ALLOWED}")));
        };
        let prompt = object.get("prompt").ok_or_else(|| {
            (
                number,
                format!("no \"prompt\" in this object; {JSONL_ALLOWED}"),
            )
        })?;
        items.push(DatasetItem {
            line: u32::try_from(number).unwrap_or(u32::MAX),
            prompt: prompt_text(prompt).map_err(|m| (number, m))?,
            max_tokens: max_tokens(object.get("max_tokens")).map_err(|m| (number, m))?,
        });
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prompts.jsonl");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn jsonl_lines_give_prompts_with_their_lines_and_max_tokens() {
        let (_dir, path) = write(
            "{\"prompt\": \"Hello there\", \"max_tokens\": 12}\n\n{\"prompt\": \"Second\", \"id\": 4}\n",
        );
        let set = Dataset::read(&path).unwrap();
        assert_eq!(set.format, DatasetFormat::Jsonl);
        assert_eq!(set.items.len(), 2);
        assert_eq!(
            (
                set.items[0].line,
                &*set.items[0].prompt,
                set.items[0].max_tokens
            ),
            (1, "Hello there", Some(12))
        );
        assert_eq!((set.items[1].line, set.items[1].max_tokens), (3, None));
        assert_eq!(set.sha256.len(), 64);
    }

    #[test]
    fn a_line_without_a_prompt_is_located_and_says_what_is_allowed() {
        let (_dir, path) = write("{\"prompt\": \"ok\"}\n{\"text\": \"no prompt\"}\n");
        let e = Dataset::read(&path).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:2: ", path.display())), "{e}");
        assert!(e.contains("no \"prompt\""), "{e}");
        assert!(
            e.contains("\"max_tokens\": <positive integer, optional>"),
            "{e}"
        );
    }

    #[test]
    fn bad_lines_are_located() {
        for (text, line, says) in [
            ("{\"prompt\": \"a\"}\n{not json\n", 2, "not JSON"),
            ("42\n", 1, "not a JSON object"),
            ("\"just text\"\n", 1, "not a JSON object"),
            ("{\"prompt\": 5}\n", 1, "not a string"),
            ("{\"prompt\": \"  \"}\n", 1, "empty"),
            ("{\"prompt\": \"a\", \"max_tokens\": 0}\n", 1, "max_tokens"),
            (
                "{\"prompt\": \"a\", \"max_tokens\": 1.5}\n",
                1,
                "max_tokens",
            ),
        ] {
            let (_dir, path) = write(text);
            let e = Dataset::read(&path).unwrap_err().to_string();
            assert!(
                e.contains(&format!(":{line}: ")) && e.contains(says),
                "{text:?}: {e}"
            );
        }
        let (_dir, path) = write("\n\n");
        assert!(matches!(
            Dataset::read(&path),
            Err(DatasetError::Empty { .. })
        ));
        let missing = Dataset::read(Path::new("/nonexistent/prompts.jsonl")).unwrap_err();
        assert!(missing
            .to_string()
            .starts_with("/nonexistent/prompts.jsonl: cannot read"));
    }

    #[test]
    fn text_that_is_not_utf8_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        std::fs::write(&path, b"{\"prompt\": \"a\"}\n{\"prompt\": \"\xff\"}\n").unwrap();
        let e = Dataset::read(&path).unwrap_err().to_string();
        assert!(e.contains(":2: not UTF-8"), "{e}");
    }
}
