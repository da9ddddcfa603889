//! Which way a measured quantity improves: what every statistical verdict needs to know to call
//! a change a regression or an improvement.

/// Whether a larger value is an improvement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Smaller is better (latencies, memory).
    Lower,
    /// Larger is better (throughputs).
    Higher,
}
