//! Rate-search cases (`rate = "search"`): the knee of each search and the curve of its probes.
//!
//! The knee (`max_rate_rps`) is the highest offered rate whose probe met the target SLO
//! attainment; each repetition is one search, so the metric has one value per repetition.
//! The curve has one point per probe: offered rate, what the server achieved (finished
//! requests and output tokens per second), latency percentiles of the finished requests and
//! the attainment.

use serde::Serialize;

use super::{CaseSummary, MetricSummary, RepetitionStats};
use crate::metrics::SEARCH_METRICS;
use crate::plan::Case;
use crate::rate_search::{self, Probe, SearchSpec, Step, Stop};
use crate::stats::bootstrap::BootstrapConfig;
use crate::stats::{quantile_sorted, Summary};
use crate::store::{PatternRun, Record, SearchMark, Status};

/// What a search case found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchSummary {
    /// The share of requests that had to meet the SLO for a rate to pass.
    pub target_attainment: f64,
    /// The knee: the median over repetitions of each search's highest passing rate
    /// (none when no rate passed).
    pub knee_rps: Option<f64>,
    /// Each search.
    pub repetitions: Vec<SearchRepetition>,
    /// Every probe of every search, by repetition then in the order measured.
    pub curve: Vec<CurvePoint>,
}

/// One search (one repetition of a search case).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchRepetition {
    /// 0-based repetition.
    pub repetition: u32,
    /// Its highest passing rate.
    pub knee_rps: Option<f64>,
    /// Probes it measured.
    pub probes: usize,
    /// Why it ended; none while it is unfinished (interrupted).
    pub stopped: Option<Stop>,
}

/// One probe of a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurvePoint {
    /// The search it belongs to.
    pub repetition: u32,
    /// Its place in that search.
    pub probe: u32,
    /// Requests per second asked for.
    pub offered_rps: f64,
    /// Finished requests per second (`request_throughput_rps`).
    pub throughput_rps: Option<f64>,
    /// Output tokens of finished requests per second.
    pub output_tps: Option<f64>,
    /// Time to first token of finished requests: median, 90th and 99th percentile, seconds.
    pub ttft_p50_s: Option<f64>,
    /// See `ttft_p50_s`.
    pub ttft_p90_s: Option<f64>,
    /// See `ttft_p50_s`.
    pub ttft_p99_s: Option<f64>,
    /// End-to-end latency of finished requests: median, 90th and 99th percentile, seconds.
    pub e2e_p50_s: Option<f64>,
    /// See `e2e_p50_s`.
    pub e2e_p90_s: Option<f64>,
    /// See `e2e_p50_s`.
    pub e2e_p99_s: Option<f64>,
    /// The share of its requests that met the SLO.
    pub attainment: f64,
    /// Whether that share reached the target.
    pub passed: bool,
}

/// The percentiles `qs` of the values `f` gives for `records`.
fn percentiles(
    records: &[&Record],
    f: fn(&Record) -> Option<f64>,
    qs: [f64; 3],
) -> [Option<f64>; 3] {
    let mut values: Vec<f64> = records
        .iter()
        .filter_map(|r| f(r))
        .filter(|v| v.is_finite())
        .collect();
    values.sort_by(f64::total_cmp);
    qs.map(|q| (!values.is_empty()).then(|| quantile_sorted(&values, q)))
}

fn point(spec: &SearchSpec, run: &PatternRun, mark: SearchMark, ok: &[&Record]) -> CurvePoint {
    let [ttft_p50_s, ttft_p90_s, ttft_p99_s] = percentiles(
        ok,
        |r| r.metrics.text.as_ref().and_then(|m| m.ttft_s),
        [0.5, 0.9, 0.99],
    );
    let [e2e_p50_s, e2e_p90_s, e2e_p99_s] = percentiles(
        ok,
        |r| r.metrics.text.as_ref().and_then(|m| m.e2e_s),
        [0.5, 0.9, 0.99],
    );
    CurvePoint {
        repetition: run.header.repetition,
        probe: mark.probe,
        offered_rps: run.offered_rate_rps.unwrap_or_default(),
        throughput_rps: run.request_throughput_rps,
        output_tps: run.output_tps,
        ttft_p50_s,
        ttft_p90_s,
        ttft_p99_s,
        e2e_p50_s,
        e2e_p90_s,
        e2e_p99_s,
        attainment: mark.attainment,
        passed: mark.attainment >= spec.target_attainment,
    }
}

