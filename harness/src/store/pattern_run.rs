//! One line of `loads.jsonl`, a [`PatternRun`]: what a whole load pattern did (one repetition
//! of a load case). Its requests are lines of `measurements.jsonl` that point back to it
//! (`load.run_t_s`, a [`super::PatternSlot`]).

use std::collections::BTreeMap;

use bench_workloads::load::{LoadPattern, LoadTimeline, Stop};
use serde::{Deserialize, Serialize};

use super::metrics::TextMetrics;
use super::record::{Record, Status};
use super::Header;
use crate::plan::Case;
use crate::power::MeasurementEnergy;
use crate::stats::sustained::{sustained, Decode, Sustained};
use crate::stats::Summary;

/// File of a run folder holding one [`PatternRun`] per line (a stored name: it keeps the
/// name it had before the type was called for what it holds).
pub const PATTERN_RUNS: &str = "loads.jsonl";

/// One repetition of a load case, summarized over its measured (non-warmup) requests.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PatternRun {
    /// Which case and repetition, and when the pattern started (its requests carry its
    /// `t_start_s` as `load.run_t_s`).
    #[serde(flatten)]
    pub header: Header,
    /// The pattern as run.
    pub pattern: LoadPattern,
    /// `ok` when the pattern ran (some requests may still have failed), `error` when it could
    /// not run at all.
    pub status: Status,
    /// Why the pattern could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Warmup requests sent first (not stored, not counted below).
    pub warmup_sent: u32,
    /// Measured requests sent.
    pub sent: u32,
    /// Measured requests that finished.
    pub ok: u32,
    /// Measured requests that failed, per kind of failure.
    pub errors: BTreeMap<String, u32>,
    /// The message of the first measured request that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Seconds from the first measured request's send to the last one's end.
    pub duration_s: f64,
    /// Requests per second the pattern asked for (open loop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_rate_rps: Option<f64>,
    /// Requests per second bench really sent: (sent − 1) / (last send − first send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_rate_rps: Option<f64>,
    /// Finished requests per second: ok / `duration_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_throughput_rps: Option<f64>,
    /// Generated tokens of finished requests per second of `duration_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tps: Option<f64>,
    /// Schedule lag of the measured requests (seconds from due to sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag_s: Option<Summary>,
    /// Time the measured requests waited in bench's queue for a free slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_s: Option<Summary>,
    /// CPU seconds bench's process used while the pattern ran (all its threads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cpu_s: Option<f64>,
    /// CPU seconds of the one thread that sent and read every request (Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_thread_cpu_s: Option<f64>,
    /// `client_cpu_s` per 1,000 generated tokens of finished requests: what measuring costs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cpu_s_per_1k_tokens: Option<f64>,
    /// Energy over `duration_s`, when power was sampled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy: Option<MeasurementEnergy>,
    /// Energy over `duration_s` / generated tokens of finished requests, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_output_token: Option<f64>,
    /// A pattern that ran for a duration (a soak): throughput over time and its drop from the
    /// first to the last window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sustained: Option<Sustained>,
    /// A probe of a rate search (`rate = "search"`): its place in the search and what it
    /// found. Absent from other patterns, and from runs stored before searches existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<SearchMark>,
}

/// What a stored pattern run adds when it is one probe of a rate search.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct SearchMark {
    /// 0-based place among the search's probes, in the order measured.
    pub probe: u32,
    /// The share of its measured requests that met the workload's `slo`.
    pub attainment: f64,
    /// Whether the search ended after this probe: the repetition is then done (a search
    /// interrupted before its last probe carries on from its stored probes on `--resume`).
    pub last: bool,
}

impl PatternRun {
    /// A pattern that could not run at all.
    pub fn failed(
        case: &Case,
        pattern: LoadPattern,
        repetition: u32,
        started_at: String,
        t_start_s: f64,
        error: String,
    ) -> Self {
        Self {
            header: Header::of(case, repetition, started_at, t_start_s),
            pattern,
            status: Status::Error,
            error: Some(error),
            warmup_sent: 0,
            sent: 0,
            ok: 0,
            errors: BTreeMap::new(),
            first_error: None,
            duration_s: 0.0,
            offered_rate_rps: pattern.arrival.rate(),
            achieved_rate_rps: None,
            request_throughput_rps: None,
            output_tps: None,
            lag_s: None,
            queue_s: None,
            client_cpu_s: None,
            network_thread_cpu_s: None,
            client_cpu_s_per_1k_tokens: None,
            energy: None,
            j_per_output_token: None,
            sustained: None,
            search: None,
        }
    }

