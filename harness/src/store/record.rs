//! One line of `measurements.jsonl`: a finished (or failed) measurement with its raw timings
//! and derived metrics.

use serde::{Deserialize, Serialize};

use bench_workloads::engine::{LlmMeasurement, ServerReport};

use super::metrics::{ImageMetrics, MemoryMetrics, Metrics, TextMetrics};
use super::Header;
use crate::plan::Case;
use crate::power::MeasurementEnergy;

/// One measured repetition of one case.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Which case and repetition, and when it started.
    #[serde(flatten)]
    pub header: Header,
    /// `ok` or `error`.
    pub status: Status,
    /// What went wrong, for `status = "error"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The kind of failure, for requests of load patterns (`connect`, `status`, `timeout`,
    /// `cut`, `garbage`, `server`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// Where the request sat in its pattern run (load patterns only); stored as `load`.
    #[serde(rename = "load", default, skip_serializing_if = "Option::is_none")]
    pub pattern_slot: Option<PatternSlot>,
    /// Which prompt it sent, where its case's prompts vary request by request (a prompt
    /// file, or lengths drawn from a distribution).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<PromptDraw>,
    /// Its place in a conversation (`turns`): which turn, of which attempt at the
    /// conversation. `prompt_tokens` is then the whole conversation sent (history and new
    /// message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationTurn>,
    /// Tokens in the prompt as run.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens generated.
    #[serde(default)]
    pub output_tokens: u64,
    /// Who counted the tokens, most trusted first: `engine`, `server-usage`, `finish-reason`
    /// (`max_tokens`, the server stopped for length), `chunks` (one token per chunk), or
    /// `tokenizer` (an estimate).
    #[serde(default)]
    pub token_count_source: String,
    /// Whether `output_tokens` is only an estimate (`token_count_source = "tokenizer"`): the
    /// streamed text tokenized again by bench, not a count of what the server generated.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub output_tokens_estimated: bool,
    /// Scalar metrics by kind (see [`crate::metrics`]); absent where undefined.
    #[serde(default)]
    pub metrics: Metrics,
    /// Every gap between successive token arrivals in seconds, in order (output tokens − 1 of
    /// them, fewer where a server chunk carried several tokens).
    #[serde(default)]
    pub itl_s: Vec<f64>,
    /// Diffusion: seconds of each denoising step, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub step_s: Vec<f64>,
    /// Diffusion: the images saved, relative to the run folder.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    /// Diffusion: what an external tool reported about the request (mflux's metadata).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<serde_json::Value>,
    /// How peak memory was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_method: Option<String>,
    /// How peak GPU memory was read (`cuda-mempool-used-high`: the high-water mark of the
    /// memory pool the engine allocates from, reset before the measurement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_device_memory_method: Option<String>,
    /// What the server reported about the request (servers only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerReport>,
    /// Energy per rail and phase, when power was sampled over the whole measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<MeasurementEnergy>,
}

/// One request's slot in a pattern run: which run, its place in sending order, when it was
/// due, how long it queued and how late bench sent it (stored as a record's `load`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct PatternSlot {
    /// `t_start_s` of the pattern run it belongs to (its line in `loads.jsonl`).
    pub run_t_s: f64,
    /// Its place in sending order, from 0; warmup requests (not stored) come first.
    pub index: u32,
    /// Seconds from the start of the pattern to when the schedule made it due.
    pub scheduled_s: f64,
    /// Seconds it waited in bench's own queue for a free slot (not part of its ttft).
    pub queue_s: f64,
    /// Seconds from due to sent: bench's own lateness.
    pub lag_s: f64,
}

/// The prompt one request sent, of a case whose prompts vary.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct PromptDraw {
    /// Its place in the prompt file's prompts (0-based, in file order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<u32>,
    /// The line of the prompt file it starts on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The length drawn from the distribution, tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u32>,
    /// Tokens asked for (`max_tokens`).
    pub max_tokens: u32,
}

/// A request's place in a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConversationTurn {
    /// The turn, from 1.
    pub turn: u32,
    /// When the conversation's first turn started (RFC 3339, UTC): the turns of one attempt
    /// share it, so a conversation cut short is told apart from its rerun.
    pub started_at: String,
}

/// Whether a measurement finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Measured.
    Ok,
    /// The engine failed; the record keeps the message.
    Error,
}

/// Reasoning tokens of a server's response, where it had reasoning and the count is known:
/// the server's usage detail, else one per reasoning chunk when every chunk carried one token.
fn reasoning_tokens(m: &bench_workloads::engine::LlmMeasurement) -> Option<u64> {
    let server = m.server.as_ref()?;
    if let Some(n) = server.usage_reasoning_tokens.filter(|n| *n > 0) {
        return Some(n);
    }
    (server.reasoning_chunks > 0 && server.content_chunks == m.output_tokens)
        .then_some(server.reasoning_chunks as u64)
}

/// The peak memory a measurement read, if it read any.
fn memory(
    host: Option<&bench_workloads::engine::PeakMemory>,
    device: Option<&bench_workloads::engine::PeakMemory>,
) -> Option<MemoryMetrics> {
    (host.is_some() || device.is_some()).then(|| MemoryMetrics {
        peak_memory_bytes: host.map(|p| p.bytes as f64),
        peak_device_memory_bytes: device.map(|p| p.bytes as f64),
    })
}

