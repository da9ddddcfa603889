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
    /// Repetitions whose every attempt failed.
    pub errors: usize,
    /// Measurements taken under thermal pressure, throttling or on battery (see each record's
    /// `energy.flags`).
    pub flagged: usize,
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

/// Summaries of every planned case, in plan order, over the `ok` records (the run store
/// never holds two `ok` records of one repetition).
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
            // A repetition that failed and was measured later by `--resume` is not a failure.
            let failed: std::collections::BTreeSet<u32> = mine
                .iter()
                .filter(|r| r.status == Status::Error)
                .map(|r| r.repetition)
                .filter(|rep| !ok.iter().any(|r| r.repetition == *rep))
                .collect();
            let flagged = ok
                .iter()
                .filter(|r| r.energy.as_ref().is_some_and(|e| !e.flags.is_empty()))
                .count();
            CaseSummary {
                case: case.clone(),
                ok: ok.len(),
                errors: failed.len(),
                flagged,
                metrics,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::LlmParams;
    use crate::store::Metrics;

    fn case() -> Case {
        Case {
            id: "t/w/p8-g2-c1".into(),
            target: "t".into(),
            workload: "w".into(),
            params: LlmParams {
                prompt_tokens: 8,
                gen_tokens: 2,
                concurrency: 1,
            },
            warmup: 0,
            repetitions: 3,
        }
    }

    #[test]
    fn a_failure_measured_later_is_not_counted_and_metrics_use_ok_records() {
        let c = case();
        let at = String::new();
        let ok = |rep, ttft| Record {
            metrics: Metrics {
                ttft_s: Some(ttft),
                ..Metrics::default()
            },
            status: Status::Ok,
            error: None,
            ..Record::failed(&c, rep, at.clone(), 0.0, String::new())
        };
        let records = vec![
            ok(0, 1.0),
            Record::failed(&c, 1, at.clone(), 0.0, "boom".into()),
            ok(1, 3.0),
            Record::failed(&c, 2, at.clone(), 0.0, "boom".into()),
        ];
        let plan = Plan {
            cases: vec![c.clone()],
        };
        let s = &summarize(&plan, &records)[0];
        assert_eq!((s.ok, s.errors), (2, 1));
        let ttft = s.metric("ttft_s").unwrap();
        assert_eq!((ttft.n, ttft.median), (2, 2.0));
        assert!(s.metric("decode_tps").is_none());
    }
}
