//! One prompt of a prompt file and the checks of its fields, shared by both layouts
//! ([`super::file`]'s JSONL and [`super::sharegpt`]).

use std::sync::Arc;

use serde_json::Value;

/// What each JSONL line may hold, for error messages.
pub(crate) const JSONL_ALLOWED: &str = "each line is one JSON object: {\"prompt\": \"<text>\", \"max_tokens\": <positive integer, optional>}";

/// One prompt of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetItem {
    /// The 1-based line it starts on.
    pub line: u32,
    /// The prompt's text.
    pub prompt: Arc<str>,
    /// Tokens to generate for it, where the file says.
    pub max_tokens: Option<u32>,
}

/// A prompt: a string with something in it.
pub(crate) fn prompt_text(value: &Value) -> Result<Arc<str>, String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Ok(Arc::from(s.as_str())),
        Value::String(_) => Err("\"prompt\" is empty; a prompt needs some text".into()),
        other => Err(format!(
            "\"prompt\" is {other}, not a string; {JSONL_ALLOWED}"
        )),
    }
}

/// `max_tokens`, where given: a whole number from 1.
pub(crate) fn max_tokens(value: Option<&Value>) -> Result<Option<u32>, String> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    value
        .as_u64()
        .filter(|&n| n >= 1)
        .and_then(|n| u32::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            format!(
                "\"max_tokens\" is {value}; it is the number of tokens to generate, a whole number from 1 to {}",
                u32::MAX
            )
        })
}
