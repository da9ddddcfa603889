//! Per-case summaries of a run's measurements: every value pooled, and one value per
//! repetition with bootstrap intervals and outlier flags.

pub mod conversation;
pub mod scaling;
pub mod search;
pub mod slo;

use serde::Serialize;

use std::collections::BTreeMap;

use crate::metrics::{Metric, LLM_METRICS, PATTERN_RUN_METRICS, TOOL_METRICS};

use crate::plan::{Case, Plan, TextWork};
use crate::stats::bootstrap::{self, BootstrapConfig, Interval, Statistic};
use crate::stats::outliers::{tukey, Outlier};
use crate::stats::{quantile_sorted, Summary};
use bench_workloads::own_benchmark::ToolTrial;

use crate::store::{PatternRun, Record, Status, StoredRun, ToolRun};

/// One case's results.
#[derive(Debug, Clone, Serialize)]
pub struct CaseSummary {
    /// The case as planned.
    pub case: Case,
    /// Measurements with status `ok` (for load cases: requests).
    pub ok: usize,
    /// Repetitions whose every attempt failed (for load cases: failed requests).
    pub errors: usize,
    /// Load cases: failed requests per kind of failure.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub errors_by_kind: BTreeMap<String, usize>,
    /// Load cases: pattern runs that finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patterns: Option<usize>,
    /// Measurements taken under thermal pressure, throttling or on battery (see each record's
    /// `energy.flags`).
    pub flagged: usize,
    /// Measurements shorter than [`COUNTER_PERIODS`](crate::power::COUNTER_PERIODS)
    /// updates of the headline rail's energy counter: their energy is rough (see each record's
    /// `counter_period_s`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub short_for_counter: usize,
    /// Measurements whose output token count is only the tokenizer's estimate (a server that
    /// reported no usage and did not stop for length): rates per token are estimates too.
    #[serde(skip_serializing_if = "is_zero")]
    pub estimated_token_counts: usize,
    /// The engine's own benchmark tool on the same work, compared with bench's figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<ToolComparison>,
    /// Per metric, in [`LLM_METRICS`] then [`PATTERN_RUN_METRICS`] order, then the tool's
    /// (`tool_prompt_tps`, `tool_generation_tps`, `tool_peak_memory_bytes`); metrics with no
    /// value are left out. A rate search has `max_rate_rps` alone.
    pub metrics: Vec<MetricSummary>,
    /// A rate search's knee and curve (`rate = "search"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<search::SearchSummary>,
    /// Conversations (`turns`): each turn's figures across the complete conversations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub turns: Vec<conversation::TurnSummary>,
}

/// One metric of one case.
#[derive(Debug, Clone, Serialize)]
pub struct MetricSummary {
    /// Metric name.
    pub name: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Whether lower or higher is better.
    pub better: crate::stats::Better,
    /// The statistics of every value (for per-request distributions such as `itl_s`, of all
    /// of them pooled).
    #[serde(flatten)]
    pub summary: Summary,
    /// Across repetitions, the unit bench repeats independently: intervals, outliers and the
    /// tests of `bench compare` use these, never pooled per-request values.
    pub repetitions: RepetitionStats,
}

/// A metric's spread across repetitions.
#[derive(Debug, Clone, Serialize)]
pub struct RepetitionStats {
    /// One value per repetition, in repetition order: the measurement's value, or for
    /// per-request distributions and load patterns, the median of that repetition's values.
    pub values: Vec<f64>,
    /// The 0-based repetition number of each value (as in `measurements.jsonl`).
    pub numbers: Vec<u32>,
    /// Bootstrap interval of the median of `values` (none below 2 repetitions).
    pub median_ci: Option<Interval>,
    /// Bootstrap interval of the mean of `values`.
    pub mean_ci: Option<Interval>,
    /// Values outside Tukey's fences (flagged, never dropped): index into `values`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outliers: Vec<(usize, Outlier)>,
}

