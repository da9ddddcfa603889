//! The gate file (`ci/gate.toml`): which metrics `bench gate` checks, how much change each
//! may show, and at what significance.
//!
//! ```toml
//! [defaults]
//! alpha = 0.05          # significance level of the one-sided Mann-Whitney U test
//! max_change_pct = 5.0  # allowed change in the harmful direction, percent
//! min_repetitions = 5   # fewer on either side: "not enough data", not a guess
//!
//! [metrics.ttft_s]      # gated with the defaults
//! [metrics.decode_tps]
//! max_change_pct = 3.0  # per-metric override
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::metrics;
use crate::stats::bootstrap::BootstrapConfig;
use crate::stats::verdict::{Rule, Sidedness};
use crate::stats::Better;
use crate::suite::Problem;

/// Metrics the gate checks when the gate file names none: the headline figure of each kind
/// of workload.
pub const DEFAULT_METRICS: &[&str] = &[
    "ttft_s",
    "prefill_tps",
    "decode_tps",
    "e2e_s",
    "output_tps",
    "image_s",
    "step_s",
    "j_per_output_token",
    "j_per_image",
];

/// A gate file, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct GateConfig {
    /// The rule of metrics that set nothing of their own.
    pub defaults: Rule,
    /// The bootstrap of the ratio intervals.
    pub bootstrap: BootstrapConfig,
    /// The gated metrics, in the order given.
    pub metrics: Vec<GatedMetric>,
}

/// One gated metric and its rule.
#[derive(Debug, Clone, PartialEq)]
pub struct GatedMetric {
    /// Metric name (see docs/metrics.md).
    pub name: &'static str,
    /// Its direction.
    pub better: Better,
    /// When a change of it fails the gate.
    pub rule: Rule,
}

/// Why a gate file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum GateConfigError {
    /// The file could not be read.
    #[error("cannot read gate file {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Its content is wrong.
    #[error("{0}")]
    Invalid(Box<Problem>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    metrics: BTreeMap<Spanned<String>, RawRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    alpha: Option<Spanned<f64>>,
    max_change_pct: Option<Spanned<f64>>,
    min_repetitions: Option<Spanned<usize>>,
    resamples: Option<Spanned<usize>>,
    confidence: Option<Spanned<f64>>,
    seed: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    alpha: Option<Spanned<f64>>,
    max_change_pct: Option<Spanned<f64>>,
    min_repetitions: Option<Spanned<usize>>,
}

impl Default for GateConfig {
    fn default() -> Self {
        let defaults = default_rule();
        Self {
            defaults,
            bootstrap: BootstrapConfig::default(),
            metrics: DEFAULT_METRICS
                .iter()
                .filter_map(|name| gated(name, defaults))
                .collect(),
        }
    }
}

/// The gate's rule when the file sets nothing: 5 % at α = 0.05, one-sided, 5 repetitions.
fn default_rule() -> Rule {
    Rule {
        alpha: 0.05,
        max_change_pct: 5.0,
        min_repetitions: 5,
        alternative: Sidedness::Harmful,
    }
}

fn gated(name: &str, rule: Rule) -> Option<GatedMetric> {
    metrics::all()
        .find(|(n, _)| *n == name)
        .map(|(name, better)| GatedMetric { name, better, rule })
}

impl GateConfig {
    /// Read and check the gate file at `path`.
    pub fn load(path: &Path) -> Result<Self, GateConfigError> {
        let source = std::fs::read_to_string(path).map_err(|source| GateConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&source, path)
    }

    /// Parse gate-file text; `file` names it in errors.
    pub fn parse(source: &str, file: &Path) -> Result<Self, GateConfigError> {
        let problem = |span: std::ops::Range<usize>, message: String| {
            GateConfigError::Invalid(Box::new(Problem::at(file, source, span, message)))
        };
        let raw: RawGate = toml::from_str(source).map_err(|e| {
            GateConfigError::Invalid(Box::new(Problem::from_toml(file, source, &e)))
        })?;
        let mut defaults = default_rule();
        apply(&mut defaults, &raw.defaults.as_rule(), &problem)?;
        let mut bootstrap = BootstrapConfig::default();
        if let Some(r) = &raw.defaults.resamples {
            if *r.get_ref() < 100 {
                return Err(problem(
                    r.span(),
                    format!("resamples must be at least 100, not {}", r.get_ref()),
                ));
            }
            bootstrap.resamples = *r.get_ref();
        }
        if let Some(c) = &raw.defaults.confidence {
            let v = *c.get_ref();
            if !(v > 0.0 && v < 1.0) {
                return Err(problem(
                    c.span(),
                    format!("confidence is a level between 0 and 1 (such as 0.95), not {v}"),
                ));
            }
            bootstrap.confidence = v;
        }
        if let Some(seed) = raw.defaults.seed {
            bootstrap.seed = seed;
        }
        let mut metrics = Vec::new();
        for (name, raw_rule) in &raw.metrics {
            let mut rule = defaults;
            apply(&mut rule, raw_rule, &problem)?;
            let Some(metric) = gated(name.get_ref(), rule) else {
                let known: Vec<&str> = metrics::all().map(|(n, _)| n).collect();
                return Err(problem(
                    name.span(),
                    format!(
                        "unknown metric `{}`; metrics are: {}",
                        name.get_ref(),
                        known.join(", ")
                    ),
                ));
            };
            metrics.push(metric);
        }
        if raw.metrics.is_empty() {
            metrics = DEFAULT_METRICS
                .iter()
                .filter_map(|name| gated(name, defaults))
                .collect();
        }
        Ok(Self {
            defaults,
            bootstrap,
            metrics,
        })
    }
}

