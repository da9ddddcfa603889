//! Comparisons and gate results written out: Markdown (for pull requests and
//! `$GITHUB_STEP_SUMMARY`), JUnit XML (for CI test reports) and JSON (for scripts). The
//! terminal table lives with the other tables in `crate::terminal`.

mod json;
mod junit;
pub mod markdown;

pub use json::Json;
pub use junit::Junit;
pub use markdown::Markdown;

use crate::compare::{Comparison, MetricComparison};
use crate::gate::GateOutcome;
use crate::roofline::RooflineChange;
use crate::units::{self, human, percent, significant};

/// A comparison, and the gate's outcome when it was a gate, to be written out.
#[derive(Debug, Clone, Copy)]
pub struct Verdicts<'a> {
    /// Every metric compared.
    pub comparison: &'a Comparison,
    /// The gate's counts and decision, for `bench gate`.
    pub gate: Option<&'a GateOutcome>,
    /// The roofline figures of the cases both runs have them for (shown, never gated).
    pub rooflines: &'a [RooflineChange],
}

/// `14.5 %` of a figure's ceiling, flagged when above it.
pub(crate) fn fraction(f: &crate::roofline::Fraction) -> String {
    let flag = if f.above_ceiling() {
        " (above its ceiling)"
    } else {
        ""
    };
    format!("{} %{flag}", significant(f.value() * 100.0))
}

/// One output format.
pub trait Exporter {
    /// The whole document.
    fn render(&self, verdicts: Verdicts) -> String;
}

/// Base and current medians of a metric, for people.
pub(crate) fn medians(m: &MetricComparison) -> (String, String) {
    let show = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| human(v, m.unit));
    (
        show(m.assessment.base_median),
        show(m.assessment.current_median),
    )
}

/// `×1.042 (0.981–1.102)`: the ratio of medians and its interval.
pub(crate) fn ratio(m: &MetricComparison) -> String {
    let Some(r) = m.assessment.ratio else {
        return "-".into();
    };
    match m.assessment.ratio_interval {
        Some(i) => format!("{} ({:.3}–{:.3})", units::ratio(r), i.low, i.high),
        None => units::ratio(r),
    }
}

/// The change in percent, `-` without one.
pub(crate) fn change(m: &MetricComparison) -> String {
    m.assessment.change_pct.map_or_else(|| "-".into(), percent)
}

/// The p-value, `-` without a test.
pub(crate) fn p_value(m: &MetricComparison) -> String {
    m.assessment.p_value.map_or_else(|| "-".into(), significant)
}
