//! Command-line options shared by `bench compare` and `bench gate`.

use clap::{Args, ValueEnum};

use crate::export::{self, Exporter};
use crate::stats::bootstrap::BootstrapConfig;

/// The bootstrap of ratio and summary intervals.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Bootstrap resamples per interval.
    #[arg(long, default_value_t = BootstrapConfig::default().resamples)]
    resamples: usize,
    /// Confidence level of the intervals.
    #[arg(long, default_value_t = BootstrapConfig::default().confidence)]
    confidence: f64,
    /// Seed of the bootstrap (the same seed gives the same intervals).
    #[arg(long, default_value_t = BootstrapConfig::default().seed)]
    seed: u64,
}

impl StatsArgs {
    /// The bootstrap these options ask for, checked.
    pub fn bootstrap(&self) -> anyhow::Result<BootstrapConfig> {
        if self.resamples < 100 {
            anyhow::bail!("--resamples must be at least 100, not {}", self.resamples);
        }
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            anyhow::bail!(
                "--confidence is a level between 0 and 1 (such as 0.95), not {}",
                self.confidence
            );
        }
        Ok(BootstrapConfig {
            resamples: self.resamples,
            confidence: self.confidence,
            seed: self.seed,
        })
    }
}

/// Output formats of comparisons.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Aligned columns for the terminal.
    Table,
    /// Markdown (GitHub pull requests, issues, step summaries).
    Md,
    /// JSON, every figure unrounded.
    Json,
    /// JUnit XML, one test case per metric.
    Junit,
}

impl Format {
    /// The exporter of this format.
    pub fn exporter(self) -> Box<dyn Exporter> {
        match self {
            Self::Table => Box::new(crate::terminal::compare::Terminal),
            Self::Md => Box::new(export::Markdown),
            Self::Json => Box::new(export::Json),
            Self::Junit => Box::new(export::Junit),
        }
    }
}

/// Fail on metric names bench does not know, listing those it does.
pub fn check_metrics(names: &[String]) -> anyhow::Result<()> {
    for name in names {
        if !crate::metrics::all().any(|(n, _)| n == name) {
            let known: Vec<&str> = crate::metrics::all().map(|(n, _)| n).collect();
            anyhow::bail!("unknown metric `{name}`; metrics are: {}", known.join(", "));
        }
    }
    Ok(())
}