impl RepetitionStats {
    /// Intervals and outlier flags of `values`, one per repetition numbered `numbers`.
    pub fn of(values: Vec<f64>, numbers: Vec<u32>, cfg: &BootstrapConfig) -> Self {
        let outliers = tukey(&values)
            .map(|(_, flags)| {
                flags
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, f)| f.map(|f| (i, f)))
                    .collect()
            })
            .unwrap_or_default();
        Self {
            median_ci: bootstrap::interval(&values, Statistic::Median, cfg),
            mean_ci: bootstrap::interval(&values, Statistic::Mean, cfg),
            outliers,
            values,
            numbers,
        }
    }
}

/// An engine's own benchmark (`mlx_lm.benchmark`) beside bench's measurement of the same case.
#[derive(Debug, Clone, Serialize)]
pub struct ToolComparison {
    /// The tool.
    pub tool: String,
    /// Its version.
    pub version: String,
    /// bench's median `prefill_tps` / the tool's median `prompt_tps`.
    pub prefill_ratio: Option<f64>,
    /// bench's median `decode_tps` / the tool's median `generation_tps`.
    pub decode_ratio: Option<f64>,
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

/// Per-case summaries of a stored run, in plan order (the figures of `summary.csv`), with
/// the engines' own benchmark results attached.
pub fn of_run(run: &StoredRun) -> Vec<CaseSummary> {
    of_run_with(run, &BootstrapConfig::default())
}

/// [`of_run`] with the bootstrap drawn by `cfg`.
pub fn of_run_with(run: &StoredRun, cfg: &BootstrapConfig) -> Vec<CaseSummary> {
    with_tools(
        &run.manifest.plan,
        &run.records,
        &run.loads,
        &run.tool_runs,
        cfg,
    )
}

/// [`summarize_with`], then the engines' own benchmark results of `tool_runs` attached
/// ([`attach_tools`]): a run's summaries, from its parts.
pub fn with_tools(
    plan: &Plan,
    records: &[Record],
    pattern_runs: &[PatternRun],
    tool_runs: &[ToolRun],
    cfg: &BootstrapConfig,
) -> Vec<CaseSummary> {
    let mut summaries = summarize_with(plan, records, pattern_runs, cfg);
    attach_tools(&mut summaries, tool_runs);
    summaries
}

/// Summaries of every planned case, in plan order, over the `ok` records (the run store
/// never holds two `ok` records of one repetition), with bootstrap intervals drawn by the
/// default [`BootstrapConfig`]. Requests of load patterns count only when their pattern
/// finished (`loads`): a pattern cut short by a crash is run again on resume.
pub fn summarize(plan: &Plan, records: &[Record], pattern_runs: &[PatternRun]) -> Vec<CaseSummary> {
    summarize_with(plan, records, pattern_runs, &BootstrapConfig::default())
}

/// [`summarize`] with the bootstrap drawn by `cfg`.
pub fn summarize_with(
    plan: &Plan,
    records: &[Record],
    pattern_runs: &[PatternRun],
    cfg: &BootstrapConfig,
) -> Vec<CaseSummary> {
    plan.cases
        .iter()
        .map(|case| match case.text() {
            Some(TextWork {
                search: Some(spec), ..
            }) => search::summarize(case, spec, records, pattern_runs, cfg),
            Some(TextWork { load: Some(_), .. }) => {
                summarize_load(case, records, pattern_runs, cfg)
            }
            _ => summarize_single(case, records, cfg),
        })
        .collect()
}

/// Add each case's latest successful tool run (`tool_runs.jsonl`) to its summary; each of
/// the tool's trials counts as a repetition.
pub fn attach_tools(summaries: &mut [CaseSummary], tool_runs: &[ToolRun]) {
    let cfg = BootstrapConfig::default();
    for s in summaries.iter_mut() {
        let Some(result) = tool_runs
            .iter()
            .rev()
            .filter(|t| t.case == s.case.id)
            .find_map(|t| t.result.as_ref())
        else {
            continue;
        };
        let values = |f: fn(&ToolTrial) -> Option<f64>| -> Vec<f64> {
            result.trials.iter().filter_map(f).collect()
        };
        let trials: [fn(&ToolTrial) -> Option<f64>; 3] = [
            |t| Some(t.prompt_tps),
            |t| Some(t.generation_tps),
            |t| t.peak_memory_bytes,
        ];
        for (&(name, unit, better), trial) in TOOL_METRICS.iter().zip(trials) {
            let v = values(trial);
            let numbers = (0..v.len() as u32).collect();
            if let Some(summary) = Summary::of(&v) {
                s.metrics.push(MetricSummary {
                    name,
                    unit,
                    better,
                    summary,
                    repetitions: RepetitionStats::of(v, numbers, &cfg),
                });
            }
        }
        let ratio = |ours: &str, theirs: &str| {
            let (a, b) = (s.metric(ours)?.median, s.metric(theirs)?.median);
            (b > 0.0).then(|| a / b)
        };
        s.tool = Some(ToolComparison {
            tool: result.tool.clone(),
            version: result.version.clone(),
            prefill_ratio: ratio("prefill_tps", "tool_prompt_tps"),
            decode_ratio: ratio("decode_tps", "tool_generation_tps"),
        });
    }
}

/// The records that count for one measured repetition: one for a single-request case, the
/// pattern's requests (and its `loads.jsonl` line) for a load case.
struct Repetition<'a> {
    number: u32,
    ok: Vec<&'a Record>,
    pattern: Option<&'a PatternRun>,
}

