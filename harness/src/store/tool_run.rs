//! One line of `tool_runs.jsonl`: an engine's own benchmark tool (`mlx_lm.benchmark`) run on
//! the work of one case, kept beside bench's measurement of the same work.

use bench_workloads::own_benchmark::ToolBenchmark;
use serde::{Deserialize, Serialize};

use super::record::Status;
use crate::plan::Case;

/// File of a run folder holding one [`ToolRun`] per line.
pub const TOOL_RUNS: &str = "tool_runs.jsonl";

/// The tool's figures for one case, or why it failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ToolRun {
    /// Case id from the plan.
    pub case: String,
    /// Target name.
    pub target: String,
    /// `ok` or `error`.
    pub status: Status,
    /// Why the tool failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What it printed, parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ToolBenchmark>,
}

impl ToolRun {
    /// The outcome of running the tool for `case`.
    pub fn of(case: &Case, outcome: Result<ToolBenchmark, String>) -> Self {
        let (status, error, result) = match outcome {
            Ok(r) => (Status::Ok, None, Some(r)),
            Err(e) => (Status::Error, Some(e), None),
        };
        Self {
            case: case.id.clone(),
            target: case.target.clone(),
            status,
            error,
            result,
        }
    }
}