impl Record {
    /// A successful measurement of `case`.
    pub fn measured(
        case: &Case,
        repetition: u32,
        started_at: String,
        t_start_s: f64,
        m: &LlmMeasurement,
    ) -> Self {
        let reasoning = reasoning_tokens(m);
        Self {
            metrics: Metrics {
                text: Some(TextMetrics {
                    ttft_s: m.ttft_s(),
                    ttfvt_s: m.server.as_ref().and_then(|s| s.first_text_s),
                    ttfat_s: m.server.as_ref().and_then(|s| s.first_answer_s),
                    reasoning_tokens: reasoning.map(|n| n as f64),
                    answer_tokens: reasoning
                        .map(|n| m.output_tokens.saturating_sub(n as usize) as f64),
                    prefill_tps: m.prefill_tps(),
                    decode_tps: m.decode_tps(),
                    tpot_s: m.tpot_s(),
                    e2e_s: Some(m.e2e_s),
                    tokenize_s: Some(m.tokenize_s),
                    chunks_per_token: m
                        .server
                        .as_ref()
                        .filter(|_| m.output_tokens > 0)
                        .filter(|s| s.content_chunks > 0)
                        .map(|s| s.content_chunks as f64 / m.output_tokens as f64),
                    server_prefill_tps: m.server.as_ref().and_then(|s| s.prefill_tps()),
                    server_decode_tps: m.server.as_ref().and_then(|s| s.decode_tps()),
                    cached_prompt_tokens: m.server.as_ref().and_then(|s| {
                        s.usage_cached_tokens
                            .or_else(|| s.timings.as_ref()?["cache_n"].as_u64())
                            .map(|n| n as f64)
                    }),
                }),
                memory: memory(m.peak_memory.as_ref(), m.device_peak_memory.as_ref()),
                ..Metrics::default()
            },
            itl_s: m.itl_s(),
            prompt_tokens: m.prompt_tokens as u64,
            output_tokens: m.output_tokens as u64,
            token_count_source: m.token_count_source.as_str().to_string(),
            output_tokens_estimated: m.token_count_source.is_estimate(),
            peak_memory_method: m.peak_memory.as_ref().map(|p| p.method.to_string()),
            peak_device_memory_method: m.device_peak_memory.as_ref().map(|p| p.method.to_string()),
            server: m.server.clone(),
            ..Self::failed(case, repetition, started_at, t_start_s, String::new())
        }
        .with_status(Status::Ok)
    }

    /// A measurement of `case` that failed with `error`.
    pub fn failed(
        case: &Case,
        repetition: u32,
        started_at: String,
        t_start_s: f64,
        error: String,
    ) -> Self {
        Self {
            header: Header::of(case, repetition, started_at, t_start_s),
            status: Status::Error,
            error: Some(error),
            error_kind: None,
            pattern_slot: None,
            prompt: None,
            conversation: None,
            step_s: Vec::new(),
            images: Vec::new(),
            reported: None,
            prompt_tokens: 0,
            output_tokens: 0,
            token_count_source: String::new(),
            output_tokens_estimated: false,
            metrics: Metrics::default(),
            itl_s: Vec::new(),
            peak_memory_method: None,
            peak_device_memory_method: None,
            server: None,
            energy: None,
        }
    }

    /// A measured image request of `case`.
    pub fn imaged(
        case: &Case,
        repetition: u32,
        started_at: String,
        t_start_s: f64,
        m: &bench_workloads::diffusion::DiffusionMeasurement,
    ) -> Self {
        let denoise_s: f64 = m.step_s.iter().sum();
        let step_flops_per_s = crate::stats::Summary::of(&m.step_s)
            .filter(|s| s.median > 0.0)
            .map(|s| m.step_flops / s.median);
        Self {
            metrics: Metrics {
                image: Some(ImageMetrics {
                    process_s: m.process_s,
                    tool_image_s: m.reported_image_s,
                    step_flops_per_s,
                    step_matmul_fraction: step_flops_per_s
                        .zip(m.matmul_flops)
                        .map(|(achieved, peak)| achieved / peak),
                    image_s: Some(m.image_s),
                    text_encode_s: m.text_encode_s,
                    denoise_s: (!m.step_s.is_empty()).then_some(denoise_s),
                    vae_decode_s: m.vae_decode_s,
                }),
                memory: memory(m.peak_memory.as_ref(), m.device_peak_memory.as_ref()),
                ..Metrics::default()
            },
            step_s: m.step_s.clone(),
            reported: m.reported.clone(),
            peak_memory_method: m.peak_memory.as_ref().map(|p| p.method.to_string()),
            peak_device_memory_method: m.device_peak_memory.as_ref().map(|p| p.method.to_string()),
            ..Self::failed(case, repetition, started_at, t_start_s, String::new())
        }
        .with_status(Status::Ok)
    }

    /// Attach an image request's energy: per image (the whole request over its images) and per
    /// denoising step.
    pub fn with_image_energy(mut self, energy: Option<MeasurementEnergy>, images: usize) -> Self {
        if let Some(e) = &energy {
            self.metrics.set_image_energy(e, images, self.step_s.len());
        }
        self.energy = energy;
        self
    }

    /// Note which prompt the request sent.
    pub fn with_prompt(mut self, prompt: Option<PromptDraw>) -> Self {
        self.prompt = prompt;
        self
    }

    /// Mark the record as turn `turn` of the conversation that started at `started_at`.
    pub fn with_turn(mut self, turn: u32, started_at: &str) -> Self {
        self.conversation = Some(ConversationTurn {
            turn,
            started_at: started_at.to_string(),
        });
        self
    }

    /// Attach the measurement's energy and fill the energy metrics from it.
    pub fn with_energy(mut self, energy: Option<MeasurementEnergy>) -> Self {
        if let Some(e) = &energy {
            self.metrics
                .set_energy(e, self.prompt_tokens, self.output_tokens);
        }
        self.energy = energy;
        self
    }

    fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        if status == Status::Ok {
            self.error = None;
        }
        self
    }
}
