//! The metrics bench reports for LLM workloads: names, units, which direction is better,
//! and how each is read from a stored measurement. Definitions: docs/metrics.md.

use crate::stats::Better;
use crate::store::{
    EnergyMetrics, ImageMetrics, LoadMetrics, MemoryMetrics, PatternRun, Record, TextMetrics,
};

/// A reported metric.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Column name in `summary.csv` and key in `measurements.jsonl`.
    pub name: &'static str,
    /// Unit of the stored value.
    pub unit: &'static str,
    /// Direction of improvement.
    pub better: Better,
    /// Whether every value of a per-request distribution counts (itl), not one per measurement.
    pub distribution: bool,
    /// Values of this metric in one record.
    pub values: fn(&Record) -> Vec<f64>,
}

/// A text figure of `r`, read by `figure` (none where `r` has no text figures).
fn text(r: &Record, figure: fn(&TextMetrics) -> Option<f64>) -> Vec<f64> {
    r.metrics
        .text
        .as_ref()
        .and_then(figure)
        .into_iter()
        .collect()
}

/// An image figure of `r`, read by `figure`.
fn image(r: &Record, figure: fn(&ImageMetrics) -> Option<f64>) -> Vec<f64> {
    r.metrics
        .image
        .as_ref()
        .and_then(figure)
        .into_iter()
        .collect()
}

/// A peak memory of `r`, read by `figure`.
fn memory(r: &Record, figure: fn(&MemoryMetrics) -> Option<f64>) -> Vec<f64> {
    r.metrics
        .memory
        .as_ref()
        .and_then(figure)
        .into_iter()
        .collect()
}

/// An energy figure of `r`, read by `figure`.
fn energy(r: &Record, figure: fn(&EnergyMetrics) -> Option<f64>) -> Vec<f64> {
    r.metrics
        .energy
        .as_ref()
        .and_then(figure)
        .into_iter()
        .collect()
}

/// A load-pattern figure of `r`, read by `figure`.
fn load(r: &Record, figure: fn(&LoadMetrics) -> Option<f64>) -> Vec<f64> {
    r.metrics
        .load
        .as_ref()
        .and_then(figure)
        .into_iter()
        .collect()
}

/// Every LLM metric, in report order.
pub const LLM_METRICS: &[Metric] = &[
    Metric {
        name: "ttft_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| text(r, |m| m.ttft_s),
    },
    Metric {
        name: "prefill_tps",
        unit: "tok/s",
        better: Better::Higher,
        distribution: false,
        values: |r| text(r, |m| m.prefill_tps),
    },
    Metric {
        name: "decode_tps",
        unit: "tok/s",
        better: Better::Higher,
        distribution: false,
        values: |r| text(r, |m| m.decode_tps),
    },
    Metric {
        name: "tpot_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| text(r, |m| m.tpot_s),
    },
    Metric {
        name: "itl_s",
        unit: "s",
        better: Better::Lower,
        distribution: true,
        values: |r| r.itl_s.clone(),
    },
    Metric {
        name: "e2e_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| text(r, |m| m.e2e_s),
    },
    Metric {
        name: "tokenize_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| text(r, |m| m.tokenize_s),
    },
    Metric {
        name: "peak_memory_bytes",
        unit: "B",
        better: Better::Lower,
        distribution: false,
        values: |r| memory(r, |m| m.peak_memory_bytes),
    },
    Metric {
        name: "peak_device_memory_bytes",
        unit: "B",
        better: Better::Lower,
        distribution: false,
        values: |r| memory(r, |m| m.peak_device_memory_bytes),
    },
    Metric {
        name: "energy_j",
        unit: "J",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.energy_j),
    },
    Metric {
        name: "energy_from_power_j",
        unit: "J",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.energy_from_power_j),
    },
    Metric {
        name: "active_energy_j",
        unit: "J",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.active_energy_j),
    },
    Metric {
        name: "avg_power_w",
        unit: "W",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.avg_power_w),
    },
    Metric {
        name: "peak_power_w",
        unit: "W",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.peak_power_w),
    },
    Metric {
        name: "power_per_node_w",
        unit: "W",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.power_per_node_w),
    },
    Metric {
        name: "prefill_avg_w",
        unit: "W",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.prefill_avg_w),
    },
    Metric {
        name: "decode_avg_w",
        unit: "W",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.decode_avg_w),
    },
    Metric {
        name: "j_per_prompt_token",
        unit: "J/tok",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.j_per_prompt_token),
    },
    Metric {
        name: "j_per_output_token",
        unit: "J/tok",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.j_per_output_token),
    },
    Metric {
        name: "output_tokens_per_j",
        unit: "tok/J",
        better: Better::Higher,
        distribution: false,
        values: |r| energy(r, |m| m.output_tokens_per_j),
    },
    Metric {
        name: "image_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| image(r, |m| m.image_s),
    },
    Metric {
        name: "step_s",
        unit: "s",
        better: Better::Lower,
        distribution: true,
        values: |r| r.step_s.clone(),
    },
    Metric {
        name: "text_encode_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| image(r, |m| m.text_encode_s),
    },
    Metric {
        name: "denoise_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| image(r, |m| m.denoise_s),
    },
    Metric {
        name: "vae_decode_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| image(r, |m| m.vae_decode_s),
    },
    Metric {
        name: "process_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| image(r, |m| m.process_s),
    },
    Metric {
        name: "tool_image_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| image(r, |m| m.tool_image_s),
    },
    Metric {
        name: "step_flops_per_s",
        unit: "FLOP/s",
        better: Better::Higher,
        distribution: false,
        values: |r| image(r, |m| m.step_flops_per_s),
    },
    Metric {
        name: "step_matmul_fraction",
        unit: "",
        better: Better::Higher,
        distribution: false,
        values: |r| image(r, |m| m.step_matmul_fraction),
    },
    Metric {
        name: "j_per_image",
        unit: "J",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.j_per_image),
    },
    Metric {
        name: "j_per_step",
        unit: "J",
        better: Better::Lower,
        distribution: false,
        values: |r| energy(r, |m| m.j_per_step),
    },
    // Servers only: beside ttft_s where the first tokens came without text.
    Metric {
        name: "ttfvt_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| text(r, |m| m.ttfvt_s),
    },
    // Servers, reasoning models: the answer after the thinking.
    Metric {
        name: "ttfat_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| text(r, |m| m.ttfat_s),
    },
    Metric {
        name: "reasoning_tokens",
        unit: "tok",
        better: Better::Lower,
        distribution: false,
        values: |r| text(r, |m| m.reasoning_tokens),
    },
    Metric {
        name: "answer_tokens",
        unit: "tok",
        better: Better::Higher,
        distribution: false,
        values: |r| text(r, |m| m.answer_tokens),
    },
    Metric {
        name: "cached_prompt_tokens",
        unit: "tok",
        better: Better::Higher,
        distribution: false,
        values: |r| text(r, |m| m.cached_prompt_tokens),
    },
    Metric {
        name: "server_prefill_tps",
        unit: "tok/s",
        better: Better::Higher,
        distribution: false,
        values: |r| text(r, |m| m.server_prefill_tps),
    },
    Metric {
        name: "server_decode_tps",
        unit: "tok/s",
        better: Better::Higher,
        distribution: false,
        values: |r| text(r, |m| m.server_decode_tps),
    },
    Metric {
        name: "queue_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| load(r, |m| m.queue_s),
    },
    Metric {
        name: "schedule_lag_s",
        unit: "s",
        better: Better::Lower,
        distribution: false,
        values: |r| load(r, |m| m.schedule_lag_s),
    },
];