    /// Record what the pattern cost bench in CPU time.
    pub fn with_client_cost(mut self, timeline: &LoadTimeline, output_tokens: u64) -> Self {
        self.client_cpu_s = timeline.process_cpu_s;
        self.network_thread_cpu_s = timeline.network_cpu_s;
        self.client_cpu_s_per_1k_tokens = timeline
            .process_cpu_s
            .filter(|_| output_tokens > 0)
            .map(|cpu| cpu * 1000.0 / output_tokens as f64);
        self
    }

    /// Summarize a pattern that ran, from its measured requests' records.
    pub fn summarize(
        case: &Case,
        pattern: LoadPattern,
        repetition: u32,
        started_at: String,
        t_start_s: f64,
        warmup_sent: u32,
        requests: &[Record],
    ) -> Self {
        let mut run = Self::failed(
            case,
            pattern,
            repetition,
            started_at,
            t_start_s,
            String::new(),
        );
        run.status = Status::Ok;
        run.error = None;
        run.warmup_sent = warmup_sent;
        run.sent = requests.len() as u32;
        for r in requests {
            match r.status {
                Status::Ok => run.ok += 1,
                Status::Error => {
                    if run.first_error.is_none() {
                        run.first_error = r.error.clone();
                    }
                    let kind = r.error_kind.clone().unwrap_or_else(|| "other".into());
                    *run.errors.entry(kind).or_default() += 1;
                }
            }
        }
        let sends: Vec<f64> = requests.iter().map(|r| r.header.t_start_s).collect();
        let first = sends.iter().copied().fold(f64::INFINITY, f64::min);
        let last_send = sends.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let last_end = requests
            .iter()
            .map(|r| r.header.t_start_s + figure(r, |m| m.e2e_s))
            .fold(f64::NEG_INFINITY, f64::max);
        if requests.is_empty() {
            return run;
        }
        run.duration_s = last_end - first;
        if requests.len() >= 2 && last_send > first {
            run.achieved_rate_rps = Some((requests.len() - 1) as f64 / (last_send - first));
        }
        if run.duration_s > 0.0 {
            let output: u64 = requests
                .iter()
                .filter(|r| r.status == Status::Ok)
                .map(|r| r.output_tokens)
                .sum();
            run.request_throughput_rps = Some(f64::from(run.ok) / run.duration_s);
            run.output_tps = Some(output as f64 / run.duration_s);
        }
        let of = |f: fn(&super::PatternSlot) -> f64| {
            let values: Vec<f64> = requests
                .iter()
                .filter_map(|r| r.pattern_slot.as_ref().map(f))
                .collect();
            Summary::of(&values)
        };
        run.lag_s = of(|l| l.lag_s);
        run.queue_s = of(|l| l.queue_s);
        if matches!(run.pattern.stop, Stop::DurationS(_)) {
            let decodes: Vec<Decode> = requests
                .iter()
                .filter(|r| r.status == Status::Ok)
                .map(|r| {
                    let end_s = r.header.t_start_s + figure(r, |m| m.e2e_s);
                    Decode {
                        start_s: (r.header.t_start_s + figure(r, |m| m.ttft_s)).min(end_s),
                        end_s,
                        tokens: r.output_tokens as f64,
                    }
                })
                .collect();
            run.sustained = sustained(&decodes, first, last_end);
        }
        run
    }

    /// The span the pattern's energy covers, on the run clock: first measured send to last end.
    pub fn span<'a>(&self, requests: impl IntoIterator<Item = &'a Record>) -> Option<(f64, f64)> {
        let first = requests
            .into_iter()
            .map(|r| r.header.t_start_s)
            .reduce(f64::min)?;
        Some((first, first + self.duration_s))
    }

    /// Attach energy over the pattern and derive joules per generated token.
    pub fn with_energy(mut self, energy: Option<MeasurementEnergy>, output_tokens: u64) -> Self {
        self.j_per_output_token = energy
            .as_ref()
            .and_then(|e| e.headline_phase("total"))
            .filter(|_| output_tokens > 0)
            .map(|p| p.joules / output_tokens as f64);
        self.energy = energy;
        self
    }
}

