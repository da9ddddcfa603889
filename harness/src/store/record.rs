//! One line of `measurements.jsonl`: a finished (or failed) measurement with its raw timings
//! and derived metrics.

use serde::{Deserialize, Serialize};

use bench_workloads::engine::{LlmMeasurement, ServerReport};

use crate::plan::{Case, LlmParams};
use crate::power::MeasurementEnergy;

/// One measured repetition of one case.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Case id from the plan.
    pub case: String,
    /// Target name.
    pub target: String,
    /// Workload name.
    pub workload: String,
    /// Parameters of the case.
    pub params: LlmParams,
    /// 0-based measured repetition (warmups are not stored).
    pub repetition: u32,
    /// Wall-clock time the measurement started (RFC 3339, UTC).
    pub started_at: String,
    /// Seconds since the run started, on the monotonic clock shared with power samples.
    pub t_start_s: f64,
    /// `ok` or `error`.
    pub status: Status,
    /// What went wrong, for `status = "error"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The kind of failure, for requests of load patterns (`connect`, `status`, `timeout`,
    /// `cut`, `garbage`, `server`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// Where the request sat in its load pattern (load patterns only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<RequestLoad>,
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
    /// Scalar metrics (see [`crate::metrics`]); absent where undefined.
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

/// One request's place in a load pattern.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct RequestLoad {
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

/// The scalar metrics of one measurement, as DESIGN.md and docs/metrics.md define them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    /// Time to first token, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<f64>,
    /// Servers: time to the first chunk with visible text, seconds (later than `ttft_s` where
    /// the first tokens came without text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfvt_s: Option<f64>,
    /// Servers: time to the first answer token, after any reasoning, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfat_s: Option<f64>,
    /// Servers, reasoning models: tokens of the reasoning (the server's usage detail, else
    /// the reasoning chunks of a server that streams one token per chunk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<f64>,
    /// Servers, reasoning models: output tokens − `reasoning_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_tokens: Option<f64>,
    /// Prompt tokens / ttft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_tps: Option<f64>,
    /// (output tokens − 1) / (t_last − t_first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_tps: Option<f64>,
    /// (e2e − ttft) / (output tokens − 1), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_s: Option<f64>,
    /// Request start to last token, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_s: Option<f64>,
    /// Prompt tokenization, seconds (not part of ttft).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenize_s: Option<f64>,
    /// Peak memory during the measurement, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes: Option<f64>,
    /// Peak GPU memory during the measurement, bytes (see `peak_device_memory_method`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_device_memory_bytes: Option<f64>,
    /// Of the prompt, the tokens the server took from its prefix cache, where it says
    /// (`usage.prompt_tokens_details.cached_tokens`; llama.cpp's `timings.cache_n`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_prompt_tokens: Option<f64>,
    /// Content chunks / output tokens (servers): 1 when every token comes in its own chunk,
    /// less when the server batches several tokens into one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks_per_token: Option<f64>,
    /// Energy of the whole measurement on the headline rail, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_j: Option<f64>,
    /// Where the headline rail's energy comes from a hardware counter (NVML) and its power was
    /// also read: the same measurement's energy from integrating that power instead, joules.
    /// The two agree when both are right; the gap is the cross-check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_from_power_j: Option<f64>,
    /// Average power over the measurement on the headline rail, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_power_w: Option<f64>,
    /// The highest power reading of the headline rail within the measurement, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_power_w: Option<f64>,
    /// A cluster's average power divided by the nodes it sums (every node sampled, including
    /// any the instance does not use), watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_per_node_w: Option<f64>,
    /// Average power during prefill, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_avg_w: Option<f64>,
    /// Average power during decode, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_avg_w: Option<f64>,
    /// Prefill energy / prompt tokens, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_prompt_token: Option<f64>,
    /// Decode energy / tokens generated in decode (output tokens − 1), joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_output_token: Option<f64>,
    /// 1 / `j_per_output_token`: decode tokens per joule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_j: Option<f64>,
    /// Energy above the idle baseline over the measurement, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_energy_j: Option<f64>,
    /// The server's own prefill rate for the request (llama.cpp `timings`, exo
    /// `generation_stats`), tokens/s, beside bench's `prefill_tps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_prefill_tps: Option<f64>,
    /// The server's own decode rate, tokens/s, beside bench's `decode_tps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_decode_tps: Option<f64>,
    /// Diffusion: seconds from the start of text encoding to the pixels on the host (the model
    /// load excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_s: Option<f64>,
    /// Diffusion: seconds encoding the prompt (T5 and CLIP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_encode_s: Option<f64>,
    /// Diffusion: seconds of all denoising steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denoise_s: Option<f64>,
    /// Diffusion: seconds of the autoencoder's decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vae_decode_s: Option<f64>,
    /// Diffusion, external tools: seconds of the tool's whole process, its model load included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_s: Option<f64>,
    /// Diffusion, external tools: the tool's own time for the image (mflux
    /// `generation_time_seconds`), kept beside bench's `image_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_image_s: Option<f64>,
    /// Diffusion: FLOPs of one step (counted from the shapes) / the median step time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_flops_per_s: Option<f64>,
    /// Diffusion: `step_flops_per_s` / the device's matrix-multiply rate measured at load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_matmul_fraction: Option<f64>,
    /// Diffusion: energy of the request / images made, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_image: Option<f64>,
    /// Diffusion: energy of the denoising / steps, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_step: Option<f64>,
    /// Load patterns: seconds the request waited in bench's own queue for a free slot (not
    /// part of its ttft).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_s: Option<f64>,
    /// Load patterns: seconds from when the request was due to when bench sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag_s: Option<f64>,
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

