//! The suite format: what a `suite.toml` may contain. Every struct rejects unknown keys, and
//! the JSON Schema printed by `bench schema` is derived from these types.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::prompts::{PromptLengths, PromptOrder};
use super::values::{At, Depths, Grid, Name, Positive, Rates, Seconds};

/// A whole suite file: what to run (`[[workload]]`), on what (`[[target]]`), how often
/// (`[suite]`) and how power is sampled meanwhile (`[power]`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Name and repetition counts.
    pub suite: SuiteSection,
    /// Power sampling while the suite runs.
    #[serde(default)]
    pub power: PowerSection,
    /// The engines and models to measure; every workload runs on every target.
    #[serde(rename = "target")]
    #[schemars(length(min = 1))]
    pub targets: Vec<Target>,
    /// The work to measure; each parameter list is swept.
    #[serde(rename = "workload")]
    #[schemars(length(min = 1))]
    pub workloads: Vec<Workload>,
}

/// `[suite]`: the suite's name and how many times each case runs.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SuiteSection {
    /// Names the run (`results/<time>-<name>/`).
    pub name: Name,
    /// Free text shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Measured runs per case.
    #[serde(default = "default_repetitions")]
    pub repetitions: Positive,
    /// Runs per case executed first and not measured (caches, allocator and clocks warm up).
    #[serde(default = "default_warmup")]
    pub warmup: u32,
    /// Seconds of idle before each case but the first, so that one case's heat does not slow
    /// the next (laptops lose 20–30 % over back-to-back runs). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_s: Option<At<Seconds>>,
    /// `"nominal"`: before each case, wait until the power sampler reports nominal thermal
    /// pressure (powermetrics on macOS), up to `wait_thermal_max_s`. The wait is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_thermal: Option<At<ThermalTarget>>,
    /// The longest wait for `wait_thermal`, seconds (default 600); the case then runs anyway,
    /// and the manifest says the pressure was not reached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_thermal_max_s: Option<At<Seconds>>,
}

/// The thermal state `wait_thermal` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ThermalTarget {
    /// macOS thermal pressure `Nominal`.
    Nominal,
}

fn default_repetitions() -> Positive {
    Positive(5)
}

fn default_warmup() -> u32 {
    1
}

/// `[power]`: how power is sampled while the suite runs.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerSection {
    /// Which sampler to use; `auto` picks what works on this machine. `exo`: every node's
    /// power from exo's `/state` (at `url`, or the exo target's), summed.
    #[serde(default)]
    pub sampler: At<SamplerKind>,
    /// Sampling interval in milliseconds.
    #[serde(default = "default_interval_ms")]
    pub interval_ms: Positive,
    /// Seconds of idle power measured before the suite, subtracted for "active" energy.
    #[serde(default)]
    pub idle_baseline_s: u32,
    /// `prometheus`: the endpoint to scrape (`http://host:9400/metrics`); `macmon`: a
    /// `macmon serve` on another host (`http://host:9090`) instead of spawning `macmon pipe`;
    /// `exo`: the exo API (default: the exo target's `url`).
    #[serde(default)]
    pub url: Option<At<String>>,
    /// `prometheus`: the power or energy metrics to read (`DCGM_FI_DEV_POWER_USAGE`,
    /// `node_rapl_package_joules_total`, `macmon_sys_power_watts`, ...).
    #[serde(default)]
    pub metrics: Option<At<Vec<String>>>,
    /// `[[power.nodes]]`: a cluster's nodes, each read from its own endpoint on every tick;
    /// the cluster's power is their sum where every node answered. Replaces `sampler`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<PowerNode>,
}

/// `[[power.nodes]]`: one node of a cluster and where its power is read.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerNode {
    /// The node's name in results (`studio-1`): its rails are `<name>/<rail>`.
    pub name: At<Name>,
    /// Where its power comes from.
    pub sampler: At<NodeSampler>,
    /// The endpoint: a `macmon serve` (`http://studio-1.local:9090`) or a Prometheus text
    /// endpoint (`http://studio-1.local:9464/metrics`, what `bench power serve` serves).
    #[serde(default)]
    pub url: Option<At<String>>,
    /// `prometheus`: the power or energy metrics to read (default: the ones bench knows, found
    /// on the endpoint).
    #[serde(default)]
    pub metrics: Option<At<Vec<String>>>,
    /// A file holding the bearer token the endpoint asks for (`bench power serve` bound to a
    /// network address).
    #[serde(default)]
    pub token_file: Option<At<String>>,
}

