//! One streamed JSON chunk of an OpenAI-compatible server, reduced to what bench measures:
//! the text it adds, why the stream finished, the server's usage report and its own timings.
//!
//! Shapes seen: chat (`choices[0].delta.content`), completions (`choices[0].text`), a
//! role-only opening chunk (llama.cpp), a final chunk with `choices: []` and `usage`
//! (`stream_options.include_usage`), llama.cpp's `timings`, and `{"error": ...}` objects.

use serde::Deserialize;

/// What one chunk says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    /// Generated text in this chunk (empty for role-only, finish or usage chunks).
    pub content: String,
    /// `finish_reason`, on the last content chunk.
    pub finish_reason: Option<String>,
    /// The server's token counts, where it reports them.
    pub usage: Option<Usage>,
    /// The server's own timings (llama.cpp `timings`), kept as sent.
    pub timings: Option<serde_json::Value>,
    /// An error the server put in the stream.
    pub error: Option<String>,
}

/// Token counts a server reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Usage {
    /// Tokens of the prompt as the server counted them (chat template included).
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens generated.
    #[serde(default)]
    pub completion_tokens: u64,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    choices: Vec<RawChoice>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    timings: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawChoice {
    #[serde(default)]
    delta: Option<RawDelta>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawDelta {
    #[serde(default)]
    content: Option<String>,
}

/// Parse one `data:` payload.
pub fn parse_chunk(data: &str) -> Result<Chunk, String> {
    let raw: Raw = serde_json::from_str(data).map_err(|e| {
        let shown: String = data.chars().take(80).collect();
        format!("not a JSON chunk ({e}): {shown:?}")
    })?;
    let mut chunk = Chunk {
        usage: raw.usage,
        timings: raw.timings,
        error: raw.error.map(|e| match e {
            serde_json::Value::String(s) => s,
            serde_json::Value::Object(ref o) => o
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string()),
            other => other.to_string(),
        }),
        ..Chunk::default()
    };
    if let Some(choice) = raw.choices.into_iter().next() {
        chunk.content = choice
            .delta
            .and_then(|d| d.content)
            .or(choice.text)
            .unwrap_or_default();
        chunk.finish_reason = choice.finish_reason;
    }
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlx_lm_server_chunks() {
        // As mlx_lm.server 0.32.2 sends them (shared/notes/peer-servers.md): role and content in
        // every delta, finish_reason on the last, then a usage-only chunk.
        let c = parse_chunk(r#"{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}"#).unwrap();
        assert_eq!((c.content.as_str(), c.finish_reason), ("Hel", None));
        let last = parse_chunk(r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"lo"},"finish_reason":"length"}]}"#).unwrap();
        assert_eq!(last.finish_reason.as_deref(), Some("length"));
        let usage = parse_chunk(r#"{"object":"chat.completion","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":8,"total_tokens":20,"prompt_tokens_details":{"cached_tokens":0}}}"#).unwrap();
        assert_eq!(
            usage.usage,
            Some(Usage {
                prompt_tokens: 12,
                completion_tokens: 8
            })
        );
        assert!(usage.content.is_empty());
    }

    #[test]
    fn llama_cpp_role_chunk_completions_and_timings() {
        let role = parse_chunk(r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":null}]}"#).unwrap();
        assert!(role.content.is_empty());
        let text = parse_chunk(r#"{"choices":[{"text":" world","index":0,"finish_reason":null}]}"#)
            .unwrap();
        assert_eq!(text.content, " world");
        let timed = parse_chunk(r#"{"choices":[{"delta":{},"finish_reason":"stop"}],"timings":{"prompt_n":12,"prompt_ms":30.5,"predicted_n":8,"predicted_ms":80.1}}"#).unwrap();
        assert_eq!(timed.timings.unwrap()["prompt_ms"], 30.5);
    }

    #[test]
    fn errors_in_the_stream_and_garbage() {
        let e = parse_chunk(r#"{"error":{"message":"model overloaded","type":"server_error"}}"#)
            .unwrap();
        assert_eq!(e.error.as_deref(), Some("model overloaded"));
        let err = parse_chunk("<html>oops").unwrap_err();
        assert!(err.contains("not a JSON chunk"), "{err}");
    }
}