fn metric_summaries(repetitions: &[Repetition], cfg: &BootstrapConfig) -> Vec<MetricSummary> {
    let llm = LLM_METRICS.iter().filter_map(|m: &Metric| {
        let per_repetition: Vec<Vec<f64>> = repetitions
            .iter()
            .map(|rep| rep.ok.iter().flat_map(|r| (m.values)(r)).collect())
            .collect();
        let pooled: Vec<f64> = per_repetition.iter().flatten().copied().collect();
        let summary = Summary::of(&pooled)?;
        let (values, numbers) = per_repetition
            .into_iter()
            .zip(repetitions)
            .filter_map(|(v, rep)| Some((median(v)?, rep.number)))
            .unzip();
        Some(MetricSummary {
            name: m.name,
            unit: m.unit,
            better: m.better,
            summary,
            repetitions: RepetitionStats::of(values, numbers, cfg),
        })
    });
    let load = PATTERN_RUN_METRICS.iter().filter_map(|m| {
        let (values, numbers): (Vec<f64>, Vec<u32>) = repetitions
            .iter()
            .filter_map(|rep| Some((rep.pattern.and_then(m.value)?, rep.number)))
            .unzip();
        Some(MetricSummary {
            name: m.name,
            unit: m.unit,
            better: m.better,
            summary: Summary::of(&values)?,
            repetitions: RepetitionStats::of(values, numbers, cfg),
        })
    });
    llm.chain(load).collect()
}

/// The median of a repetition's values (none when it has none).
fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    (!values.is_empty()).then(|| quantile_sorted(&values, 0.5))
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Measurements whose token counts are estimates; runs stored before the flag existed say so
/// by their `token_count_source` alone.
fn estimated(ok: &[&Record]) -> usize {
    ok.iter()
        .filter(|r| r.output_tokens_estimated || r.token_count_source == "tokenizer")
        .count()
}

fn flagged(ok: &[&Record]) -> usize {
    ok.iter()
        .filter(|r| r.energy.as_ref().is_some_and(|e| !e.flags.is_empty()))
        .count()
}

fn short_for_counter(ok: &[&Record]) -> usize {
    ok.iter()
        .filter(|r| {
            r.energy
                .as_ref()
                .and_then(|e| e.rails.get(&e.headline))
                .is_some_and(|rail| rail.short_for_counter())
        })
        .count()
}

