//! `bench gate`: the current run against a baseline, under the thresholds of a gate file. A
//! metric fails the gate only when its change is both significant (one-sided Mann-Whitney U,
//! in the harmful direction) and beyond its allowed change; a baseline from other hardware or
//! another engine release is refused unless forced.

mod baseline;
mod config;

use serde::Serialize;

use crate::compare::{self, CompareError, Comparison, Options, RunSide};
use crate::stats::verdict::Verdict;

pub use baseline::{resolve_baseline, BaselineError, BaselineSource};
pub use config::{GateConfig, GateConfigError, GatedMetric, DEFAULT_METRICS};

/// Exit code of a gate that found a regression.
pub const EXIT_REGRESSION: u8 = 1;

/// Why the gate could not decide.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// The baseline was measured elsewhere.
    #[error(
        "the baseline {base} was measured on other hardware or engines than {current}:\n  {}\n\
         Gate against a baseline from this machine, or pass --force to compare anyway.",
        .differences.join("\n  ")
    )]
    Mismatch {
        /// Baseline run id.
        base: String,
        /// Current run id.
        current: String,
        /// What differs.
        differences: Vec<String>,
    },
    /// The runs have nothing to compare.
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// Every gated metric lacked data.
    #[error(
        "nothing could be gated: every gated metric lacks data ({reasons}); \
         run more repetitions or gate other metrics"
    )]
    NoData {
        /// The reasons given, deduplicated.
        reasons: String,
    },
}

/// The gate's result.
#[derive(Debug, Clone, Serialize)]
pub struct GateOutcome {
    /// Whether it passed (no gated metric regressed).
    pub passed: bool,
    /// Metrics that regressed.
    pub regressed: usize,
    /// Metrics that improved.
    pub improved: usize,
    /// Metrics within their thresholds or noise.
    pub within_noise: usize,
    /// Metrics with too little data to judge (listed, not failed).
    pub not_enough_data: usize,
    /// Differences of hardware or engines accepted with `--force`.
    pub forced_differences: Vec<String>,
    /// The comparison under the gate's rules.
    pub comparison: Comparison,
}

/// Gate `current` against `base` under `config`.
pub fn gate(
    base: &RunSide,
    current: &RunSide,
    config: &GateConfig,
    force: bool,
) -> Result<GateOutcome, GateError> {
    let mut differences =
        compare::environment_differences(&base.manifest.environment, &current.manifest.environment);
    differences.extend(compare::engine_differences(
        &base.manifest,
        &current.manifest,
    ));
    if !differences.is_empty() && !force {
        return Err(GateError::Mismatch {
            base: base.manifest.run_id.clone(),
            current: current.manifest.run_id.clone(),
            differences,
        });
    }
    let options = Options {
        rule: config.defaults,
        rules: config.metrics.iter().map(|m| (m.name, m.rule)).collect(),
        metrics: Vec::new(),
        bootstrap: config.bootstrap,
        cross_hardware: force,
    };
    let comparison = compare::compare(base, current, &options)?;
    let regressed = comparison.count(Verdict::Regressed);
    let not_enough_data = comparison.count(Verdict::NotEnoughData);
    let total = comparison.metrics().count();
    if total > 0 && not_enough_data == total {
        let mut reasons: Vec<&str> = comparison
            .metrics()
            .map(|(_, m)| m.assessment.reason.as_str())
            .collect();
        reasons.sort_unstable();
        reasons.dedup();
        return Err(GateError::NoData {
            reasons: reasons.join("; "),
        });
    }
    Ok(GateOutcome {
        passed: regressed == 0,
        regressed,
        improved: comparison.count(Verdict::Improved),
        within_noise: comparison.count(Verdict::WithinNoise),
        not_enough_data,
        forced_differences: if force { differences } else { Vec::new() },
        comparison,
    })
}
