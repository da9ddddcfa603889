//! The suite format: what a `suite.toml` may contain (a `[[target]]` in `target.rs`). Every
//! struct rejects unknown keys, and the JSON Schema printed by `bench schema` is derived from
//! these types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::prompts::{PromptLengths, PromptOrder};
use super::target::Target;
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