impl Metrics {
    /// Fill `energy_j`, `avg_power_w` and `active_energy_j` from the headline rail's `total`.
    fn set_total_energy(&mut self, energy: &MeasurementEnergy) {
        let total = energy.headline_phase("total");
        self.energy_j = total.map(|p| p.joules);
        self.avg_power_w = total.map(|p| p.avg_w);
        self.peak_power_w = total.and_then(|p| p.peak_w);
        self.power_per_node_w = energy
            .cluster_nodes()
            .filter(|&n| n > 0)
            .and_then(|n| Some(total?.avg_w / n as f64));
        self.active_energy_j = total.and_then(|p| p.active_joules);
        self.energy_from_power_j = energy
            .rails
            .get(&crate::power::integrated_power_rail(&energy.headline))
            .and_then(|rail| rail.phases.get("total"))
            .map(|p| p.joules);
    }

    /// Fill the energy metrics from `energy` (headline rail) for a measurement of
    /// `prompt_tokens` in and `output_tokens` out.
    pub fn set_energy(
        &mut self,
        energy: &MeasurementEnergy,
        prompt_tokens: u64,
        output_tokens: u64,
    ) {
        self.set_total_energy(energy);
        let prefill = energy.headline_phase("prefill");
        let decode = energy.headline_phase("decode");
        self.prefill_avg_w = prefill.map(|p| p.avg_w);
        self.decode_avg_w = decode.map(|p| p.avg_w);
        self.j_per_prompt_token = prefill
            .filter(|_| prompt_tokens > 0)
            .map(|p| p.joules / prompt_tokens as f64);
        let decoded = output_tokens.saturating_sub(1);
        self.j_per_output_token = decode
            .filter(|_| decoded > 0)
            .map(|p| p.joules / decoded as f64);
        self.output_tokens_per_j = self
            .j_per_output_token
            .filter(|j| *j > 0.0)
            .map(|j| 1.0 / j);
    }
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
                ttft_s: m.ttft_s(),
                ttfvt_s: m.server.as_ref().and_then(|s| s.first_text_s),
                ttfat_s: m.server.as_ref().and_then(|s| s.first_answer_s),
                reasoning_tokens: reasoning.map(|n| n as f64),
                answer_tokens: reasoning.map(|n| m.output_tokens.saturating_sub(n as usize) as f64),
                prefill_tps: m.prefill_tps(),
                decode_tps: m.decode_tps(),
                tpot_s: m.tpot_s(),
                e2e_s: Some(m.e2e_s),
                tokenize_s: Some(m.tokenize_s),
                peak_memory_bytes: m.peak_memory.as_ref().map(|p| p.bytes as f64),
                peak_device_memory_bytes: m.device_peak_memory.as_ref().map(|p| p.bytes as f64),
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
            case: case.id.clone(),
            target: case.target.clone(),
            workload: case.workload.clone(),
            params: case.stored_params(),
            repetition,
            started_at,
            t_start_s,
            status: Status::Error,
            error: Some(error),
            error_kind: None,
            load: None,
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
                peak_memory_bytes: m.peak_memory.as_ref().map(|p| p.bytes as f64),
                peak_device_memory_bytes: m.device_peak_memory.as_ref().map(|p| p.bytes as f64),
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
            self.metrics.set_total_energy(e);
            let total = e.headline_phase("total");
            let denoise = e.headline_phase("denoise");
            self.metrics.j_per_image = total
                .filter(|_| images > 0)
                .map(|p| p.joules / images as f64);
            let steps = self.step_s.len();
            self.metrics.j_per_step = denoise
                .filter(|_| steps > 0)
                .map(|p| p.joules / steps as f64);
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