/// The summary of search case `case`: its probes are the `ok` lines of `loads` that carry a
/// search mark, their requests the lines of `records` that point at them.
pub(super) fn summarize(
    case: &Case,
    spec: &SearchSpec,
    records: &[Record],
    pattern_runs: &[PatternRun],
    cfg: &BootstrapConfig,
) -> CaseSummary {
    let mut runs: Vec<(&PatternRun, SearchMark)> = pattern_runs
        .iter()
        .filter(|l| l.header.case == case.id && l.status == Status::Ok)
        .filter_map(|l| Some((l, l.search?)))
        .collect();
    runs.sort_by_key(|(l, mark)| (l.header.repetition, mark.probe));
    let of_run = |l: &PatternRun, r: &Record| {
        r.header.case == case.id
            && r.header.repetition == l.header.repetition
            && r.pattern_slot
                .as_ref()
                .is_some_and(|x| x.run_t_s == l.header.t_start_s)
    };
    let mut all_ok: Vec<&Record> = Vec::new();
    let mut errors = 0;
    let mut errors_by_kind = std::collections::BTreeMap::new();
    let mut curve = Vec::new();
    for (run, mark) in &runs {
        let mine: Vec<&Record> = records.iter().filter(|r| of_run(run, r)).collect();
        let ok: Vec<&Record> = mine
            .iter()
            .copied()
            .filter(|r| r.status == Status::Ok)
            .collect();
        all_ok.extend(&ok);
        for r in mine.iter().filter(|r| r.status == Status::Error) {
            errors += 1;
            let kind = r.error_kind.clone().unwrap_or_else(|| "other".into());
            *errors_by_kind.entry(kind).or_default() += 1;
        }
        curve.push(point(spec, run, *mark, &ok));
    }
    let mut repetitions: Vec<SearchRepetition> = Vec::new();
    for (run, _) in &runs {
        if repetitions
            .last()
            .is_some_and(|r| r.repetition == run.header.repetition)
        {
            continue;
        }
        let probes: Vec<Probe> = runs
            .iter()
            .filter(|(l, _)| l.header.repetition == run.header.repetition)
            .map(|(l, mark)| Probe {
                rate_rps: l.offered_rate_rps.unwrap_or_default(),
                attainment: mark.attainment,
                requests: l.sent.saturating_add(l.warmup_sent),
                duration_s: l.duration_s,
            })
            .collect();
        repetitions.push(SearchRepetition {
            repetition: run.header.repetition,
            knee_rps: rate_search::knee(spec, &probes),
            probes: probes.len(),
            stopped: match rate_search::next(spec, &probes) {
                Step::Done(stop) => Some(stop),
                Step::Probe(_) => None,
            },
        });
    }
    let (values, numbers): (Vec<f64>, Vec<u32>) = repetitions
        .iter()
        .filter_map(|r| Some((r.knee_rps?, r.repetition)))
        .unzip();
    let knee = Summary::of(&values);
    let metrics = SEARCH_METRICS
        .iter()
        .filter_map(|&(name, unit, better)| {
            Some(MetricSummary {
                name,
                unit,
                better,
                summary: knee?,
                repetitions: RepetitionStats::of(values.clone(), numbers.clone(), cfg),
            })
        })
        .collect();
    CaseSummary {
        case: case.clone(),
        ok: all_ok.len(),
        errors,
        errors_by_kind,
        patterns: Some(runs.len()),
        flagged: super::flagged(&all_ok),
        short_for_counter: super::short_for_counter(&all_ok),
        estimated_token_counts: super::estimated(&all_ok),
        tool: None,
        metrics,
        search: Some(SearchSummary {
            target_attainment: spec.target_attainment,
            knee_rps: knee.map(|k| k.median),
            repetitions,
            curve,
        }),
        turns: Vec::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::{Metrics, PatternSlot, TextMetrics};
    use bench_workloads::load::{Arrival, LoadPattern, Stop as Until};

    fn spec() -> SearchSpec {
        SearchSpec {
            target_attainment: 0.9,
            start_rps: 10.0,
            max_requests: 1000,
            max_s: 100.0,
            requests: Some(4),
            warmup_requests: 0,
        }
    }

    /// A probe at `rate` started at `t` whose requests took `e2e` seconds each.
    fn probe(
        case: &Case,
        index: u32,
        rate: f64,
        t: f64,
        e2e: &[f64],
        attainment: f64,
    ) -> (PatternRun, Vec<Record>) {
        let pattern = LoadPattern {
            arrival: Arrival::Poisson { rate, seed: 0 },
            concurrency: None,
            stop: Until::Requests(e2e.len() as u32),
            warmup_requests: 0,
        };
        let records: Vec<Record> = e2e
            .iter()
            .enumerate()
            .map(|(i, &e)| Record {
                status: Status::Ok,
                error: None,
                metrics: Metrics::of_text(TextMetrics {
                    e2e_s: Some(e),
                    ttft_s: Some(e / 2.0),
                    ..TextMetrics::default()
                }),
                pattern_slot: Some(PatternSlot {
                    run_t_s: t,
                    index: i as u32,
                    scheduled_s: 0.0,
                    queue_s: 0.0,
                    lag_s: 0.0,
                }),
                ..Record::failed(case, 0, String::new(), t + i as f64 * 0.1, String::new())
            })
            .collect();
        let mut run = PatternRun::summarize(case, pattern, 0, String::new(), t, 0, &records);
        run.search = Some(SearchMark {
            probe: index,
            attainment,
            last: false,
        });
        (run, records)
    }

    /// A search case of two probes: 10 req/s met the target, 20 req/s did not (25 % of its
    /// requests within the SLO), and the search is unfinished. The terminal's `search:` footer
    /// is tested on it.
    pub(crate) fn two_probe_summary() -> CaseSummary {
        let mut case = Case::example("t", "w", 1);
        case.text_mut().search = Some(spec());
        let (a, mut records) = probe(&case, 0, 10.0, 1.0, &[0.1, 0.2, 0.3, 0.4], 1.0);
        let (b, more) = probe(&case, 1, 20.0, 9.0, &[0.5, 2.0, 3.0, 4.0], 0.25);
        records.extend(more);
        summarize(
            &case,
            &spec(),
            &records,
            &[a, b],
            &BootstrapConfig::default(),
        )
    }

    #[test]
    fn the_knee_is_the_highest_passing_rate_and_each_probe_is_a_point_of_the_curve() {
        let s = two_probe_summary();
        let search = s.search.clone().unwrap();
        assert_eq!(search.knee_rps, Some(10.0));
        assert_eq!(s.metric("max_rate_rps").unwrap().median, 10.0);
        assert_eq!(search.curve.len(), 2);
        let (p0, p1) = (&search.curve[0], &search.curve[1]);
        assert_eq!((p0.offered_rps, p0.passed), (10.0, true));
        assert_eq!((p1.offered_rps, p1.passed), (20.0, false));
        // Type-7 quantiles of 0.1, 0.2, 0.3, 0.4.
        assert!((p0.e2e_p50_s.unwrap() - 0.25).abs() < 1e-12);
        assert!((p0.ttft_p50_s.unwrap() - 0.125).abs() < 1e-12);
        // 10 passed, 20 failed: the search bisects next, so it is unfinished.
        assert_eq!(search.repetitions[0].stopped, None);
        assert_eq!((s.ok, s.patterns), (8, Some(2)));
    }
}