/// Where one cluster node's power comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NodeSampler {
    /// A `macmon serve` on the node.
    Macmon,
    /// A Prometheus text endpoint (`bench power serve`, node exporter, DCGM exporter).
    Prometheus,
    /// Not measured: the cluster has no total then, only the other nodes' figures.
    None,
}

impl NodeSampler {
    /// The name as written in suites.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeSampler::Macmon => "macmon",
            NodeSampler::Prometheus => "prometheus",
            NodeSampler::None => "none",
        }
    }
}

impl Default for PowerSection {
    fn default() -> Self {
        Self {
            sampler: At::detached(SamplerKind::default()),
            interval_ms: default_interval_ms(),
            idle_baseline_s: 0,
            url: None,
            metrics: None,
            nodes: Vec::new(),
        }
    }
}

fn default_interval_ms() -> Positive {
    Positive(100)
}

/// A power sampler.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SamplerKind {
    /// Whatever works on this machine (recorded in the run manifest).
    #[default]
    Auto,
    /// macOS `powermetrics` (needs root).
    Powermetrics,
    /// `macmon` on macOS (no root).
    Macmon,
    /// NVIDIA NVML.
    Nvml,
    /// Linux RAPL / hwmon counters.
    Rapl,
    /// exo's per-node telemetry.
    Exo,
    /// A Prometheus text endpoint.
    Prometheus,
    /// No power sampling.
    None,
}

impl SamplerKind {
    /// Every sampler, in the order `--help` lists them.
    pub const ALL: &'static [SamplerKind] = &[
        SamplerKind::Auto,
        SamplerKind::Powermetrics,
        SamplerKind::Macmon,
        SamplerKind::Nvml,
        SamplerKind::Rapl,
        SamplerKind::Exo,
        SamplerKind::Prometheus,
        SamplerKind::None,
    ];

    /// The name as written in suites.
    pub fn as_str(self) -> &'static str {
        match self {
            SamplerKind::Auto => "auto",
            SamplerKind::Powermetrics => "powermetrics",
            SamplerKind::Macmon => "macmon",
            SamplerKind::Nvml => "nvml",
            SamplerKind::Rapl => "rapl",
            SamplerKind::Exo => "exo",
            SamplerKind::Prometheus => "prometheus",
            SamplerKind::None => "none",
        }
    }
}

