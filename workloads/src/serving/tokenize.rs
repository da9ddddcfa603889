//! A server's own tokenizer, where it exposes one: `POST /tokenize` and `POST /detokenize`
//! (llama.cpp's server: `{"content"}` → `{"tokens"}` and `{"tokens"}` → `{"content"}`; vLLM:
//! `{"model", "prompt"}` → `{"tokens", "count"}` and `{"model", "tokens"}` → `{"prompt"}`).
//! One request body carries both servers' field names, so one probe finds either.
//!
//! With it, a prompt's length is exact for the tokenizer the server really runs, even when the
//! local `tokenizer.json` differs from it; without it, the local tokenizer decides.

use std::time::Duration;

use serde_json::{json, Value};

/// The tokenize endpoints of one server.
#[derive(Debug, Clone)]
pub struct ServerTokenizer {
    tokenize: String,
    detokenize: String,
    model: String,
    timeout: Duration,
}

/// How far from the asked length a cut of the server's ids may land after its text is
/// tokenized again, before bench gives up on the server's tokenizer for that prompt.
const SEARCH: usize = 8;

impl ServerTokenizer {
    /// Probe `base` for the endpoints; `None` when the server has none (most do not).
    pub async fn probe(
        client: &reqwest::Client,
        base: &str,
        model: &str,
        timeout: Duration,
    ) -> Option<Self> {
        let this = Self {
            tokenize: format!("{base}/tokenize"),
            detokenize: format!("{base}/detokenize"),
            model: model.to_string(),
            timeout,
        };
        let ids = this.tokenize_ids(client, "Hello, world").await.ok()?;
        this.detokenize_text(client, &ids).await.ok()?;
        Some(this)
    }

    async fn post(
        &self,
        client: &reqwest::Client,
        url: &str,
        body: Value,
    ) -> Result<Value, String> {
        let send = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send();
        let response = tokio::time::timeout(self.timeout, send)
            .await
            .map_err(|_| format!("{url}: no answer"))?
            .map_err(|e| format!("{url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: HTTP {}", response.status()));
        }
        let text = response.text().await.map_err(|e| format!("{url}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("{url}: not JSON ({e})"))
    }

    /// The server's token ids of `text` (no special tokens added).
    pub async fn tokenize_ids(
        &self,
        client: &reqwest::Client,
        text: &str,
    ) -> Result<Vec<u64>, String> {
        let body = json!({
            "model": self.model, "prompt": text, "content": text,
            "add_special": false, "add_special_tokens": false,
        });
        let reply = self.post(client, &self.tokenize, body).await?;
        reply["tokens"]
            .as_array()
            .and_then(|ids| ids.iter().map(Value::as_u64).collect())
            .ok_or_else(|| format!("{}: no `tokens` list in the answer", self.tokenize))
    }

    /// The server's text of `ids`.
    pub async fn detokenize_text(
        &self,
        client: &reqwest::Client,
        ids: &[u64],
    ) -> Result<String, String> {
        let reply = self
            .post(
                client,
                &self.detokenize,
                json!({"model": self.model, "tokens": ids}),
            )
            .await?;
        reply["content"]
            .as_str()
            .or_else(|| reply["prompt"].as_str())
            .map(str::to_string)
            .ok_or_else(|| {
                format!(
                    "{}: no `content` or `prompt` in the answer",
                    self.detokenize
                )
            })
    }

    /// A text of exactly `tokens` server tokens, cut from the start of `source` (which must
    /// hold more than that): the ids are cut and turned back into text, and the text is
    /// checked by tokenizing it again, trying a few cuts around the asked length when the
    /// round trip merges or splits tokens at the cut.
    pub async fn exact(
        &self,
        client: &reqwest::Client,
        source: &str,
        tokens: usize,
    ) -> Result<String, String> {
        let ids = self.tokenize_ids(client, source).await?;
        if ids.len() < tokens {
            return Err(format!(
                "the server made {} tokens of the prompt text; {tokens} are needed",
                ids.len()
            ));
        }
        // The asked length first, then ever farther on either side.
        let cuts = std::iter::once(tokens).chain((1..=SEARCH).flat_map(|d| {
            [Some(tokens + d), tokens.checked_sub(d).filter(|c| *c > 0)]
                .into_iter()
                .flatten()
        }));
        for cut in cuts.filter(|&c| c <= ids.len()) {
            let text = self.detokenize_text(client, &ids[..cut]).await?;
            if self.tokenize_ids(client, &text).await?.len() == tokens {
                return Ok(text);
            }
        }
        Err(format!(
            "no cut of the server's tokens within ±{SEARCH} of {tokens} tokenizes back to {tokens}"
        ))
    }
}
