//! What a line of `measurements.jsonl` and a line of `loads.jsonl` both start with: which
//! case and repetition they measured, and when.

use serde::{Deserialize, Serialize};

use crate::plan::{Case, LlmParams};

/// Which case and repetition a stored line belongs to, and when it started. [`super::Record`]
/// and [`super::PatternRun`] carry it flattened: its fields stay top-level keys of their lines.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Header {
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
    /// Wall-clock time it started (RFC 3339, UTC).
    pub started_at: String,
    /// Seconds since the run started, on the monotonic clock shared with power samples. A load
    /// pattern's requests carry their pattern's as `load.run_t_s`.
    pub t_start_s: f64,
}

impl Header {
    /// Repetition `repetition` of `case`, started at `started_at` (`t_start_s` on the run
    /// clock).
    pub fn of(case: &Case, repetition: u32, started_at: String, t_start_s: f64) -> Self {
        Self {
            case: case.id.clone(),
            target: case.target.clone(),
            workload: case.workload.clone(),
            params: case.stored_params(),
            repetition,
            started_at,
            t_start_s,
        }
    }
}
