//! The contract between the harness and whatever runs a model: an [`LlmEngine`] takes an
//! [`LlmRequest`] and returns one [`LlmMeasurement`] of raw timings. Derived metrics are
//! defined here, once, as methods, so every engine reports them the same way.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// What a request's prompt is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptInput {
    /// Exactly this many tokens of bench's corpus, a text of its own for each request.
    Tokens(usize),
    /// This text as given (a prompt of a user's dataset); its length is whatever the
    /// tokenizer makes of it.
    Text(Arc<str>),
}

/// One generation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmRequest {
    /// The prompt.
    pub prompt: PromptInput,
    /// Exactly this many tokens are generated; end-of-sequence is ignored.
    pub gen_tokens: usize,
    /// Tokens of context in the KV cache before the prompt, prefilled unmeasured (engines
    /// that support it; 0 for none).
    pub depth: usize,
    /// For a turn of a conversation: the earlier exchanges it resends before its prompt (empty
    /// for the first turn), and the engine returns this turn's exchange in its measurement
    /// ([`LlmMeasurement::exchange`]). `None`: a request of its own.
    pub conversation: Option<Vec<Exchange>>,
}

/// One exchange of a conversation: the user's message as sent and the answer the engine
/// returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The user's message, as text.
    pub user: Arc<str>,
    /// The answer, as text (a server's answer without its reasoning).
    pub assistant: Arc<str>,
}

impl LlmRequest {
    /// A request of a prompt of exactly `prompt_tokens` tokens.
    pub fn exact(prompt_tokens: usize, gen_tokens: usize, depth: usize) -> Self {
        Self {
            prompt: PromptInput::Tokens(prompt_tokens),
            gen_tokens,
            depth,
            conversation: None,
        }
    }

    /// The prompt's length in tokens when bench builds it to a length; `None` for a text.
    pub fn prompt_tokens(&self) -> Option<usize> {
        match self.prompt {
            PromptInput::Tokens(n) => Some(n),
            PromptInput::Text(_) => None,
        }
    }
}

/// Where a token count came from, most trusted first (docs/metrics.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenCountSource {
    /// Counted by the engine on the ids it ran (in-process engines).
    Engine,
    /// Reported by the server in its usage block.
    ServerUsage,
    /// The server stopped for length (`finish_reason = "length"`): exactly the `max_tokens`
    /// bench asked for.
    FinishReason,
    /// One token per chunk that carried one, from a server seen to stream one token per chunk.
    Chunks,
    /// The model's tokenizer run over the streamed text by bench: an estimate, not a count of
    /// what the server generated.
    Tokenizer,
}

impl TokenCountSource {
    /// The source's name, as stored (`token_count_source`).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenCountSource::Engine => "engine",
            TokenCountSource::ServerUsage => "server-usage",
            TokenCountSource::FinishReason => "finish-reason",
            TokenCountSource::Chunks => "chunks",
            TokenCountSource::Tokenizer => "tokenizer",
        }
    }

    /// Whether the count is only an estimate (see [`TokenCountSource::Tokenizer`]).
    pub fn is_estimate(self) -> bool {
        self == TokenCountSource::Tokenizer
    }
}

/// Peak memory during one measurement, and how it was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeakMemory {
    /// Bytes at the peak.
    pub bytes: u64,
    /// What the number covers, e.g. `process-rss-hwm` (Linux VmHWM reset before the run).
    pub method: &'static str,
}

/// Raw timings of one request, on the monotonic clock.
#[derive(Debug, Clone)]
pub struct LlmMeasurement {
    /// When prefill (or the request) started.
    pub started: Instant,
    /// Tokens in the prompt, as run.
    pub prompt_tokens: usize,
    /// Tokens generated.
    pub output_tokens: usize,
    /// Who counted the tokens.
    pub token_count_source: TokenCountSource,
    /// Seconds spent turning the prompt text into ids (not part of `ttft`).
    pub tokenize_s: f64,
    /// Seconds from `started` to each token arrival, in order (first = ttft): one per token
    /// in-process; one per chunk that carried tokens for servers, never repeated.
    pub token_times_s: Vec<f64>,
    /// Seconds from `started` to the end of the request.
    pub e2e_s: f64,
    /// Peak memory, where the platform can tell.
    pub peak_memory: Option<PeakMemory>,
    /// Peak GPU memory (the device allocator's high-water mark), where the device can tell.
    pub device_peak_memory: Option<PeakMemory>,
    /// What a server said about the request, for servers.
    pub server: Option<ServerReport>,
    /// For a turn of a conversation ([`LlmRequest::conversation`]): its message and answer,
    /// for the next turn to resend.
    pub exchange: Option<Exchange>,
}

/// One request of a load pattern with its measurement.
pub type LlmPatternRequest = crate::load::PatternRequest<LlmMeasurement>;

