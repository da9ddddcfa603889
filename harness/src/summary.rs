//! Per-case summaries of a run's measurements.

use serde::Serialize;

use crate::metrics::{Metric, LLM_METRICS};
use crate::plan::{Case, Plan};
use crate::stats::Summary;
use crate::store::{Record, Status};

/// One case's results.
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    /// The case as planned.
    pub case: Case,
    /// Measurements with status `ok`.
    pub ok: usize,
    /// Measurements with status `error`.
    pub errors: usize,
    /// Per metric, in [`LLM_METRICS`] order; metrics with no value are left out.
    pub metrics: Vec<MetricSummary>,
}

/// One metric of one case.
#[derive(Debug, Clone, Serialize)]
pub struct MetricSummary {
    /// Metric name.
    pub name: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// The statistics.
    #[serde(flatten)]
    pub summary: Summary,
}

impl CaseSummary {
    /// The summary of metric `name`, if it has values.
    pub fn metric(&self, name: &str) -> Option<&Summary> {
        self.metrics
            .iter()
            .find(|m| m.name == name)
            .map(|m| &m.summary)
    }
}

/// Summaries of every planned case, in plan order. For a repetition stored more than once
/// (not expected), the last ok line wins.
pub fn summarize(plan: &Plan, records: &[Record]) -> Vec<CaseSummary> {
    plan.cases
        .iter()
        .map(|case| {
            let mine: Vec<&Record> = records.iter().filter(|r| r.case == case.id).collect();
            let ok: Vec<&Record> = mine
                .iter()
                .copied()
                .filter(|r| r.status == Status::Ok)
                .collect();
            let metrics = LLM_METRICS
                .iter()
                .filter_map(|m: &Metric| {
                    let values: Vec<f64> = ok.iter().flat_map(|r| (m.values)(r)).collect();
                    Summary::of(&values).map(|summary| MetricSummary {
                        name: m.name,
                        unit: m.unit,
                        summary,
                    })
                })
                .collect();
            CaseSummary {
                case: case.clone(),
                ok: ok.len(),
                errors: mine.len() - ok.len(),
                metrics,
            }
        })
        .collect()
}
