//! The `openai` engine: any OpenAI-compatible server that streams `/v1/chat/completions`
//! (mlx_lm.server, llama.cpp's server, vLLM, Ollama, LM Studio), one request at a time.
//!
//! Prompts are built to an exact token count with the model's own `tokenizer.json` (from the
//! target's model folder, `synth:` preset or hub cache); the server's chat template adds its
//! own tokens, which the server's usage report shows. Exactly `gen_tokens` are asked for
//! (`max_tokens`, and `ignore_eos` for servers that honour it).
//!
//! Token counts ([`count`]): the server's usage when it reports one
//! (`stream_options.include_usage`), else `max_tokens` when it stopped for length, else one per
//! chunk for a server seen to stream one token per chunk, else the tokenizer's estimate over
//! the streamed text, flagged as such. Token times are the arrivals of the chunks that carried
//! tokens, one time per chunk: a chunk of several tokens is one arrival, never repeated.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokenizers::Tokenizer;

use super::count::{self, ChunkEvidence};
use super::pattern_driver;
use super::stream::{stream_request, StreamOutcome};
use super::tokenize::ServerTokenizer;
use crate::conversation;
use crate::cpu_time;
use crate::engine::{
    EngineInfo, Exchange, LlmEngine, LlmMeasurement, LlmPatternRequest, LlmRequest, PromptInput,
    ServerReport, ServesPatterns,
};
use crate::llm::prompt::PromptBuilder;
use crate::load::{LoadPattern, LoadTimeline, PatternRequest, RequestFailure};
use crate::model::{self, ModelInfo, ResolvedModel};
use crate::Error;

/// Which OpenAI endpoint requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Api {
    /// `/v1/chat/completions`: the prompt as one user message; the server's chat template adds
    /// its own tokens.
    #[default]
    Chat,
    /// `/v1/completions`: the prompt as raw text, so the server sees exactly bench's tokens.
    Completions,
}

/// How to reach the server.
#[derive(Debug, Clone)]
pub struct OpenAiOptions {
    /// The endpoint.
    pub api: Api,
    /// Base URL (`http://127.0.0.1:8080`); `/v1/chat/completions` is appended unless the URL
    /// already ends with a path.
    pub url: String,
    /// The model name sent in requests.
    pub served_model: String,
    /// Bearer token, if the server wants one (never written to results).
    pub api_key: Option<String>,
    /// Longest wait for the response and for each piece of the stream.
    pub timeout: Duration,
}

/// An OpenAI-compatible server measured from bench's side of the connection.
pub struct OpenAiEngine {
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
    endpoint: String,
    options: OpenAiOptions,
    tokenizer: Tokenizer,
    prompts: PromptBuilder,
    info: EngineInfo,
    warned_prompt_count: AtomicBool,
    /// Whether the run was told, once, that two counts of generated tokens disagree.
    warned_count_mismatch: AtomicBool,
    /// Whether the run was told, once, that token counts are the tokenizer's estimate.
    warned_estimate: AtomicBool,
    /// How this server streams tokens into chunks, as seen so far.
    chunk_evidence: ChunkEvidence,
    /// Prompt variants used so far: every request gets a new one.
    variant: u64,
    /// The server's own tokenizer, when it exposes one: prompts are sized with it.
    server_tokenizer: Option<ServerTokenizer>,
    /// Context depths whose shared prefix was sent once already, warming the server's cache.
    warmed_depths: Vec<usize>,
}

/// The corpus variant of the shared prefix of depth `depth`: far from the requests' own
/// variants, so no request's prompt starts like it.
fn prefix_variant(depth: usize) -> u64 {
    (1 << 62) + depth as u64
}