/// A single-request case, or a case of conversations (`turns`): then a repetition is one
/// complete conversation, its value of a metric the median over its turns, and `ok` counts
/// turns.
fn summarize_single(case: &Case, records: &[Record], cfg: &BootstrapConfig) -> CaseSummary {
    let mine: Vec<&Record> = records
        .iter()
        .filter(|r| r.header.case == case.id)
        .collect();
    let turns = case.text().map_or(0, |t| t.params.turns);
    let mut ok: Vec<&Record> = if turns > 0 {
        conversation::complete(case, records)
    } else {
        mine.iter()
            .copied()
            .filter(|r| r.status == Status::Ok)
            .collect()
    };
    ok.sort_by_key(|r| r.header.repetition);
    // A repetition that failed and was measured later by `--resume` is not a failure.
    let failed: std::collections::BTreeSet<u32> = mine
        .iter()
        .filter(|r| r.status == Status::Error)
        .map(|r| r.header.repetition)
        .filter(|rep| !ok.iter().any(|r| r.header.repetition == *rep))
        .collect();
    let mut repetitions: Vec<Repetition> = Vec::new();
    for r in &ok {
        match repetitions.last_mut() {
            Some(last) if last.number == r.header.repetition => last.ok.push(r),
            _ => repetitions.push(Repetition {
                number: r.header.repetition,
                ok: vec![*r],
                pattern: None,
            }),
        }
    }
    let mut metrics = metric_summaries(&repetitions, cfg);
    if let Some(objectives) = case.text().and_then(|t| t.slo.as_ref()) {
        let failed: Vec<u32> = failed.iter().copied().collect();
        metrics.extend(slo::summaries(objectives, &repetitions, &failed, cfg));
    }
    CaseSummary {
        case: case.clone(),
        ok: ok.len(),
        errors: failed.len(),
        errors_by_kind: BTreeMap::new(),
        patterns: None,
        tool: None,
        flagged: flagged(&ok),
        short_for_counter: short_for_counter(&ok),
        estimated_token_counts: estimated(&ok),
        metrics,
        search: None,
        turns: if turns > 0 {
            conversation::per_turn(case, records)
        } else {
            Vec::new()
        },
    }
}

