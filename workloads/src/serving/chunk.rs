//! One streamed JSON chunk of an OpenAI-compatible server, reduced to what bench measures:
//! the text it adds, whether it carries a generated token, why the stream finished, the
//! server's usage report and its own timings.
//!
//! Shapes seen: chat (`choices[0].delta.content`), completions (`choices[0].text`), a
//! role-only opening chunk (llama.cpp, llama-cpp-python), an opening chunk with `role` and
//! `content: ""` (vLLM, OpenAI), content chunks with empty text (llama-cpp-python, for a token
//! that decodes to no text on its own), a closing chunk with the finish reason and no text (`delta: {}`, or
//! `text: ""` on `/v1/completions`), a final chunk with `choices: []` and `usage`
//! (`stream_options.include_usage`), llama.cpp's `timings`, and `{"error": ...}` objects.

use serde::Deserialize;

/// What one chunk says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    /// Generated text in this chunk (empty for role-only, finish or usage chunks).
    pub content: String,
    /// Whether the choice had a text field (`delta.content` or `text`) that is a string, even
    /// an empty one; absent or `null` in role-only, `delta: {}` and usage chunks.
    pub has_text_field: bool,
    /// Whether the delta named a role (`"role": "assistant"`).
    pub has_role: bool,
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
    #[serde(default)]
    role: Option<String>,
}

impl Chunk {
    /// Whether this chunk carries at least one generated token, given whether an earlier chunk
    /// of the stream did (`after_token`). Text that is not empty always does. A text field that
    /// is present but empty does too (a token with no text of its own: a control token, or
    /// part of a multi-byte character sent apart from the rest), except on the closing chunk
    /// (it has the finish reason) and on an opening chunk that names the role before any token.
    /// No text field: no token.
    pub fn carries_token(&self, after_token: bool) -> bool {
        if !self.content.is_empty() {
            return true;
        }
        // An opening chunk names the role before any token did.
        let opening = self.has_role && !after_token;
        self.has_text_field && self.finish_reason.is_none() && !opening
    }
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
        let (content, role) = match choice.delta {
            Some(d) => (d.content, d.role),
            None => (None, None),
        };
        let text = content.or(choice.text);
        chunk.has_text_field = text.is_some();
        chunk.has_role = role.is_some();
        chunk.content = text.unwrap_or_default();
        chunk.finish_reason = choice.finish_reason;
    }
    Ok(chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlx_lm_server_chunks() {
        // As mlx_lm.server 0.32.2 sends them (checked by hand against the real server): role and content in
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
    fn which_chunks_carry_a_token() {
        let carries =
            |data: &str, after_token: bool| parse_chunk(data).unwrap().carries_token(after_token);
        // llama-cpp-python 0.3.36, chat: role-only opening, content (empty for a token with no
        // text), then `delta: {}` with the finish reason.
        assert!(!carries(
            r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":null}]}"#,
            false
        ));
        assert!(carries(
            r#"{"choices":[{"index":0,"delta":{"content":""},"logprobs":null,"finish_reason":null}]}"#,
            false
        ));
        assert!(carries(
            r#"{"choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}"#,
            true
        ));
        assert!(!carries(
            r#"{"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}"#,
            true
        ));
        // llama-cpp-python 0.3.36, completions: text chunks, then `text: ""` with the reason.
        assert!(carries(
            r#"{"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":null}]}"#,
            false
        ));
        assert!(!carries(
            r#"{"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}]}"#,
            true
        ));
        // llama.cpp's server opens with `content: null`; vLLM and OpenAI with `content: ""`.
        assert!(!carries(
            r#"{"choices":[{"delta":{"role":"assistant","content":null}}]}"#,
            false
        ));
        assert!(!carries(
            r#"{"choices":[{"delta":{"role":"assistant","content":""}}]}"#,
            false
        ));
        // mlx_lm.server names the role in every chunk: after the first token an empty one is a
        // token; its last chunk may carry text and the finish reason together.
        assert!(carries(
            r#"{"choices":[{"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
            true
        ));
        assert!(carries(
            r#"{"choices":[{"delta":{"role":"assistant","content":"b"},"finish_reason":"length"}]}"#,
            true
        ));
        // Usage-only and error chunks carry none.
        assert!(!carries(
            r#"{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2}}"#,
            true
        ));
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