impl OpenAiEngine {
    /// Check that the server answers and load the model's tokenizer from `resolved`.
    pub fn open(
        spec: &str,
        resolved: &ResolvedModel,
        options: OpenAiOptions,
    ) -> Result<Self, Error> {
        let start = Instant::now();
        let dir = resolved.dir.as_path();
        let tokenizer = crate::llm::load_tokenizer(dir)?;
        let config = model::ArchConfig::read(dir)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::transport(&options.url, format!("cannot start the HTTP runtime: {e}"))
            })?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(options.timeout)
            .build()
            .map_err(|e| {
                Error::transport(&options.url, format!("cannot build the HTTP client: {e}"))
            })?;
        let base = options.url.trim_end_matches('/');
        let endpoint = if base.ends_with("/completions") {
            base.to_string()
        } else {
            match options.api {
                Api::Chat => format!("{base}/v1/chat/completions"),
                Api::Completions => format!("{base}/v1/completions"),
            }
        };
        check_server(&runtime, &client, &endpoint, options.timeout)?;
        let server_tokenizer = server_base(&endpoint).and_then(|base| {
            runtime.block_on(ServerTokenizer::probe(
                &client,
                base,
                &options.served_model,
                options.timeout,
            ))
        });
        let sized_by = match server_tokenizer {
            Some(_) => "prompts sized by the server's /tokenize",
            None => "prompts sized by the model folder's tokenizer.json",
        };
        let info = EngineInfo {
            engine: "openai",
            versions: vec![("bench-workloads".into(), env!("CARGO_PKG_VERSION").into())],
            device: format!(
                "server at {endpoint}, model `{}`; {sized_by}",
                options.served_model
            ),
            dtype: "as served".into(),
            threads: None,
            model: ModelInfo {
                spec: spec.to_string(),
                dir: dir.to_path_buf(),
                source: resolved.source.clone(),
                architecture: config.architecture(),
                parameters: 0,
                digest: model::folder_digest(dir)?,
            },
            open_s: start.elapsed().as_secs_f64(),
            cluster: None,
            matmul_flops: None,
            kernels: Vec::new(),
        };
        Ok(Self {
            runtime,
            client,
            endpoint,
            prompts: PromptBuilder::new(tokenizer.clone()),
            tokenizer,
            options,
            info,
            warned_prompt_count: AtomicBool::new(false),
            warned_count_mismatch: AtomicBool::new(false),
            warned_estimate: AtomicBool::new(false),
            chunk_evidence: ChunkEvidence::default(),
            variant: 0,
            server_tokenizer,
            warmed_depths: Vec::new(),
        })
    }

    fn body(&self, prompt: &str, gen_tokens: usize, history: &[Exchange]) -> serde_json::Value {
        let mut body = serde_json::json!({
            "model": self.options.served_model,
            "max_tokens": gen_tokens,
            "temperature": 0.0,
            "ignore_eos": true,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        match self.options.api {
            Api::Chat => body["messages"] = conversation::messages(history, prompt),
            Api::Completions => {
                body["prompt"] = serde_json::json!(conversation::text(history, prompt))
            }
        }
        body
    }

    /// The tokenizer's count of `text`: the last resort of [`count::count`].
    fn estimate(&self, text: &str) -> usize {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().len())
            .unwrap_or(0)
    }

    /// Count one request's tokens, and tell the run once per target where counts disagree or
    /// are only estimated.
    fn count(&self, out: &StreamOutcome, request: &LlmRequest) -> count::TokenCount {
        let counted = count::count(out, request.gen_tokens, &self.chunk_evidence, |text| {
            self.estimate(text)
        });
        if !counted.mismatch.is_empty() && !self.warned_count_mismatch.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                "{}: the server's token counts disagree ({}); bench uses {} and keeps each in the record's `server.count_mismatch`",
                self.endpoint,
                counted.mismatch.join("; "),
                counted.source.as_str()
            );
        }
        if counted.source.is_estimate() && !self.warned_estimate.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "{}: the server sent no usage and did not stop for length: output tokens are the tokenizer's estimate over the streamed text ({} tokens in {} chunks), not a count",
                self.endpoint,
                counted.output_tokens,
                out.arrivals.len()
            );
        }
        counted
    }
}

/// The server's address without the endpoint path.
fn server_base(endpoint: &str) -> Option<&str> {
    [
        "/v1/chat/completions",
        "/v1/completions",
        "/bench/chat/completions",
    ]
    .iter()
    .find_map(|suffix| endpoint.strip_suffix(suffix))
}

/// Fail early, at load, when nothing answers at the server's address: any HTTP answer to
/// `GET /v1/models` will do (some servers do not list models).
fn check_server(
    runtime: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    endpoint: &str,
    timeout: Duration,
) -> Result<(), Error> {
    let Some(base) = endpoint
        .strip_suffix("/v1/chat/completions")
        .or_else(|| endpoint.strip_suffix("/v1/completions"))
    else {
        return Ok(());
    };
    let models = format!("{base}/v1/models");
    runtime
        .block_on(async { tokio::time::timeout(timeout, client.get(&models).send()).await })
        .map_err(|_| {
            Error::transport(
                &models,
                format!("{models}: no answer within {:.0} s", timeout.as_secs_f64()),
            )
        })?
        .map(|_| ())
        .map_err(|e| Error::transport(base, format!("no server answers at {base}: {e}")))
}

