//! One line of `measurements.jsonl`: a finished (or failed) measurement with its raw timings
//! and derived metrics.

use serde::{Deserialize, Serialize};

use bench_workloads::engine::LlmMeasurement;

use crate::plan::{Case, LlmParams};

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
    /// Tokens in the prompt as run.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Tokens generated.
    #[serde(default)]
    pub output_tokens: u64,
    /// Who counted the tokens (`engine`, `server-usage`, `tokenizer`).
    #[serde(default)]
    pub token_count_source: String,
    /// Scalar metrics (see [`crate::metrics`]); absent where undefined.
    #[serde(default)]
    pub metrics: Metrics,
    /// Every inter-token gap in seconds, in order (output tokens − 1 of them).
    #[serde(default)]
    pub itl_s: Vec<f64>,
    /// How peak memory was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_method: Option<String>,
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
        Self {
            metrics: Metrics {
                ttft_s: m.ttft_s(),
                prefill_tps: m.prefill_tps(),
                decode_tps: m.decode_tps(),
                tpot_s: m.tpot_s(),
                e2e_s: Some(m.e2e_s),
                tokenize_s: Some(m.tokenize_s),
                peak_memory_bytes: m.peak_memory.as_ref().map(|p| p.bytes as f64),
            },
            itl_s: m.itl_s(),
            prompt_tokens: m.prompt_tokens as u64,
            output_tokens: m.output_tokens as u64,
            token_count_source: serde_json::to_value(m.token_count_source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            peak_memory_method: m.peak_memory.as_ref().map(|p| p.method.to_string()),
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
            params: case.params,
            repetition,
            started_at,
            t_start_s,
            status: Status::Error,
            error: Some(error),
            prompt_tokens: 0,
            output_tokens: 0,
            token_count_source: String::new(),
            metrics: Metrics::default(),
            itl_s: Vec::new(),
            peak_memory_method: None,
        }
    }

    fn with_status(mut self, status: Status) -> Self {
        self.status = status;
        if status == Status::Ok {
            self.error = None;
        }
        self
    }
}