/// `[[target]]`: one engine serving one model on one device.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Unique among the suite's targets; appears in case ids.
    pub name: At<Name>,
    /// The engine that runs the model.
    pub engine: At<EngineKind>,
    /// `synth:<preset>` (synthesized once, cached), a local HF-layout folder, or a hub id
    /// (`Org/Name`) found in the local Hugging Face cache.
    pub model: At<String>,
    /// Where the in-process engine computes.
    #[serde(default)]
    pub device: At<DeviceKind>,
    /// Compute dtype of the in-process engine (also the dtype of synthesized weights).
    /// Default: f32 on CPU, bf16 on GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<DType>,
    /// Seed of synthesized weights (`synth:` models only).
    #[serde(default)]
    pub seed: u64,
    /// Server address for external engines (`http://127.0.0.1:8080`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<At<String>>,
    /// `openai` (and `mlx-lm` with `url`): the model name sent in requests (default: `model`
    /// as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_model: Option<String>,
    /// `openai`: the environment variable holding the API key (the key itself is never
    /// written to results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<At<String>>,
    /// `openai`, `mlx-lm`: seconds to wait for the response and for each piece of the stream.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: Positive,
    /// `openai`, `mlx-lm`: `chat` (`/v1/chat/completions`, the server's chat template adds
    /// tokens) or `completions` (`/v1/completions`, the prompt exactly as bench built it).
    #[serde(default)]
    pub api: ApiKind,
    /// `mlx-lm`: the Python that has mlx-lm (default `python3`); bench runs
    /// `<python> -m mlx_lm.server` for the target's model unless `url` names a running server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// `mlx-lm` (started by bench): also run `mlx_lm.benchmark` on each single-request case,
    /// with as many trials as repetitions, and keep its figures beside bench's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlx_lm_benchmark: Option<At<bool>>,
    /// What the target's model makes: `text` or `images`. Inferred when absent: images for
    /// `mflux`, FLUX presets, and folders or cached hub snapshots with a `model_index.json`;
    /// text otherwise (so an exo target serving an image model says `task = "images"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<At<TaskKind>>,
    /// `mflux`: the `mflux-generate` executable (default `mflux-generate` on `PATH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `mflux`: `--base-model` (`dev`, `schnell`), for local folders and third-party ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model: Option<String>,
    /// `mflux`: `--quantize` bits: 3, 4, 5, 6 or 8 (default: the weights as stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantize: Option<At<u8>>,
    /// `exo`: nodes the model's instance runs on (default 1); a list sweeps the node count
    /// (`nodes = [1, 2, 4]`), each with its own instance. bench uses an instance of the model
    /// already running on that many nodes, or places one and removes it when done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<At<Grid>>,
    /// `exo`: how the model is split over the nodes: `pipeline` (layers) or `tensor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharding: Option<At<ShardingKind>>,
    /// `exo`: how the nodes talk: `ring` (TCP) or `jaccl` (RDMA over Thunderbolt 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<At<TransportKind>>,
    /// `exo`: `chat` (`/v1/chat/completions`), `bench-stream` (`/bench/chat/completions`
    /// streamed: exact output lengths, exo's `generation_stats` kept) or `bench` (the same,
    /// whole: exo's `generation_stats` and per-node `power_usage` kept; no ttft).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exo_endpoint: Option<At<ExoEndpointKind>>,
    /// `exo`: seconds to wait after removing an instance bench placed, before the next target
    /// places its own (default 2): exo's runners keep exiting a moment after the instance has
    /// left its state, and on a busy machine a placement made meanwhile may never load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_s: Option<At<Seconds>>,
    /// `exo`, `mlx-lm` (started by bench): the longest wait for the model to load, in seconds
    /// (default 600): exo's runners all ready, or the server answering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_timeout_s: Option<At<Positive>>,
    /// `openai`, `mlx-lm`: the device of this machine the server computes on (`cpu`, `metal`,
    /// `cuda`), for a server running here (bench's own `mlx-lm`, or `url` on loopback). Its
    /// roofline figures are held against that device's ceiling; without it a server has none
    /// (bench cannot tell where a server computes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_device: Option<At<DeviceKind>>,
    /// `openai`: the GGUF the server serves (a `.gguf` file, or a folder holding one model),
    /// read for the bytes each tensor occupies at its own quantization: its roofline figures
    /// then count what a decoded token really reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gguf: Option<At<String>>,
}

/// What a target's model makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Text: llm workloads.
    Text,
    /// Images: diffusion workloads.
    Images,
}

/// How exo splits a model over nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShardingKind {
    /// Consecutive layers per node.
    Pipeline,
    /// Every layer split over the nodes.
    Tensor,
}

/// How exo's nodes talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// MLX ring over TCP.
    Ring,
    /// MLX JACCL: RDMA over Thunderbolt 5.
    Jaccl,
}

/// Which exo endpoint requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExoEndpointKind {
    /// `/v1/chat/completions`, streamed.
    Chat,
    /// `/bench/chat/completions`, streamed.
    BenchStream,
    /// `/bench/chat/completions`, whole.
    Bench,
}

fn default_timeout_s() -> Positive {
    Positive(120)
}

impl Target {
    /// The dtype the engine computes in: the one given, else the device's natural one.
    pub fn effective_dtype(&self) -> DType {
        self.dtype.unwrap_or(match self.device.value {
            DeviceKind::Cpu => DType::F32,
            DeviceKind::Metal | DeviceKind::Cuda => DType::Bf16,
        })
    }
}

/// The OpenAI endpoint a server target uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    /// `/v1/chat/completions`.
    #[default]
    Chat,
    /// `/v1/completions`.
    Completions,
}

/// An engine that runs models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// bench's in-process candle engine (no Python).
    Candle,
    /// `mlx_lm.server`, started and stopped by bench.
    MlxLm,
    /// An exo cluster through its API.
    Exo,
    /// Any OpenAI-compatible streaming server.
    Openai,
    /// FLUX on MLX through `mflux-generate`.
    Mflux,
    /// Any command, its metrics parsed from its output.
    Command,
}

impl EngineKind {
    /// Every engine the format knows, in documentation order.
    pub const ALL: [EngineKind; 6] = [
        EngineKind::Candle,
        EngineKind::MlxLm,
        EngineKind::Exo,
        EngineKind::Openai,
        EngineKind::Mflux,
        EngineKind::Command,
    ];

    /// Whether this build can run it.
    pub fn is_available(self) -> bool {
        matches!(
            self,
            EngineKind::Candle
                | EngineKind::Openai
                | EngineKind::MlxLm
                | EngineKind::Exo
                | EngineKind::Mflux
        )
    }