impl OpenAiEngine {
    /// A prompt of `tokens` tokens (by the server's tokenizer where it has one), corpus
    /// variant `variant`, as text, and the seconds the local tokenizer took.
    fn prompt_text(&self, tokens: usize, variant: u64) -> Result<(String, f64), Error> {
        // With the server's tokenizer, start from more local tokens than needed (the two
        // tokenizers may split differently) and let the server cut exactly.
        let local = match self.server_tokenizer {
            Some(_) => tokens * 2 + 32,
            None => tokens,
        };
        let prompt = self.prompts.build_variant(local, variant)?;
        let mut text = self
            .tokenizer
            .decode(&prompt.ids, false)
            .map_err(|e| Error::Engine(format!("cannot turn the prompt ids into text: {e}")))?;
        if let Some(server) = &self.server_tokenizer {
            text = self
                .runtime
                .block_on(server.exact(&self.client, &text, tokens))
                .map_err(|e| {
                    Error::Engine(format!(
                        "sizing the prompt with the server's tokenizer: {e}"
                    ))
                })?;
        }
        Ok((text, prompt.tokenize_s))
    }

    /// The request body of `request` serialized (a prompt built to a length gets corpus
    /// variant `variant`): built before anything is timed, and shared cheaply between
    /// requests. With a context depth, the prompt follows the depth's shared prefix (the same
    /// text for every request).
    fn prepared(&self, request: &LlmRequest, variant: u64) -> Result<Prepared, Error> {
        let (mut text, mut tokenize_s, prompt_tokens) = match &request.prompt {
            PromptInput::Tokens(n) => {
                let (text, seconds) = self.prompt_text(*n, variant)?;
                (text, seconds, *n)
            }
            PromptInput::Text(text) => {
                // Counted locally, for servers that send no usage.
                let start = Instant::now();
                let n = self.estimate(text);
                (text.to_string(), start.elapsed().as_secs_f64(), n)
            }
        };
        if request.depth > 0 {
            let (prefix, prefix_s) =
                self.prompt_text(request.depth, prefix_variant(request.depth))?;
            text = format!("{prefix}{text}");
            tokenize_s += prefix_s;
        }
        let history = request.conversation.as_deref().unwrap_or_default();
        // A turn's prompt is the whole conversation, by the local count where the server
        // gives none.
        let prompt_tokens = match request.conversation {
            Some(_) => self.estimate(&conversation::text(history, &text)),
            None => prompt_tokens,
        };
        let body = serde_json::to_vec(&self.body(&text, request.gen_tokens, history))
            .map_err(|e| Error::Engine(format!("cannot serialize the request: {e}")))?;
        Ok(Prepared {
            body: bytes::Bytes::from(body),
            tokenize_s,
            prompt_tokens,
            user: request.conversation.as_ref().map(|_| Arc::from(text)),
        })
    }

    /// Send the shared prefix of `request`'s depth once, alone (one token generated, not
    /// measured), so that the server's prefix cache holds it before the measured requests.
    fn warm_prefix(&mut self, request: &LlmRequest) -> Result<(), Error> {
        if request.depth == 0 || self.warmed_depths.contains(&request.depth) {
            return Ok(());
        }
        let (prefix, _) = self.prompt_text(request.depth, prefix_variant(request.depth))?;
        let body = serde_json::to_vec(&self.body(&prefix, 1, &[]))
            .map_err(|e| Error::Engine(format!("cannot serialize the request: {e}")))?;
        let http = Self::http(
            &self.client,
            &self.endpoint,
            self.options.api_key.as_deref(),
        );
        let out = self
            .runtime
            .block_on(stream_request(http, body, self.options.timeout));
        if let Some(failure) = out.failure {
            return Err(Error::transport(
                &self.endpoint,
                format!(
                    "{}: sending the shared prefix of depth {}: {}",
                    self.endpoint, request.depth, failure.message
                ),
            ));
        }
        self.warmed_depths.push(request.depth);
        Ok(())
    }

    fn http(
        client: &reqwest::Client,
        endpoint: &str,
        key: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let http = client.post(endpoint);
        match key {
            Some(key) => http.bearer_auth(key),
            None => http,
        }
    }