impl RawDefaults {
    fn as_rule(&self) -> RawRule {
        RawRule {
            alpha: self.alpha.clone(),
            max_change_pct: self.max_change_pct.clone(),
            min_repetitions: self.min_repetitions.clone(),
        }
    }
}

/// Overwrite `rule` with what `raw` sets, checking each value.
fn apply(
    rule: &mut Rule,
    raw: &RawRule,
    problem: &impl Fn(std::ops::Range<usize>, String) -> GateConfigError,
) -> Result<(), GateConfigError> {
    if let Some(a) = &raw.alpha {
        let v = *a.get_ref();
        if !(v > 0.0 && v <= 0.5) {
            return Err(problem(
                a.span(),
                format!(
                    "alpha is a significance level above 0 and at most 0.5 (such as 0.05), not {v}"
                ),
            ));
        }
        rule.alpha = v;
    }
    if let Some(c) = &raw.max_change_pct {
        let v = *c.get_ref();
        if !(v.is_finite() && v >= 0.0) {
            return Err(problem(
                c.span(),
                format!("max_change_pct is a percentage of 0 or more (such as 5.0), not {v}"),
            ));
        }
        rule.max_change_pct = v;
    }
    if let Some(n) = &raw.min_repetitions {
        let v = *n.get_ref();
        if v < 2 {
            return Err(problem(
                n.span(),
                format!("min_repetitions must be at least 2, not {v}"),
            ));
        }
        rule.min_repetitions = v;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<GateConfig, String> {
        GateConfig::parse(text, Path::new("ci/gate.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_overrides() {
        let g = parse(
            "[defaults]\nalpha = 0.01\nmax_change_pct = 4\nresamples = 2000\n\n\
             [metrics.ttft_s]\n[metrics.decode_tps]\nmax_change_pct = 2.5\n",
        )
        .unwrap();
        assert_eq!(g.bootstrap.resamples, 2000);
        let names: Vec<&str> = g.metrics.iter().map(|m| m.name).collect();
        assert_eq!(names, ["decode_tps", "ttft_s"]);
        assert_eq!(g.metrics[0].rule.max_change_pct, 2.5);
        assert_eq!(g.metrics[0].better, Better::Higher);
        assert_eq!(g.metrics[1].rule.max_change_pct, 4.0);
        assert_eq!(g.metrics[1].rule.alpha, 0.01);
        assert_eq!(g.metrics[1].rule.alternative, Sidedness::Harmful);
    }

    #[test]
    fn an_empty_file_gates_the_headline_metrics() {
        let g = parse("").unwrap();
        assert_eq!(g.metrics.len(), DEFAULT_METRICS.len());
        assert_eq!(g, GateConfig::default());
    }

    #[test]
    fn an_unknown_metric_is_named_with_its_line_and_the_list() {
        let e = parse("[metrics.ttft_s]\n\n[metrics.tfft_s]\n").unwrap_err();
        assert!(e.starts_with("ci/gate.toml:3:10: "), "{e}");
        assert!(e.contains("unknown metric `tfft_s`"), "{e}");
        assert!(e.contains("ttft_s, prefill_tps"), "{e}");
    }

    #[test]
    fn bad_values_and_keys_point_at_them() {
        let e = parse("[defaults]\nalpha = 1.5\n").unwrap_err();
        assert!(
            e.starts_with("ci/gate.toml:2:9: key `defaults.alpha`"),
            "{e}"
        );
        let e = parse("[metrics.ttft_s]\nthreshold = 5\n").unwrap_err();
        assert!(e.contains("ci/gate.toml:2:1"), "{e}");
        assert!(e.contains("unknown field `threshold`"), "{e}");
        let e = parse("[metrics.ttft_s]\nmin_repetitions = 1\n").unwrap_err();
        assert!(e.contains("at least 2"), "{e}");
    }

    #[test]
    fn a_key_past_tomls_dotted_key_limit_is_placed_on_its_line() {
        // toml gives this error no span; it used to be reported at 1:1.
        let e = parse(&format!(
            "[defaults]\nalpha = 0.05\n[{}]\n",
            vec!["m"; 85].join(".")
        ))
        .unwrap_err();
        assert!(e.starts_with("ci/gate.toml:3:1: "), "{e}");
        assert!(e.contains("recursion limit"), "{e}");
    }
}