/// A text figure of a request, 0 where it has none.
fn figure(r: &Record, of: fn(&TextMetrics) -> Option<f64>) -> f64 {
    r.metrics.text.as_ref().and_then(of).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Metrics, PatternSlot, TextMetrics};
    use bench_workloads::load::{Arrival, Stop};

    fn case() -> Case {
        let mut case = Case {
            id: "t/w/p8-g4-r2".into(),
            ..Case::example("t", "w", 1)
        };
        case.text_mut().params = crate::plan::LlmParams {
            prompt_tokens: 8,
            gen_tokens: 4,
            concurrency: 0,
            rate_rps: Some(2.0),
            depth: 0,
            turns: 0,
        };
        case
    }

    #[test]
    fn rates_and_throughput_follow_their_definitions() {
        let c = case();
        let pattern = LoadPattern {
            arrival: Arrival::Constant { rate: 2.0 },
            concurrency: None,
            stop: Stop::Requests(3),
            warmup_requests: 1,
        };
        // Sent at 10.0, 10.5 and 11.0 s; the first two take 2 s, the third fails after 0.5 s.
        let request = |i: u32, t: f64, ok: bool| Record {
            status: if ok { Status::Ok } else { Status::Error },
            error_kind: (!ok).then(|| "status".to_string()),
            output_tokens: if ok { 4 } else { 0 },
            metrics: Metrics::of_text(TextMetrics {
                e2e_s: Some(if ok { 2.0 } else { 0.5 }),
                ..TextMetrics::default()
            }),
            pattern_slot: Some(PatternSlot {
                run_t_s: 9.0,
                index: i + 1,
                scheduled_s: f64::from(i) * 0.5,
                queue_s: 0.0,
                lag_s: 0.001 * f64::from(i + 1),
            }),
            ..Record::failed(&c, 0, String::new(), t, String::new())
        };
        let requests = [
            request(0, 10.0, true),
            request(1, 10.5, true),
            request(2, 11.0, false),
        ];
        let run = PatternRun::summarize(&c, pattern, 0, String::new(), 9.0, 1, &requests);
        assert_eq!((run.sent, run.ok, run.warmup_sent), (3, 2, 1));
        assert_eq!(run.errors.get("status"), Some(&1));
        // Last end is 10.5 + 2 = 12.5 s; first send 10.0 s.
        assert!((run.duration_s - 2.5).abs() < 1e-12);
        assert_eq!(run.offered_rate_rps, Some(2.0));
        assert!((run.achieved_rate_rps.unwrap() - 2.0).abs() < 1e-12);
        assert!((run.request_throughput_rps.unwrap() - 0.8).abs() < 1e-12);
        assert!((run.output_tps.unwrap() - 8.0 / 2.5).abs() < 1e-12);
        let lag = run.lag_s.unwrap();
        assert!((lag.max - 0.003).abs() < 1e-12 && (lag.min - 0.001).abs() < 1e-12);
        assert_eq!(run.span(&requests), Some((10.0, 12.5)));
    }
}

#[cfg(test)]
mod stored_before_searches {
    use super::*;

    #[test]
    fn a_pattern_line_without_a_search_mark_still_reads() {
        let case = crate::plan::Case::example("t", "w", 1);
        let pattern = bench_workloads::load::LoadPattern {
            arrival: bench_workloads::load::Arrival::Constant { rate: 2.0 },
            concurrency: None,
            stop: bench_workloads::load::Stop::Requests(3),
            warmup_requests: 0,
        };
        let run = PatternRun::failed(&case, pattern, 0, String::new(), 0.0, "x".into());
        let line = serde_json::to_string(&run).unwrap();
        assert!(!line.contains("search"), "{line}");
        let back: PatternRun = serde_json::from_str(&line).unwrap();
        assert_eq!(back.search, None);
        assert_eq!(back, run);
    }
}