    /// Turn one streamed response into a measurement, or say why it failed.
    fn measurement(
        &self,
        out: StreamOutcome,
        request: &LlmRequest,
        sent: &Sent,
        started: Instant,
    ) -> Result<LlmMeasurement, RequestFailure> {
        if let Some(failure) = &out.failure {
            return Err(RequestFailure {
                kind: failure.kind.as_str().to_string(),
                message: format!("{}: {}", self.endpoint, failure.message),
            });
        }
        let counted = self.count(&out, request);
        let token_times_s: Vec<f64> = out.arrivals.iter().map(|a| a.t_s).collect();
        let exchange = sent.user.as_ref().map(|user| Exchange {
            user: user.clone(),
            assistant: out
                .arrivals
                .iter()
                .map(|a| a.text.as_str())
                .collect::<String>()
                .into(),
        });
        if let Some(usage) = out.usage {
            if self.options.api == Api::Completions
                && request.conversation.is_none()
                && usage.prompt_tokens as usize != sent.prompt_tokens + request.depth
                && !self.warned_prompt_count.swap(true, Ordering::Relaxed)
            {
                tracing::warn!(
                    "{}: bench sent a prompt of {} tokens but the server counted {}: its tokenizer differs from the model folder's",
                    self.endpoint,
                    sent.prompt_tokens,
                    usage.prompt_tokens
                );
            }
        }
        // With a depth, the server counts the shared prefix too: the prompt is what follows it.
        let prompt_tokens = out.usage.map_or(sent.prompt_tokens, |u| {
            (u.prompt_tokens as usize).saturating_sub(request.depth)
        });
        Ok(LlmMeasurement {
            started: out.sent.unwrap_or(started),
            prompt_tokens,
            output_tokens: counted.output_tokens,
            token_count_source: counted.source,
            tokenize_s: sent.tokenize_s,
            token_times_s,
            e2e_s: out.e2e_s,
            peak_memory: None,
            device_peak_memory: None,
            server: Some(ServerReport {
                content_chunks: out.arrivals.len(),
                empty_content_chunks: out.arrivals.iter().filter(|a| a.text.is_empty()).count(),
                first_text_s: out
                    .arrivals
                    .iter()
                    .find(|a| !a.text.is_empty() || !a.reasoning.is_empty())
                    .map(|a| a.t_s),
                first_answer_s: out
                    .arrivals
                    .iter()
                    .find(|a| !a.text.is_empty())
                    .map(|a| a.t_s),
                reasoning_chunks: out
                    .arrivals
                    .iter()
                    .filter(|a| a.thinking && a.text.is_empty())
                    .count(),
                usage_reasoning_tokens: out.usage.and_then(|u| u.reasoning_tokens),
                usage_cached_tokens: out.usage.and_then(|u| u.cached_tokens),
                count_mismatch: counted.mismatch,
                chunks: out.chunks,
                keepalives: out.keepalives,
                headers_s: out.headers_s,
                finish_reason: out.finish_reason,
                usage_prompt_tokens: out.usage.map(|u| u.prompt_tokens),
                usage_completion_tokens: out.usage.map(|u| u.completion_tokens),
                timings: out.timings,
                stats: out.stats,
                power: None,
            }),
            exchange,
        })
    }
}

/// A request body ready to send.
pub struct Prepared {
    /// The serialized JSON.
    pub body: bytes::Bytes,
    /// Seconds the prompt took to tokenize.
    pub tokenize_s: f64,
    /// Tokens of the prompt by bench's count (the depth's prefix not included): the length
    /// it was built to, or the model folder's tokenizer over a given text; for a turn of a
    /// conversation, over the whole conversation.
    pub prompt_tokens: usize,
    /// For a turn of a conversation: its new user message as sent.
    pub user: Option<Arc<str>>,
}

/// What bench knows of a request it sent, beside the server's answer.
struct Sent {
    tokenize_s: f64,
    prompt_tokens: usize,
    user: Option<Arc<str>>,
}

impl Prepared {
    fn sent(&self) -> Sent {
        Sent {
            tokenize_s: self.tokenize_s,
            prompt_tokens: self.prompt_tokens,
            user: self.user.clone(),
        }
    }
}

/// Distinct prompts prepared for one load pattern at most; longer patterns reuse them in turn.
const PROMPT_POOL: u32 = 1024;

