//! What an engine's own benchmark tool measured (for example `mlx_lm.benchmark`), run beside
//! bench's measurement of the same work so the two can be compared. The engine contract
//! ([`crate::engine::LlmEngine::own_benchmark`]) returns it; each tool's parser fills it.

use serde::{Deserialize, Serialize};

/// One trial as the tool printed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolTrial {
    /// Prompt tokens per second of prefill.
    pub prompt_tps: f64,
    /// Generated tokens per second of decode.
    pub generation_tps: f64,
    /// Peak memory, bytes (printed in GB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes: Option<f64>,
    /// Wall time of the trial, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_time_s: Option<f64>,
}

/// A whole run of an engine's own benchmark tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolBenchmark {
    /// The tool (`mlx_lm.benchmark`).
    pub tool: String,
    /// Its version.
    pub version: String,
    /// The command line it ran with.
    pub command: Vec<String>,
    /// Every timed trial (its warmup is not printed).
    pub trials: Vec<ToolTrial>,
    /// Wall time of the whole command, model load included.
    pub seconds: f64,
}