    /// The name used in suite files.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Candle => "candle",
            EngineKind::MlxLm => "mlx-lm",
            EngineKind::Exo => "exo",
            EngineKind::Openai => "openai",
            EngineKind::Mflux => "mflux",
            EngineKind::Command => "command",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compute device of the in-process engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The CPU (always available).
    #[default]
    Cpu,
    /// Apple GPU through Metal (build with `--features metal`).
    Metal,
    /// NVIDIA GPU through CUDA (build with `--features cuda`).
    Cuda,
}

/// A tensor dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// bfloat16.
    Bf16,
}

/// `[[workload]]`: what to run on every target; list-valued parameters are swept.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Unique among the suite's workloads; appears in case ids.
    pub name: At<Name>,
    /// The kind of work.
    pub kind: At<WorkloadKind>,
    /// Prompt length in tokens (llm): exact (a list is swept), or a distribution each
    /// request's length is drawn from, seeded by `seed`: `{ dist = "lognormal", mean = 512,
    /// sd = 128 }`, `{ dist = "uniform", min = 128, max = 1024 }`, `{ dist = "fixed", tokens =
    /// 512 }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<At<PromptLengths>>,
    /// A file of your own prompts instead of `prompt_tokens` (llm): JSON Lines of
    /// `{"prompt": "…", "max_tokens": 128}` (`max_tokens` optional; `gen_tokens` otherwise), or
    /// the ShareGPT JSON layout (each entry's first user turn). A relative path is relative to
    /// the suite file's folder. Nothing is downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<At<String>>,
    /// The order a `prompts` file's prompts are sent in: `in-order` (the default; starting
    /// over at the end) or `random` (drawn with replacement, seeded by `seed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_order: Option<At<PromptOrder>>,
    /// Tokens generated per request, exact: end-of-sequence is ignored (llm). With `prompts`,
    /// for the prompts whose line gives no `max_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gen_tokens: Option<Grid>,
    /// Context already in the KV cache before the measured prompt, tokens (llm, candle
    /// engine): prefilled unmeasured, then `prompt_tokens` are prefilled and `gen_tokens`
    /// decoded, measured. A list is swept (llama-bench's `-d`). Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depth: Option<At<Depths>>,
    /// Turns of a conversation (llm): each repetition is one conversation of this many
    /// requests, each resending the earlier messages and the answers the engine returned,
    /// then a new user message (the next prompt of `prompts`, else `prompt_tokens` of text).
    /// One request at a time: no load pattern, rate search or depth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<At<Positive>>,
    /// Requests in flight at once (llm, servers): without `rate`, a closed loop of this many
    /// workers; with `rate`, the most in flight (the rest wait in bench's queue). The
    /// in-process engine runs one at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<At<Grid>>,
    /// Requests per second (llm, servers): an open-loop load pattern, sent on schedule whether
    /// or not earlier requests have finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<At<Rates>>,
    /// How requests arrive at `rate`: `poisson` (exponential gaps, the default) or `constant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival: Option<At<ArrivalKind>>,
    /// Seed of the `poisson` schedule, of prompt lengths drawn from a distribution and of a
    /// prompt file's `random` order (llm), or of the starting noise (diffusion): the same seed
    /// sends the same prompts at the same times, or makes the same image (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<At<u64>>,
    /// Measured requests per repetition of a load pattern (default: 10 per concurrency slot,
    /// or 10 seconds' worth at `rate`, at least 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<At<Positive>>,
    /// Seconds a load pattern keeps starting requests, instead of a number of `requests`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<At<Seconds>>,
    /// Requests sent first in each load pattern, under the same load, and left out of the
    /// results (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup_requests: Option<At<u32>>,
    /// Image width in pixels, a multiple of 16 (diffusion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<At<Grid>>,
    /// Image height in pixels, a multiple of 16 (diffusion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<At<Grid>>,
    /// Denoising steps (diffusion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<At<Grid>>,
    /// Guidance strength for models with a guidance embedding (diffusion; default 3.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<At<f64>>,
    /// Images per request (diffusion; default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<At<Grid>>,
    /// The prompt (diffusion; default: a fixed sentence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// Save every image as PNG under the run's `images/` (diffusion; default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub save_images: Option<bool>,
    /// Service-level objectives each request is held to (llm): a request passes when it meets
    /// every bound given. Summaries then report `slo_attainment` and, for load patterns,
    /// goodput (`goodput_rps`, `goodput_tps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<At<Slo>>,
    /// With `rate = "search"`: the share of a probe's requests that must meet `slo` for its
    /// rate to pass, above 0 and at most 1 (default 0.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_attainment: Option<At<f64>>,
    /// With `rate = "search"`: the most requests the whole search may send, warmups included
    /// (default 2000); it stops before a probe that would go past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_max_requests: Option<At<Positive>>,
    /// With `rate = "search"`: the most seconds its probes may take together (default 300);
    /// it stops before a probe expected to go past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_max_s: Option<At<Seconds>>,
    /// With `rate = "search"`: the first rate probed, requests per second (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_start_rps: Option<At<f64>>,
    /// The targets this workload runs on, by name (default: every target whose model does
    /// this kind of work).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<At<Vec<String>>>,
    /// Overrides `[suite].repetitions` for this workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetitions: Option<Positive>,
    /// Overrides `[suite].warmup` for this workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<u32>,
}

