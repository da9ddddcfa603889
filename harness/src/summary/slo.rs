//! Service-level objectives: which requests met a workload's `slo`, the share that did
//! (`slo_attainment`) and, for load patterns, the throughput of those that did (goodput).
//!
//! A request passes when it succeeded and meets every bound given; a failed request, or one
//! that lacks a bounded figure (no answer token for `ttfat_s`), does not. Per repetition:
//! `slo_attainment` = passing requests / requests (for a single-request case each repetition
//! is one request, so the value is 1 or 0 and the mean over repetitions is the attainment);
//! `goodput_rps` = passing requests / the pattern's duration; `goodput_tps` = their output
//! tokens / the pattern's duration.

use crate::metrics::SLO_METRICS;
use crate::stats::{quantile_sorted, Summary};
use crate::store::Record;
use crate::suite::Slo;

use super::{MetricSummary, Repetition, RepetitionStats};
use crate::stats::bootstrap::BootstrapConfig;

/// The figure of `r` a bound named `name` holds.
fn figure(r: &Record, name: &str) -> Option<f64> {
    let m = r.metrics.text.as_ref();
    match name {
        "ttft_s" => m?.ttft_s,
        "ttfat_s" => m?.ttfat_s,
        "tpot_s" => m?.tpot_s,
        "e2e_s" => m?.e2e_s,
        "itl_p99_s" => {
            let mut gaps: Vec<f64> = r.itl_s.iter().copied().filter(|g| g.is_finite()).collect();
            gaps.sort_by(f64::total_cmp);
            (!gaps.is_empty()).then(|| quantile_sorted(&gaps, 0.99))
        }
        _ => None,
    }
}

/// Whether a successful request `r` meets every bound of `slo`.
pub fn meets(slo: &Slo, r: &Record) -> bool {
    slo.bounds()
        .iter()
        .all(|(name, bound)| figure(r, name).is_some_and(|v| v <= *bound))
}

/// The SLO metrics of a case's repetitions; `failed` are repetitions of a single-request case
/// whose request failed (load patterns count their failed requests themselves).
pub(super) fn summaries(
    slo: &Slo,
    repetitions: &[Repetition],
    failed: &[u32],
    cfg: &BootstrapConfig,
) -> Vec<MetricSummary> {
    let mut attainment: Vec<(f64, u32)> = Vec::new();
    let mut goodput_rps: Vec<(f64, u32)> = Vec::new();
    let mut goodput_tps: Vec<(f64, u32)> = Vec::new();
    for rep in repetitions {
        let passing: Vec<&&Record> = rep.ok.iter().filter(|r| meets(slo, r)).collect();
        match rep.pattern {
            Some(pattern) => {
                if pattern.sent > 0 {
                    attainment.push((passing.len() as f64 / f64::from(pattern.sent), rep.number));
                }
                if pattern.duration_s > 0.0 {
                    let tokens: u64 = passing.iter().map(|r| r.output_tokens).sum();
                    goodput_rps.push((passing.len() as f64 / pattern.duration_s, rep.number));
                    goodput_tps.push((tokens as f64 / pattern.duration_s, rep.number));
                }
            }
            None => attainment.push((if passing.is_empty() { 0.0 } else { 1.0 }, rep.number)),
        }
    }
    attainment.extend(failed.iter().map(|&n| (0.0, n)));
    attainment.sort_by_key(|(_, n)| *n);
    // In the order of SLO_METRICS, which names them for compare and gate.
    SLO_METRICS
        .iter()
        .zip([attainment, goodput_rps, goodput_tps])
        .filter_map(|(&(name, unit, better), pairs)| {
            let (values, numbers): (Vec<f64>, Vec<u32>) = pairs.into_iter().unzip();
            Some(MetricSummary {
                name,
                unit,
                better,
                summary: Summary::of(&values)?,
                repetitions: RepetitionStats::of(values, numbers, cfg),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Case;

    fn request(ttft: f64, tpot: f64, itl: Vec<f64>) -> Record {
        let case = Case::example("t", "w", 1);
        let mut r = Record::failed(&case, 0, String::new(), 0.0, String::new());
        r.metrics.text.get_or_insert_default().ttft_s = Some(ttft);
        r.metrics.text.get_or_insert_default().tpot_s = Some(tpot);
        r.itl_s = itl;
        r
    }

    #[test]
    fn a_request_passes_only_within_every_bound() {
        let slo = Slo {
            ttft_s: Some(0.5),
            tpot_s: Some(0.05),
            ..Slo::default()
        };
        assert!(meets(&slo, &request(0.4, 0.04, vec![0.04])));
        assert!(!meets(&slo, &request(0.6, 0.04, vec![0.04])));
        assert!(!meets(&slo, &request(0.4, 0.06, vec![0.06])));
        // A bound on a figure the request lacks fails it.
        let answer = Slo {
            ttfat_s: Some(1.0),
            ..Slo::default()
        };
        assert!(!meets(&answer, &request(0.4, 0.04, vec![])));
        // The 99th percentile of the gaps: one slow gap in a hundred passes, two do not.
        let p99 = Slo {
            itl_p99_s: Some(0.1),
            ..Slo::default()
        };
        let mut gaps = vec![0.05; 200];
        gaps[0] = 1.0;
        assert!(meets(&p99, &request(0.1, 0.05, gaps.clone())));
        gaps[1] = 1.0;
        gaps[2] = 1.0;
        assert!(!meets(&p99, &request(0.1, 0.05, gaps)));
    }
}

#[cfg(test)]
mod gateable {
    #[test]
    fn slo_metrics_are_known_to_compare_and_gate() {
        for name in ["slo_attainment", "goodput_rps", "goodput_tps"] {
            assert!(crate::metrics::all().any(|(n, _)| n == name), "{name}");
        }
    }
}