/// What a server reported about one request, kept beside bench's own timing of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerReport {
    /// Chunks that carried generated tokens, with or without text: with `output_tokens`, how
    /// the server batches tokens into chunks (`chunks_per_token`).
    pub content_chunks: usize,
    /// Of `content_chunks`, those whose text was empty (a token with no text of its own: a
    /// control token, or part of a multi-byte character sent apart from the rest).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub empty_content_chunks: usize,
    /// Seconds from sending the request to the first chunk with text, reasoning or answer
    /// (`ttfvt_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_text_s: Option<f64>,
    /// Seconds from sending the request to the first chunk with answer text, after any
    /// reasoning (`ttfat_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_answer_s: Option<f64>,
    /// Of `content_chunks`, those that carried reasoning and no answer text (the `<think>`
    /// tags included).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reasoning_chunks: usize,
    /// The server's usage report: of the generated tokens, those of the reasoning
    /// (`completion_tokens_details.reasoning_tokens`), where it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_reasoning_tokens: Option<u64>,
    /// The server's usage report: of the prompt tokens, those it took from its prefix cache
    /// (`prompt_tokens_details.cached_tokens`), where it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_cached_tokens: Option<u64>,
    /// Where two counts of the generated tokens disagree (the server's usage, its finish
    /// reason with `max_tokens`, the chunks): each, with its figures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub count_mismatch: Vec<String>,
    /// Every chunk received, content or not (role-only, finish, usage).
    pub chunks: usize,
    /// Keepalive comments received while the prompt was processed.
    pub keepalives: usize,
    /// Seconds from sending the request to the response headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers_s: Option<f64>,
    /// `finish_reason` of the last chunk (`length`, `stop`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// The server's usage report: prompt tokens (its chat template included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_prompt_tokens: Option<u64>,
    /// The server's usage report: generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_completion_tokens: Option<u64>,
    /// The server's own timings (llama.cpp `timings`), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timings: Option<serde_json::Value>,
    /// The server's own statistics (exo `generation_stats`), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<serde_json::Value>,
    /// The server's own power figures for the request (exo `power_usage`), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<serde_json::Value>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl ServerReport {
    /// The server's own prefill rate, tokens/s: llama.cpp `timings.prompt_per_second`, exo
    /// `generation_stats.prompt_tps`.
    pub fn prefill_tps(&self) -> Option<f64> {
        self.number(&["prompt_per_second"], &["prompt_tps"])
    }

    /// The server's own decode rate, tokens/s: llama.cpp `timings.predicted_per_second`, exo
    /// `generation_stats.generation_tps`.
    pub fn decode_tps(&self) -> Option<f64> {
        self.number(&["predicted_per_second"], &["generation_tps"])
    }

    fn number(&self, in_timings: &[&str], in_stats: &[&str]) -> Option<f64> {
        let pick = |v: &Option<serde_json::Value>, keys: &[&str]| {
            keys.iter().find_map(|k| v.as_ref()?.get(k)?.as_f64())
        };
        pick(&self.timings, in_timings)
            .or_else(|| pick(&self.stats, in_stats))
            .filter(|x| x.is_finite() && *x > 0.0)
    }
}

impl LlmMeasurement {
    /// Time to first token: from the start of prefill to the first generated token.
    pub fn ttft_s(&self) -> Option<f64> {
        self.token_times_s.first().copied()
    }

    /// `prefill_tps` = prompt tokens / ttft.
    pub fn prefill_tps(&self) -> Option<f64> {
        self.ttft_s()
            .filter(|t| *t > 0.0)
            .map(|t| self.prompt_tokens as f64 / t)
    }

    /// `decode_tps` = (output tokens − 1) / (t_last − t_first), where t_first and t_last are
    /// the first and last token arrivals; needs two arrivals apart in time. The count is
    /// `output_tokens`, not the number of arrivals: a server chunk may carry several tokens.
    pub fn decode_tps(&self) -> Option<f64> {
        let (first, last) = (self.token_times_s.first()?, self.token_times_s.last()?);
        let span = last - first;
        (self.token_times_s.len() >= 2 && self.output_tokens >= 2 && span > 0.0)
            .then(|| (self.output_tokens - 1) as f64 / span)
    }

    /// `tpot` = (e2e − ttft) / (output tokens − 1); needs two tokens.
    pub fn tpot_s(&self) -> Option<f64> {
        let ttft = self.ttft_s()?;
        (self.output_tokens >= 2).then(|| (self.e2e_s - ttft) / (self.output_tokens - 1) as f64)
    }