impl OpenAiEngine {
    /// The body of the next request like `request` (a prompt of its own), for engines that
    /// send it some other way.
    pub fn request_body(&mut self, request: &LlmRequest) -> Result<Prepared, Error> {
        self.variant += 1;
        self.prepared(request, self.variant)
    }
}

impl LlmEngine for OpenAiEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn generate(&mut self, request: &LlmRequest) -> Result<LlmMeasurement, Error> {
        self.warm_prefix(request)?;
        // Each request gets a prompt of its own, so no server answers it from a prefix cache
        // (beyond a depth's shared prefix).
        self.variant += 1;
        let prepared = self.prepared(request, self.variant)?;
        let http = Self::http(
            &self.client,
            &self.endpoint,
            self.options.api_key.as_deref(),
        );
        let sent = prepared.sent();
        let started = Instant::now();
        let out = self
            .runtime
            .block_on(stream_request(http, prepared.body, self.options.timeout));
        self.measurement(out, request, &sent, started)
            .map_err(|f| Error::transport(&self.endpoint, format!("{} ({})", f.message, f.kind)))
    }

    fn count_tokens(&self, text: &str) -> Option<usize> {
        Some(self.estimate(text))
    }

    fn pattern_server(&mut self) -> Option<&mut dyn ServesPatterns> {
        Some(self)
    }
}

impl ServesPatterns for OpenAiEngine {
    fn serve_pattern(
        &mut self,
        requests: &[LlmRequest],
        pattern: &LoadPattern,
        sink: &mut dyn FnMut(LlmPatternRequest),
    ) -> Result<LoadTimeline, Error> {
        if requests.is_empty() {
            return Err(Error::Config(
                "a load pattern needs a request to send".into(),
            ));
        }
        for request in requests {
            self.warm_prefix(request)?;
        }
        // One request of a length: a pool of prompts of their own. Several: one body each.
        let pool = match requests {
            [_] => pattern
                .planned_requests()
                .unwrap_or(PROMPT_POOL)
                .clamp(1, PROMPT_POOL),
            many => u32::try_from(many.len()).unwrap_or(u32::MAX),
        };
        let request_of = |slot: usize| &requests[slot % requests.len()];
        let prepared: Vec<Prepared> = (0..pool)
            .map(|i| self.prepared(request_of(i as usize), self.variant + 1 + u64::from(i)))
            .collect::<Result<_, _>>()?;
        self.variant += u64::from(pool);
        let bodies: Arc<Vec<bytes::Bytes>> =
            Arc::new(prepared.iter().map(|p| p.body.clone()).collect());
        let this = &*self;
        let (client, endpoint, key, timeout) = (
            this.client.clone(),
            Arc::<str>::from(this.endpoint.as_str()),
            this.options.api_key.clone().map(Arc::<str>::from),
            this.options.timeout,
        );
        let send = move |index: u32| {
            let http = Self::http(&client, &endpoint, key.as_deref());
            let body = bodies[(index % pool) as usize].clone();
            stream_request(http, body, timeout)
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let cpu_before = cpu_time::process_cpu_seconds();
        let started = Instant::now();
        let pattern = *pattern;
        let network_cpu_s = std::thread::scope(|scope| {
            let network = scope.spawn(|| {
                let before = cpu_time::thread_cpu_seconds();
                this.runtime
                    .block_on(pattern_driver::drive(pattern, started, send, tx));
                Some(cpu_time::thread_cpu_seconds()? - before?)
            });
            // Finished requests arrive here, off the network thread, to be measured and stored.
            for sent in rx {
                let slot = (sent.index % pool) as usize;
                let known = prepared[slot].sent();
                let at = sent.outcome.sent.unwrap_or(started);
                sink(PatternRequest {
                    index: sent.index,
                    warmup: pattern.is_warmup(sent.index),
                    scheduled_s: sent.scheduled_s,
                    queue_s: sent.queue_s,
                    lag_s: sent.lag_s,
                    sent: at,
                    result: this.measurement(sent.outcome, request_of(slot), &known, at),
                });
            }
            network.join().ok().flatten()
        });
        let ended = Instant::now();
        Ok(LoadTimeline {
            started,
            ended,
            process_cpu_s: cpu_time::process_cpu_seconds()
                .zip(cpu_before)
                .map(|(after, before)| after - before),
            network_cpu_s,
        })
    }
}