/// Bounds one request must meet, seconds; a bound left out is not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Time to the first token of any kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<f64>,
    /// Time to the first answer token (after any reasoning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfat_s: Option<f64>,
    /// Mean time per output token after the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_s: Option<f64>,
    /// The 99th percentile of the request's inter-token gaps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub itl_p99_s: Option<f64>,
    /// The whole request, sent to last token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_s: Option<f64>,
}

impl Slo {
    /// The bounds given, by name.
    pub fn bounds(&self) -> Vec<(&'static str, f64)> {
        [
            ("ttft_s", self.ttft_s),
            ("ttfat_s", self.ttfat_s),
            ("tpot_s", self.tpot_s),
            ("itl_p99_s", self.itl_p99_s),
            ("e2e_s", self.e2e_s),
        ]
        .into_iter()
        .filter_map(|(name, bound)| Some((name, bound?)))
        .collect()
    }
}

/// How requests arrive at a `rate`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ArrivalKind {
    /// Exponential gaps (a Poisson process), seeded.
    #[default]
    Poisson,
    /// Evenly spaced.
    Constant,
}

impl Workload {
    /// Whether the workload runs on the target called `target` (its `targets` list, if any).
    pub fn runs_on(&self, target: &str) -> bool {
        self.targets
            .as_ref()
            .is_none_or(|names| names.value.iter().any(|n| n == target))
    }
}

impl Target {
    /// Whether the target's model makes images (a FLUX preset or folder) rather than text.
    pub fn makes_images(&self) -> bool {
        if let Some(task) = &self.task {
            return task.value == TaskKind::Images;
        }
        if self.engine.value == EngineKind::Mflux {
            return true;
        }
        match self.model.strip_prefix("synth:") {
            Some(preset) => bench_workloads::diffusion::synth::flux_preset(preset).is_some(),
            None => {
                // A folder, or a hub id whose cached snapshot is a diffusers pipeline.
                let folder = std::path::Path::new(&self.model.value);
                let snapshots = bench_workloads::model::hf_hub_cache()
                    .join(format!("models--{}", self.model.replace('/', "--")))
                    .join("snapshots");
                folder.join("model_index.json").is_file()
                    || std::fs::read_dir(snapshots).is_ok_and(|entries| {
                        entries
                            .flatten()
                            .any(|e| e.path().join("model_index.json").is_file())
                    })
            }
        }
    }
}

impl Workload {
    /// Whether this workload runs load patterns (several requests per repetition) rather than
    /// one request per repetition.
    pub fn is_load(&self) -> bool {
        self.rate.is_some()
            || self.requests.is_some()
            || self.duration_s.is_some()
            || self.warmup_requests.is_some()
            || self
                .concurrency
                .as_ref()
                .is_some_and(|c| c.values().iter().any(|&c| c > 1))
    }

    /// The span to point at when the workload's load keys are refused.
    pub fn load_span(&self) -> std::ops::Range<usize> {
        [
            self.rate.as_ref().map(|v| v.span.clone()),
            self.concurrency.as_ref().map(|v| v.span.clone()),
            self.requests.as_ref().map(|v| v.span.clone()),
            self.duration_s.as_ref().map(|v| v.span.clone()),
            self.warmup_requests.as_ref().map(|v| v.span.clone()),
        ]
        .into_iter()
        .flatten()
        .next()
        .unwrap_or_else(|| self.name.span.clone())
    }
}

/// The kind of a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WorkloadKind {
    /// Text generation: a prompt of exact length, then an exact number of tokens.
    Llm,
    /// Image generation.
    Diffusion,
}
