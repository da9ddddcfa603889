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
//!
//! Reasoning models stream their thinking apart from the answer: `delta.reasoning_content`
//! (llama.cpp's server, SGLang, vLLM before 0.23), `delta.reasoning` (vLLM 0.23 and later), or
//! inside `<think>…</think>` in the content itself (servers that do not parse it, mlx-lm); the
//! last is separated by [`ThinkSplitter`] over the whole stream.

use serde::Deserialize;

/// What one chunk says.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    /// Generated text in this chunk (empty for role-only, finish or usage chunks).
    pub content: String,
    /// Reasoning text in this chunk (`delta.reasoning_content` or `delta.reasoning`).
    pub reasoning: String,
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
    /// Of `completion_tokens`, those of the reasoning, where the server says
    /// (`completion_tokens_details.reasoning_tokens`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Of `prompt_tokens`, those the server took from its prefix cache, where it says
    /// (`prompt_tokens_details.cached_tokens`: OpenAI, vLLM, SGLang, llama.cpp).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct RawUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
    #[serde(default)]
    completion_tokens_details: Option<RawCompletionDetails>,
    #[serde(default)]
    prompt_tokens_details: Option<RawPromptDetails>,
}

#[derive(Deserialize)]
struct RawPromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct RawCompletionDetails {
    #[serde(default)]
    reasoning_tokens: Option<u64>,
}

impl From<RawUsage> for Usage {
    fn from(raw: RawUsage) -> Self {
        Self {
            prompt_tokens: raw.prompt_tokens,
            completion_tokens: raw.completion_tokens,
            reasoning_tokens: raw
                .completion_tokens_details
                .and_then(|d| d.reasoning_tokens),
            cached_tokens: raw.prompt_tokens_details.and_then(|d| d.cached_tokens),
        }
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    choices: Vec<RawChoice>,
    #[serde(default)]
    usage: Option<RawUsage>,
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
    #[serde(default)]
    reasoning_content: Option<String>,
    #[serde(default)]
    reasoning: Option<String>,
}

impl Chunk {
    /// Whether this chunk carries at least one generated token, given whether an earlier chunk
    /// of the stream did (`after_token`). Text that is not empty always does. A text field that
    /// is present but empty does too (a token with no text of its own: a control token, or
    /// part of a multi-byte character sent apart from the rest), except on the closing chunk
    /// (it has the finish reason) and on an opening chunk that names the role before any token.
    /// No text field: no token.
    pub fn carries_token(&self, after_token: bool) -> bool {
        if !self.content.is_empty() || !self.reasoning.is_empty() {
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
        usage: raw.usage.map(Usage::from),
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
            Some(d) => {
                chunk.reasoning = d.reasoning_content.or(d.reasoning).unwrap_or_default();
                (d.content, d.role)
            }
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

/// Separates `<think>…</think>` reasoning from the answer in content text, across chunks: a
/// tag may arrive alone (Qwen3's are single tokens), inside a chunk, or split between two.
#[derive(Debug, Clone, Default)]
pub struct ThinkSplitter {
    thinking: bool,
    /// The end of the text so far that may be the start of a tag.
    held: String,
}

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

impl ThinkSplitter {
    /// Split `text` into (reasoning, answer) text, the tags themselves dropped.
    pub fn split(&mut self, text: &str) -> (String, String) {
        let mut rest = std::mem::take(&mut self.held) + text;
        let (mut reasoning, mut answer) = (String::new(), String::new());
        loop {
            let tag = if self.thinking { CLOSE } else { OPEN };
            let out = if self.thinking {
                &mut reasoning
            } else {
                &mut answer
            };
            if let Some(at) = rest.find(tag) {
                out.push_str(&rest[..at]);
                rest = rest[at + tag.len()..].to_string();
                self.thinking = !self.thinking;
                continue;
            }
            // Hold back a tail that could be the start of the tag.
            let keep = (1..tag.len())
                .rev()
                .find(|&n| {
                    rest.len() >= n
                        && rest.is_char_boundary(rest.len() - n)
                        && tag.starts_with(&rest[rest.len() - n..])
                })
                .unwrap_or(0);
            out.push_str(&rest[..rest.len() - keep]);
            self.held = rest[rest.len() - keep..].to_string();
            return (reasoning, answer);
        }
    }

    /// Whether the text so far ended inside `<think>`.
    pub fn thinking(&self) -> bool {
        self.thinking
    }
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
                completion_tokens: 8,
                reasoning_tokens: None,
                cached_tokens: Some(0),
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

    #[test]
    fn reasoning_fields_of_each_server() {
        // llama.cpp's server, SGLang: `reasoning_content`.
        let c = parse_chunk(r#"{"choices":[{"index":0,"delta":{"reasoning_content":"Let me"},"finish_reason":null}]}"#).unwrap();
        assert_eq!((c.reasoning.as_str(), c.content.as_str()), ("Let me", ""));
        assert!(c.carries_token(false));
        // vLLM 0.23 and later: `reasoning`, with `content: null` while it thinks.
        let c = parse_chunk(r#"{"choices":[{"index":0,"delta":{"reasoning":" think","content":null},"finish_reason":null}]}"#).unwrap();
        assert_eq!(c.reasoning, " think");
        assert!(c.carries_token(true));
        // The answer after it.
        let c = parse_chunk(
            r#"{"choices":[{"index":0,"delta":{"content":"Paris"},"finish_reason":null}]}"#,
        )
        .unwrap();
        assert_eq!((c.reasoning.as_str(), c.content.as_str()), ("", "Paris"));
        // OpenAI-style usage with the reasoning share.
        let u = parse_chunk(r#"{"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":40,"completion_tokens_details":{"reasoning_tokens":31}}}"#).unwrap();
        assert_eq!(u.usage.unwrap().reasoning_tokens, Some(31));
    }

    #[test]
    fn think_tags_split_reasoning_from_the_answer_across_chunks() {
        let mut s = ThinkSplitter::default();
        assert_eq!(s.split("<think>"), (String::new(), String::new()));
        assert!(s.thinking());
        assert_eq!(s.split("Okay, the"), ("Okay, the".into(), String::new()));
        // A closing tag split over two chunks, and the answer in the same chunk.
        assert_eq!(s.split(" user </th"), (" user ".into(), String::new()));
        assert_eq!(s.split("ink>\n\nHi"), (String::new(), "\n\nHi".into()));
        assert!(!s.thinking());
        // Text with no tag, and a '<' that is no tag.
        assert_eq!(s.split(" a<"), (String::new(), " a".into()));
        assert_eq!(s.split("bc"), (String::new(), "<bc".into()));
        // Both tags in one chunk.
        let mut t = ThinkSplitter::default();
        assert_eq!(t.split("<think>hm</think>yes"), ("hm".into(), "yes".into()));
    }
}