    /// `itl`: every gap between successive token arrivals (output tokens − 1 of them where
    /// each arrival is one token; fewer where a server chunk carried several).
    pub fn itl_s(&self) -> Vec<f64> {
        self.token_times_s.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

/// What an engine is, for the run manifest.
#[derive(Debug, Clone, Serialize)]
pub struct EngineInfo {
    /// Engine name as in suites (`candle`).
    pub engine: &'static str,
    /// Versions of the engine and the crates that compute (`candle-core 0.11.1`).
    pub versions: Vec<(String, String)>,
    /// Device it computes on, in words.
    pub device: String,
    /// Compute dtype.
    pub dtype: String,
    /// Threads the CPU kernels use, where it applies.
    pub threads: Option<usize>,
    /// The model it loaded.
    pub model: crate::model::ModelInfo,
    /// Seconds it took to open the engine: load the model, or start or reach the server (not
    /// part of any measurement). Stored as `load_s`, its name before bench kept "load" for
    /// arrival patterns.
    #[serde(rename = "load_s")]
    pub open_s: f64,
    /// For clusters (exo): the nodes, their links and the instance measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<serde_json::Value>,
    /// The device's matrix-multiply rate in the compute dtype, measured at load (FLOP/s): what
    /// the diffusion engine holds each step's work against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matmul_flops: Option<f64>,
    /// The in-process engine's computation paths that change its speed, as (operation, path)
    /// pairs, e.g. ("prefill attention", "flash-attention kernel flash_attention_pipelined"):
    /// a path silently lost shows in the manifest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub kernels: Vec<(String, String)>,
}

/// An engine that generates text.
pub trait LlmEngine {
    /// Describe the engine and its model.
    fn info(&self) -> &EngineInfo;
    /// Run one request and time it. State such as the KV cache does not carry over between calls.
    fn generate(&mut self, request: &LlmRequest) -> Result<LlmMeasurement, crate::Error>;

    /// The number of tokens `text` makes by the tokenizer the engine sizes prompts with (the
    /// model folder's `tokenizer.json`); `None` when it has none.
    fn count_tokens(&self, text: &str) -> Option<usize> {
        let _ = text;
        None
    }

    /// The engine's side that runs load patterns, where it has one: it can have several
    /// requests in flight and send them on a schedule. `None` for an engine that runs one
    /// request at a time.
    fn pattern_server(&mut self) -> Option<&mut dyn ServesPatterns> {
        None
    }

    /// Run the engine's own benchmark tool on the work of `request` (`trials` times), for
    /// comparison with bench's measurement; `None` when the engine has no such tool or the
    /// target did not ask for it. Called after every case of the target has run.
    fn own_benchmark(
        &mut self,
        request: &LlmRequest,
        trials: u32,
    ) -> Option<Result<crate::own_benchmark::ToolBenchmark, crate::Error>> {
        let _ = (request, trials);
        None
    }
}

/// An engine that runs load patterns ([`LlmEngine::pattern_server`]): several requests in
/// flight, sent on a schedule.
pub trait ServesPatterns {
    /// Send the requests of `pattern`, handing each to `sink` as it ends (on the calling
    /// thread). Request `index` (in sending order, warmups first) is `requests[index %
    /// requests.len()]`; where `requests` holds one request of a prompt built to a length,
    /// every request still gets a text of its own. An error means the pattern could not run
    /// at all; failed requests are reported to `sink`.
    fn serve_pattern(
        &mut self,
        requests: &[LlmRequest],
        pattern: &crate::load::LoadPattern,
        sink: &mut dyn FnMut(LlmPatternRequest),
    ) -> Result<crate::load::LoadTimeline, crate::Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_sources_are_stored_by_their_serialized_names() {
        use TokenCountSource::*;
        for source in [Engine, ServerUsage, FinishReason, Chunks, Tokenizer] {
            assert_eq!(serde_json::to_value(source).unwrap(), source.as_str());
            assert_eq!(source.is_estimate(), source == Tokenizer);
        }
    }

    #[test]
    fn rates_use_the_token_count_and_gaps_the_arrivals() {
        // Six tokens in three chunks, 30 ms apart.
        let m = LlmMeasurement {
            started: Instant::now(),
            prompt_tokens: 8,
            output_tokens: 6,
            token_count_source: TokenCountSource::ServerUsage,
            tokenize_s: 0.0,
            token_times_s: vec![0.1, 0.13, 0.16],
            e2e_s: 0.2,
            peak_memory: None,
            device_peak_memory: None,
            server: None,
            exchange: None,
        };
        assert_eq!(m.ttft_s(), Some(0.1));
        assert!((m.decode_tps().unwrap() - 5.0 / 0.06).abs() < 1e-9);
        assert!((m.tpot_s().unwrap() - 0.1 / 5.0).abs() < 1e-12);
        let itl = m.itl_s();
        assert_eq!(itl.len(), 2, "one gap per pair of arrivals, none invented");
        assert!(itl.iter().all(|g| (g - 0.03).abs() < 1e-12));
    }
}