/// A metric of a whole load pattern run (one value per repetition of a load case).
#[derive(Debug, Clone, Copy)]
pub struct PatternRunMetric {
    /// Column name in `summary.csv` and key in `loads.jsonl`.
    pub name: &'static str,
    /// Unit of the stored value.
    pub unit: &'static str,
    /// Direction of improvement.
    pub better: Better,
    /// The value of one pattern run.
    pub value: fn(&PatternRun) -> Option<f64>,
}

/// Every load pattern metric, in report order.
pub const PATTERN_RUN_METRICS: &[PatternRunMetric] = &[
    PatternRunMetric {
        name: "achieved_rate_rps",
        unit: "req/s",
        better: Better::Higher,
        value: |l| l.achieved_rate_rps,
    },
    PatternRunMetric {
        name: "request_throughput_rps",
        unit: "req/s",
        better: Better::Higher,
        value: |l| l.request_throughput_rps,
    },
    PatternRunMetric {
        name: "output_tps",
        unit: "tok/s",
        better: Better::Higher,
        value: |l| l.output_tps,
    },
    PatternRunMetric {
        name: "client_cpu_s_per_1k_tokens",
        unit: "s",
        better: Better::Lower,
        value: |l| l.client_cpu_s_per_1k_tokens,
    },
    PatternRunMetric {
        name: "load_j_per_output_token",
        unit: "J/tok",
        better: Better::Lower,
        value: |l| l.j_per_output_token,
    },
    PatternRunMetric {
        name: "throughput_drop_pct",
        unit: "%",
        better: Better::Lower,
        value: |l| l.sustained.as_ref().map(|s| s.drop_pct),
    },
];

/// The metric called `name`.
pub fn by_name(name: &str) -> Option<&'static Metric> {
    LLM_METRICS.iter().find(|m| m.name == name)
}

/// The metrics of an engine's own benchmark tool (`mlx_lm.benchmark`), kept beside bench's:
/// name, unit and direction; one value per trial of the tool.
pub const TOOL_METRICS: &[(&str, &str, Better)] = &[
    ("tool_prompt_tps", "tok/s", Better::Higher),
    ("tool_generation_tps", "tok/s", Better::Higher),
    ("tool_peak_memory_bytes", "B", Better::Lower),
];

/// The metrics of a workload with an `slo` (`summary::slo`): name, unit and direction.
pub const SLO_METRICS: &[(&str, &str, Better)] = &[
    ("slo_attainment", "fraction", Better::Higher),
    ("goodput_rps", "req/s", Better::Higher),
    ("goodput_tps", "tok/s", Better::Higher),
];

/// The metric of a rate search (`summary::search`): the knee, the highest rate whose probe
/// met the target SLO attainment.
pub const SEARCH_METRICS: &[(&str, &str, Better)] = &[("max_rate_rps", "req/s", Better::Higher)];

/// Every metric name a case summary can hold, in report order, with its direction.
pub fn all() -> impl Iterator<Item = (&'static str, Better)> {
    LLM_METRICS
        .iter()
        .map(|m| (m.name, m.better))
        .chain(PATTERN_RUN_METRICS.iter().map(|m| (m.name, m.better)))
        .chain(TOOL_METRICS.iter().map(|&(name, _, better)| (name, better)))
        .chain(SLO_METRICS.iter().map(|&(name, _, better)| (name, better)))
        .chain(
            SEARCH_METRICS
                .iter()
                .map(|&(name, _, better)| (name, better)),
        )
}