fn summarize_load(
    case: &Case,
    records: &[Record],
    pattern_runs: &[PatternRun],
    cfg: &BootstrapConfig,
) -> CaseSummary {
    let mut runs: Vec<&PatternRun> = pattern_runs
        .iter()
        .filter(|l| l.header.case == case.id && l.status == Status::Ok)
        .collect();
    runs.sort_by_key(|l| l.header.repetition);
    let of_run = |l: &PatternRun, r: &Record| {
        r.header.case == case.id
            && r.header.repetition == l.header.repetition
            && r.pattern_slot
                .as_ref()
                .is_some_and(|load| load.run_t_s == l.header.t_start_s)
    };
    let mine: Vec<&Record> = records
        .iter()
        .filter(|r| runs.iter().any(|l| of_run(l, r)))
        .collect();
    let ok: Vec<&Record> = mine
        .iter()
        .copied()
        .filter(|r| r.status == Status::Ok)
        .collect();
    let mut errors_by_kind = BTreeMap::new();
    for r in mine.iter().filter(|r| r.status == Status::Error) {
        let kind = r.error_kind.clone().unwrap_or_else(|| "other".into());
        *errors_by_kind.entry(kind).or_default() += 1;
    }
    let repetitions: Vec<Repetition> = runs
        .iter()
        .map(|l| Repetition {
            number: l.header.repetition,
            ok: ok.iter().copied().filter(|r| of_run(l, r)).collect(),
            pattern: Some(l),
        })
        .collect();
    let mut metrics = metric_summaries(&repetitions, cfg);
    if let Some(objectives) = case.text().and_then(|t| t.slo.as_ref()) {
        metrics.extend(slo::summaries(objectives, &repetitions, &[], cfg));
    }
    CaseSummary {
        case: case.clone(),
        ok: ok.len(),
        errors: mine.len() - ok.len(),
        errors_by_kind,
        patterns: Some(runs.len()),
        tool: None,
        flagged: flagged(&ok),
        short_for_counter: short_for_counter(&ok),
        estimated_token_counts: estimated(&ok),
        metrics,
        search: None,
        turns: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Metrics, TextMetrics};

    fn case() -> Case {
        Case::example("t", "w", 3)
    }

    #[test]
    fn a_failure_measured_later_is_not_counted_and_metrics_use_ok_records() {
        let c = case();
        let at = String::new();
        let ok = |rep, ttft| Record {
            metrics: Metrics::of_text(TextMetrics {
                ttft_s: Some(ttft),
                ..TextMetrics::default()
            }),
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
        let s = &summarize(&plan, &records, &[])[0];
        assert_eq!((s.ok, s.errors), (2, 1));
        let ttft = s.metric("ttft_s").unwrap();
        assert_eq!((ttft.n, ttft.median), (2, 2.0));
        assert!(s.metric("decode_tps").is_none());
    }

    #[test]
    fn requests_of_a_pattern_cut_short_are_left_out_and_failures_counted_by_kind() {
        use crate::store::PatternSlot;
        use bench_workloads::load::{Arrival, LoadPattern, Stop};
        let pattern = LoadPattern {
            arrival: Arrival::Closed,
            concurrency: Some(2),
            stop: Stop::Requests(2),
            warmup_requests: 0,
        };
        let mut c = case();
        c.text_mut().load = Some(pattern);
        let request = |run_t_s: f64, index: u32, ttft: Option<f64>| Record {
            metrics: Metrics::of_text(TextMetrics {
                ttft_s: ttft,
                ..TextMetrics::default()
            }),
            status: if ttft.is_some() {
                Status::Ok
            } else {
                Status::Error
            },
            error_kind: ttft.is_none().then(|| "timeout".to_string()),
            pattern_slot: Some(PatternSlot {
                run_t_s,
                index,
                scheduled_s: 0.0,
                queue_s: 0.0,
                lag_s: 0.0,
            }),
            ..Record::failed(&c, 0, String::new(), run_t_s, String::new())
        };
        // Repetition 0 first ran at t = 1 s and was killed after one request; resumed at
        // t = 9 s it finished with one request ok and one timed out.
        let records = vec![
            request(1.0, 0, Some(50.0)),
            request(9.0, 0, Some(1.0)),
            request(9.0, 1, None),
        ];
        let finished = PatternRun::summarize(&c, pattern, 0, String::new(), 9.0, 0, &records[1..]);
        let plan = Plan {
            cases: vec![c.clone()],
        };
        let s = &summarize(&plan, &records, &[finished])[0];
        assert_eq!((s.ok, s.errors, s.patterns), (1, 1, Some(1)));
        assert_eq!(s.errors_by_kind.get("timeout"), Some(&1));
        assert_eq!(
            s.metric("ttft_s").unwrap().median,
            1.0,
            "the cut pattern's 50 s is not counted"
        );
    }

    #[test]
    fn repetition_values_carry_intervals_and_flag_outliers_without_dropping_them() {
        let c = case();
        let record = |rep: u32, ttft: f64, itl: Vec<f64>| Record {
            metrics: Metrics::of_text(TextMetrics {
                ttft_s: Some(ttft),
                ..TextMetrics::default()
            }),
            itl_s: itl,
            status: Status::Ok,
            error: None,
            ..Record::failed(&c, rep, String::new(), 0.0, String::new())
        };
        // Repetition 2 failed and is absent: numbers keep the real repetition ids.
        let records = vec![
            record(0, 1.0, vec![0.1, 0.3]),
            record(1, 1.1, vec![0.2]),
            record(3, 0.9, vec![0.2, 0.2, 0.5]),
            record(4, 1.05, vec![0.4]),
            record(5, 9.0, vec![0.3]),
        ];
        let plan = Plan {
            cases: vec![c.clone()],
        };
        let s = &summarize(&plan, &records, &[])[0];
        let ttft = s.metrics.iter().find(|m| m.name == "ttft_s").unwrap();
        assert_eq!(ttft.repetitions.values, [1.0, 1.1, 0.9, 1.05, 9.0]);
        assert_eq!(ttft.repetitions.numbers, [0, 1, 3, 4, 5]);
        // Quartiles 1.0 and 1.1 (type 7): IQR 0.1, severe fence above 1.4.
        assert_eq!(ttft.repetitions.outliers, [(4, Outlier::Severe)]);
        assert_eq!(ttft.summary.max, 9.0, "flagged, not dropped");
        let ci = ttft.repetitions.median_ci.unwrap();
        assert!(ci.low >= 0.9 && ci.high <= 9.0 && ci.low <= 1.05 && ci.high >= 1.05);
        // A distribution counts once per repetition, by its median; pooled for the summary.
        let itl = s.metrics.iter().find(|m| m.name == "itl_s").unwrap();
        assert_eq!(itl.repetitions.values, [0.2, 0.2, 0.2, 0.4, 0.3]);
        assert_eq!(itl.summary.n, 8);
    }
}
