//! The charts of a report, chosen by what a run holds: a chart whose data the run lacks is left
//! out, never drawn empty.

use std::collections::BTreeMap;

use super::figure::{figure, Figure};
use super::ReportedRun;
use crate::charts::diffusion::{PhaseBreakdown, StepChart};
use crate::charts::energy::{EnergyChart, EnergyPer};
use crate::charts::knee::KneeChart;
use crate::charts::latency::{CdfChart, CdfSeries};
use crate::charts::power::{PhaseSpan, PowerChart, RailSeries};
use crate::charts::roofline::{Roof, RooflineChart};
use crate::charts::scaling::ScalingChart;
use crate::charts::speedup::{SpeedupBar, SpeedupChart};
use crate::charts::throughput::{Bar, BarChart, BarSeries};
use crate::charts::ttft::TtftChart;
use crate::charts::{ChartSize, Point, Series};
use crate::compare::Comparison;
use crate::stats::Better;
use crate::store::{Record, Status};
use crate::summary::search::CurvePoint;
use crate::summary::{CaseSummary, MetricSummary};

fn metric<'a>(s: &'a CaseSummary, name: &str) -> Option<&'a MetricSummary> {
    s.metrics.iter().find(|m| m.name == name)
}

/// A point at the metric's median with the interval of the median.
fn point(x: f64, m: &MetricSummary) -> Point {
    match m.repetitions.median_ci {
        Some(ci) => Point::with_interval(x, m.summary.median, ci.low, ci.high),
        None => Point::new(x, m.summary.median),
    }
}

fn bar(m: Option<&MetricSummary>) -> Option<Bar> {
    let m = m?;
    Some(match m.repetitions.median_ci {
        Some(ci) => Bar::with_interval(m.summary.median, ci.low, ci.high),
        None => Bar::new(m.summary.median),
    })
}

/// Text cases that send one request at a time (the TTFT sweep's), each of its own (not the
/// turns of a conversation, whose prompts grow).
fn single_text(s: &CaseSummary) -> bool {
    s.case
        .text()
        .is_some_and(|t| t.load.is_none() && t.params.turns == 0)
}

/// Single-stream text cases of one prompt length (no prompt file or drawn lengths).
fn single_length(s: &CaseSummary) -> bool {
    single_text(s) && s.case.text().is_some_and(|t| t.prompts.is_none())
}

/// The charts of one run.
pub fn run_figures(run: &ReportedRun) -> Vec<Figure> {
    let size = ChartSize::default();
    let s = &run.summaries;
    let mut out = Vec::new();
    out.extend(ttft_sweep(s, size));
    out.extend(target_speedups(s));
    out.extend(throughput(s, size));
    out.extend(latency(run, size));
    out.extend(power(run, size));
    out.extend(energy(s, size));
    out.extend(diffusion(run, size));
    out.extend(scaling(s, size));
    out.extend(super::soak::figures(run, size));
    out.extend(s.iter().filter_map(|c| rate_search(c, size)));
    out.extend(super::conversation::figure_of(s, size));
    out.extend(roofline(run, size));
    out
}

/// A sweep's line: the target, and the node count and context depth where the case has them
/// (cases that differ only by those are not one line).
fn sweep_line(case: &crate::plan::Case) -> String {
    let mut label = case.target.clone();
    if let Some(n) = case.nodes {
        label.push_str(&format!(" on {n} node{}", if n == 1 { "" } else { "s" }));
    }
    let depth = case.stored_params().depth;
    if depth > 0 {
        label.push_str(&format!(" at depth {depth}"));
    }
    label
}

fn ttft_sweep(summaries: &[CaseSummary], size: ChartSize) -> Option<Figure> {
    let mut by_target: BTreeMap<(String, u32), Vec<Point>> = BTreeMap::new();
    for s in summaries.iter().filter(|s| single_length(s)) {
        if let Some(m) = metric(s, "ttft_s") {
            by_target
                .entry((sweep_line(&s.case), s.case.stored_params().gen_tokens))
                .or_default()
                .push(point(f64::from(s.case.stored_params().prompt_tokens), m));
        }
    }
    if by_target.values().all(|p| p.len() < 2) {
        return None;
    }
    let many_gen = by_target
        .keys()
        .map(|(_, g)| g)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    let series = by_target
        .into_iter()
        .map(|((target, gen), mut points)| {
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            Series {
                label: if many_gen {
                    format!("{target} (gen {gen})")
                } else {
                    target
                },
                points,
            }
        })
        .collect();
    figure(
        TtftChart {
            title: "Time to first token vs prompt length".into(),
            series,
        }
        .render(size),
        "Median time to first token per prompt length and target, one request at a time; \
         whiskers: 95 % bootstrap interval of the median across repetitions.",
    )
}

fn throughput(summaries: &[CaseSummary], size: ChartSize) -> Option<Figure> {
    let cases: Vec<&CaseSummary> = summaries
        .iter()
        .filter(|s| s.case.image().is_none())
        .filter(|s| metric(s, "prefill_tps").is_some() || metric(s, "decode_tps").is_some())
        .collect();
    if cases.is_empty() {
        return None;
    }
    let groups = [("prefill", "prefill_tps"), ("decode", "decode_tps")]
        .into_iter()
        .map(|(label, name)| BarSeries {
            label: format!("{label} (tok/s)"),
            values: cases.iter().map(|s| bar(metric(s, name))).collect(),
        })
        .collect();
    figure(
        BarChart {
            title: "Prefill and decode throughput".into(),
            y_label: "throughput (tokens/s)".into(),
            categories: cases.iter().map(|s| s.case.id.clone()).collect(),
            groups,
        }
        .render(size),
        "Median prefill (prompt tokens / time to first token) and decode ((output tokens − 1) / \
         time from first to last token) throughput per case; whiskers: 95 % interval.",
    )
}

/// Values of `f` over the ok records of each text case that has at least `min` of them.
fn per_case_values(
    run: &ReportedRun,
    min: usize,
    f: impl Fn(&Record) -> Vec<f64>,
) -> Vec<CdfSeries> {
    run.summaries
        .iter()
        .filter(|s| s.case.image().is_none())
        .filter_map(|s| {
            let values: Vec<f64> = run
                .run
                .records
                .iter()
                .filter(|r| r.header.case == s.case.id && r.status == Status::Ok)
                .flat_map(&f)
                .collect();
            (values.len() >= min).then(|| CdfSeries {
                label: s.case.id.clone(),
                values,
            })
        })
        .collect()
}

fn latency(run: &ReportedRun, size: ChartSize) -> Vec<Figure> {
    let mut out = Vec::new();
    let ttft = per_case_values(run, 5, |r| {
        r.metrics
            .text
            .as_ref()
            .and_then(|m| m.ttft_s)
            .into_iter()
            .collect()
    });
    if !ttft.is_empty() {
        out.extend(figure(
            CdfChart {
                title: "Distribution of time to first token".into(),
                x_label: "time to first token".into(),
                series: ttft,
            }
            .render(size),
            "Empirical CDF of time to first token over every measured request of each case \
             (under load: every request of every pattern).",
        ));
    }
    let itl = per_case_values(run, 20, |r| r.itl_s.clone());
    if !itl.is_empty() {
        out.extend(figure(
            CdfChart {
                title: "Distribution of inter-token latency".into(),
                x_label: "gap between consecutive tokens".into(),
                series: itl,
            }
            .render(size),
            "Empirical CDF of every inter-token gap of every measured request, per case.",
        ));
    }
    out
}

fn power(run: &ReportedRun, size: ChartSize) -> Option<Figure> {
    if run.power.is_empty() {
        return None;
    }
    let mut rails: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    // Counter-only rails (RAPL, NVML's energy total, exporters' joule counters) give power as
    // the counter's growth over the time between two readings.
    let mut power = crate::power::RailPower::default();
    for sample in &run.power {
        for reading in &sample.rails {
            let label = format!("{} ({})", reading.rail, reading.scope.as_str());
            if let Some(w) = power.watts(&label, sample.t_s, reading) {
                rails.entry(label).or_default().push((sample.t_s, w));
            }
        }
    }
    if rails.is_empty() {
        return None;
    }
    let mut phases = Vec::new();
    let mut energy: BTreeMap<String, f64> = BTreeMap::new();
    for r in run.run.records.iter().filter(|r| r.status == Status::Ok) {
        let t0 = r.header.t_start_s;
        let mut span = |label: &str, from: f64, to: f64| {
            if to > from {
                phases.push(PhaseSpan {
                    label: label.into(),
                    start_s: t0 + from,
                    end_s: t0 + to,
                });
            }
        };
        if let Some((ttft, e2e)) = r.metrics.text.as_ref().and_then(|t| t.ttft_s.zip(t.e2e_s)) {
            span("prefill", 0.0, ttft);
            span("decode", ttft, e2e);
        }
        if let Some((m, image)) = r.metrics.image.as_ref().and_then(|m| Some((m, m.image_s?))) {
            let te = m.text_encode_s.unwrap_or(0.0);
            span("text encode", 0.0, te);
            if let Some(d) = m.denoise_s {
                span("denoise", te, te + d);
            }
            if let Some(v) = m.vae_decode_s {
                span("VAE decode", image - v, image);
            }
        }
        if let Some(e) = &r.energy {
            if let Some(rail) = e.rails.get(&e.headline) {
                for (phase, pe) in rail.phases.iter().filter(|(p, _)| p.as_str() != "total") {
                    *energy
                        .entry(format!("{phase} ({})", e.headline))
                        .or_default() += pe.joules;
                }
            }
        }
    }
    figure(
        PowerChart {
            title: format!("Power during the run ({})", run.run.manifest.power.used),
            rails: rails
                .into_iter()
                .map(|(label, points)| RailSeries { label, points })
                .collect(),
            phases,
            energy_note: energy.into_iter().collect(),
        }
        .render(size),
        &format!(
            "Power of each rail the sampler measured, on the run's clock, with each \
             measurement's phases shaded; energy per phase summed over measurements. Rails of \
             different scopes overlap: never add them. Sampler: {}.",
            run.run.manifest.power.note
        ),
    )
}

fn energy(summaries: &[CaseSummary], size: ChartSize) -> Vec<Figure> {
    let mut out = Vec::new();
    for (name, per, caption) in [
        (
            "j_per_output_token",
            EnergyPer::OutputToken,
            "Median energy per generated token (decode phase, headline rail) per case; \
             whiskers: 95 % interval.",
        ),
        (
            "j_per_image",
            EnergyPer::Image,
            "Median energy per image (whole request, headline rail) per case; whiskers: 95 % \
             interval.",
        ),
    ] {
        let cases: Vec<&CaseSummary> = summaries
            .iter()
            .filter(|s| metric(s, name).is_some())
            .collect();
        if cases.is_empty() {
            continue;
        }
        out.extend(figure(
            EnergyChart {
                title: match per {
                    EnergyPer::OutputToken => "Energy per output token".into(),
                    EnergyPer::Image => "Energy per image".into(),
                },
                per,
                categories: cases.iter().map(|s| s.case.id.clone()).collect(),
                groups: vec![BarSeries {
                    label: "median".into(),
                    values: cases.iter().map(|s| bar(metric(s, name))).collect(),
                }],
            }
            .render(size),
            caption,
        ));
    }
    out
}

fn diffusion(run: &ReportedRun, size: ChartSize) -> Vec<Figure> {
    let images: Vec<&CaseSummary> = run
        .summaries
        .iter()
        .filter(|s| s.case.image().is_some())
        .collect();
    if images.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let series: Vec<Series> = images
        .iter()
        .filter_map(|s| {
            let steps: Vec<&Vec<f64>> = run
                .run
                .records
                .iter()
                .filter(|r| {
                    r.header.case == s.case.id && r.status == Status::Ok && !r.step_s.is_empty()
                })
                .map(|r| &r.step_s)
                .collect();
            let longest = steps.iter().map(|v| v.len()).max()?;
            let points = (0..longest)
                .filter_map(|i| {
                    let mut at: Vec<f64> = steps.iter().filter_map(|v| v.get(i).copied()).collect();
                    at.sort_by(f64::total_cmp);
                    let median = crate::stats::quantile_sorted(&at, 0.5);
                    median
                        .is_finite()
                        .then(|| Point::new((i + 1) as f64, median))
                })
                .collect();
            Some(Series {
                label: s.case.id.clone(),
                points,
            })
        })
        .collect();
    if !series.is_empty() {
        out.extend(figure(
            StepChart {
                title: "Time per denoising step".into(),
                series,
            }
            .render(size),
            "Median time of each denoising step across repetitions, per case: the first steps \
             show warm-up effects, the rest the steady state.",
        ));
    }
    let cases: Vec<(String, Vec<(String, f64)>)> = images
        .iter()
        .map(|s| {
            let phases = [
                ("text encode", "text_encode_s"),
                ("denoise", "denoise_s"),
                ("VAE decode", "vae_decode_s"),
            ]
            .into_iter()
            .filter_map(|(label, name)| Some((label.to_string(), metric(s, name)?.summary.median)))
            .collect();
            (s.case.id.clone(), phases)
        })
        .filter(|(_, phases): &(String, Vec<(String, f64)>)| !phases.is_empty())
        .collect();
    if !cases.is_empty() {
        out.extend(figure(
            PhaseBreakdown {
                title: "Where the time of an image goes".into(),
                cases,
            }
            .render(size),
            "Median seconds per phase of one image request: text encoding, the denoising loop, \
             and VAE decoding.",
        ));
    }
    out
}

fn scaling(summaries: &[CaseSummary], size: ChartSize) -> Option<Figure> {
    let mut throughput: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    let mut power: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for s in summaries {
        let (Some(nodes), Some(key)) = (s.case.nodes, crate::summary::scaling::series_of(s)) else {
            continue;
        };
        let rate = metric(s, "output_tps").or_else(|| metric(s, "decode_tps"));
        if let Some(m) = rate {
            throughput
                .entry(key.clone())
                .or_default()
                .push(point(f64::from(nodes), m));
        }
        if let Some(m) = metric(s, "avg_power_w") {
            power
                .entry(key)
                .or_default()
                .push(point(f64::from(nodes), m));
        }
    }
    let distinct_nodes = throughput.values().map(|p| p.len()).max().unwrap_or(0);
    if distinct_nodes < 2 {
        return None;
    }
    let series = |map: BTreeMap<String, Vec<Point>>| -> Vec<Series> {
        map.into_iter()
            .map(|(label, mut points)| {
                points.sort_by(|a, b| a.x.total_cmp(&b.x));
                Series { label, points }
            })
            .collect()
    };
    figure(
        ScalingChart {
            title: "Cluster scaling".into(),
            series: series(throughput),
            power: series(power),
        }
        .render(size),
        "Throughput (tokens/s: output_tps under load, else decode) and average power against \
         the number of nodes the model runs on.",
    )
}

/// Within one run with several targets (M4 and M5 servers, CPU and Metal): the speedup of each
/// target over the first on the cases they share, for time to first token and time per image.
fn target_speedups(summaries: &[CaseSummary]) -> Vec<Figure> {
    let cfg = crate::stats::bootstrap::BootstrapConfig::default();
    let mut targets: Vec<&str> = Vec::new();
    for s in summaries {
        if !targets.contains(&s.case.target.as_str()) {
            targets.push(&s.case.target);
        }
    }
    let Some((base, others)) = targets.split_first() else {
        return Vec::new();
    };
    // A case's point without its target: `ttft/p128-g32-c1`.
    let point = |s: &CaseSummary| {
        s.case
            .id
            .strip_prefix(&format!("{}/", s.case.target))
            .unwrap_or(&s.case.id)
            .to_string()
    };
    let mut out = Vec::new();
    for other in others {
        for name in ["ttft_s", "image_s"] {
            let bars: Vec<SpeedupBar> = summaries
                .iter()
                .filter(|b| b.case.target == *base)
                .filter_map(|b| {
                    let c = summaries
                        .iter()
                        .find(|c| c.case.target == *other && point(c) == point(b))?;
                    let (bm, cm) = (metric(b, name)?, metric(c, name)?);
                    if cm.summary.median <= 0.0 {
                        return None;
                    }
                    // Times: base / current is how many times faster the other target is.
                    let speedup = bm.summary.median / cm.summary.median;
                    let ci = crate::stats::bootstrap::ratio_interval(
                        &cm.repetitions.values,
                        &bm.repetitions.values,
                        crate::stats::bootstrap::Statistic::Median,
                        &cfg,
                    );
                    Some(SpeedupBar {
                        label: point(b),
                        speedup,
                        low: ci.map(|i| i.low),
                        high: ci.map(|i| i.high),
                    })
                })
                .collect();
            if bars.is_empty() {
                continue;
            }
            out.extend(figure(
                SpeedupChart {
                    title: format!("{other} over {base}: {name}"),
                    base_label: (*base).to_string(),
                    current_label: (*other).to_string(),
                    bars,
                }
                .render(ChartSize::default()),
                &format!(
                    "How many times faster target {other} is than {base} on {name}, per shared \
                     case (base median / {other}'s median), with the 95 % bootstrap interval."
                ),
            ));
        }
    }
    out
}

/// The charts of one comparison: the speedup of the current run per case.
pub fn comparison_figures(c: &Comparison) -> Vec<Figure> {
    let headline = ["ttft_s", "decode_tps", "output_tps", "image_s", "e2e_s"];
    let mut out = Vec::new();
    for name in headline {
        let bars: Vec<SpeedupBar> = c
            .metrics()
            .filter(|(_, m)| m.metric == name)
            .filter_map(|(case, m)| {
                let ratio = m.assessment.ratio?;
                let ci = m.assessment.ratio_interval;
                // Speedup: how many times faster; a time that halves is ×2.
                let (speedup, low, high) = match m.better {
                    Better::Lower if ratio > 0.0 => (
                        1.0 / ratio,
                        ci.map(|i| 1.0 / i.high),
                        ci.map(|i| 1.0 / i.low),
                    ),
                    Better::Lower => return None,
                    Better::Higher => (ratio, ci.map(|i| i.low), ci.map(|i| i.high)),
                };
                Some(SpeedupBar {
                    label: case.to_string(),
                    speedup,
                    low,
                    high,
                })
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        out.extend(figure(
            SpeedupChart {
                title: format!("Speedup: {name}"),
                base_label: format!("{} ({})", c.base.run_id, c.base.machine()),
                current_label: format!("{} ({})", c.current.run_id, c.current.machine()),
                bars,
            }
            .render(ChartSize::default()),
            &format!(
                "How many times faster the current run is on {name} (above 1: faster), per case, \
                 with the 95 % bootstrap interval of the ratio of medians."
            ),
        ));
    }
    out
}

/// The roofline of the run's text cases: each target's prefill and decode at their
/// intensities (and a load case's batched decode), under the ceilings their figures were held
/// against.
fn roofline(run: &ReportedRun, size: ChartSize) -> Option<Figure> {
    let target_of: BTreeMap<&str, &str> = run
        .summaries
        .iter()
        .map(|s| (s.case.id.as_str(), s.case.target.as_str()))
        .collect();
    let mut roofs: Vec<Roof> = Vec::new();
    let mut points: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for r in &run.rooflines {
        let target = target_of.get(r.case.as_str()).copied().unwrap_or("?");
        let compute = r.prefill_mfu.as_ref().or(r.aggregate_mfu.as_ref());
        let memory = r.decode_mbu.as_ref().or(r.aggregate_decode_mbu.as_ref());
        if let (Some(compute), Some(memory)) = (compute, memory) {
            let label = if compute.ceiling.source == memory.ceiling.source {
                format!("{}, {}", compute.ceiling.of, compute.ceiling.source)
            } else {
                format!(
                    "{} {}, memory {}",
                    compute.ceiling.of, compute.ceiling.source, memory.ceiling.source
                )
            };
            if !roofs.iter().any(|roof| roof.label == label) {
                roofs.push(Roof {
                    label,
                    peak_flops: compute.ceiling.value,
                    bandwidth: memory.ceiling.value,
                });
            }
        }
        for (phase, point) in [
            ("prefill", r.prefill_point),
            ("decode", r.decode_point),
            ("decode under load", r.aggregate_decode_point),
        ] {
            if let Some(p) = point {
                points
                    .entry(format!("{target} {phase}"))
                    .or_default()
                    .push(Point::new(p.intensity, p.flops_per_s));
            }
        }
    }
    if roofs.is_empty() || points.is_empty() {
        return None;
    }
    let series = points
        .into_iter()
        .map(|(label, mut points)| {
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            Series { label, points }
        })
        .collect();
    figure(
        RooflineChart {
            title: "Roofline".into(),
            roofs,
            series,
        }
        .render(size),
        "Achieved FLOP/s against arithmetic intensity (FLOPs per byte read: the prompt's FLOPs \
         over the weights and its KV cache for prefill, one token's FLOPs over the bytes it reads \
         for decode), one point per case and phase, under the roof of the device's memory \
         bandwidth and compute peak (the ceilings of the table above). Prefill points move right \
         as prompts grow; decode stays near one FLOP per byte, bound by memory. A load case's \
         decode under load reads the weights once per batched step for every sequence in it, \
         so it moves right as the batch grows.",
    )
}

/// Which latency of a probe a chart shows.
type CurveLatency = fn(&CurvePoint) -> Option<f64>;

/// A rate search's curve: p90 latency (time to first token, or end to end when the SLO bounds
/// that and not ttft) against achieved throughput, one point per probe, the SLO bound and the
/// knee marked.
fn rate_search(s: &CaseSummary, size: ChartSize) -> Option<Figure> {
    let search = s.search.as_ref()?;
    let slo = s.case.text().and_then(|t| t.slo).unwrap_or_default();
    let (name, bound, latency): (&str, Option<f64>, CurveLatency) = match (slo.ttft_s, slo.e2e_s) {
        (None, Some(e2e)) => ("e2e p90", Some(e2e), |p| p.e2e_p90_s),
        (ttft, _) => ("ttft p90", ttft, |p| p.ttft_p90_s),
    };
    let many = search.repetitions.len() > 1;
    let mut series: Vec<Series> = Vec::new();
    let mut knees = Vec::new();
    for rep in &search.repetitions {
        let mut points = Vec::new();
        for p in search
            .curve
            .iter()
            .filter(|p| p.repetition == rep.repetition)
        {
            let (Some(x), Some(y)) = (p.throughput_rps, latency(p)) else {
                continue;
            };
            points.push(Point::new(x, y));
            if p.passed && Some(p.offered_rps) == rep.knee_rps {
                knees.push(Point::new(x, y));
            }
        }
        series.push(Series {
            label: if many {
                format!("{} rep {}", s.case.workload, rep.repetition + 1)
            } else {
                s.case.workload.clone()
            },
            points,
        });
    }
    if series.iter().all(|s| s.points.is_empty()) {
        return None;
    }
    let caption = format!(
        "Rate search of {}: {name} against the throughput the server achieved, one point per probed rate. The dashed line is the SLO bound; the circled point is the knee{}, the highest rate at which at least {:.0} % of requests met every bound of the SLO.",
        s.case.id,
        search
            .knee_rps
            .map_or(" (none: no rate passed)".to_string(), |k| format!(
                " ({} req/s offered)",
                crate::units::significant(k)
            )),
        search.target_attainment * 100.0
    );
    figure(
        KneeChart {
            title: format!("Rate search: {}", s.case.id),
            latency: name.into(),
            series,
            threshold_s: bound,
            knees,
        }
        .render(size),
        &caption,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Case, Plan};
    use crate::store::{Metrics, TextMetrics};

    fn case(target: &str) -> Case {
        Case::example(target, "w", 3)
    }

    #[test]
    fn a_second_target_twice_as_fast_gets_a_speedup_chart_of_two() {
        let (m4, m5) = (case("m4"), case("m5"));
        let record = |c: &Case, rep: u32, ttft: f64| Record {
            metrics: Metrics::of_text(TextMetrics {
                ttft_s: Some(ttft),
                ..TextMetrics::default()
            }),
            status: Status::Ok,
            error: None,
            ..Record::failed(c, rep, String::new(), 0.0, String::new())
        };
        let records = vec![
            record(&m4, 0, 2.0),
            record(&m4, 1, 2.1),
            record(&m4, 2, 1.9),
            record(&m5, 0, 1.0),
            record(&m5, 1, 1.05),
            record(&m5, 2, 0.95),
        ];
        let plan = Plan {
            cases: vec![m4, m5],
        };
        let summaries = crate::summary::summarize(&plan, &records, &[]);
        let figures = target_speedups(&summaries);
        assert_eq!(figures.len(), 1);
        assert!(
            figures[0].svg.contains("w/p8-g2-c1 ×2;"),
            "{}",
            figures[0].svg
        );
        assert!(figures[0]
            .caption
            .contains("target m5 is than m4 on ttft_s"));
    }

    #[test]
    fn the_scaling_chart_keeps_each_targets_sweep_apart() {
        // Two exo targets running the same workload over 1 and 2 nodes: two lines, not one
        // line with two points at each node count.
        let mut cases = Vec::new();
        let mut records = Vec::new();
        for target in ["chat", "bench"] {
            for nodes in [1, 2] {
                let mut c = case(target);
                c.nodes = Some(nodes);
                c.id = format!("{}-n{nodes}", c.id);
                for rep in 0..3 {
                    records.push(Record {
                        metrics: Metrics::of_text(TextMetrics {
                            decode_tps: Some(100.0 * f64::from(nodes)),
                            ..TextMetrics::default()
                        }),
                        status: Status::Ok,
                        error: None,
                        ..Record::failed(&c, rep, String::new(), 0.0, String::new())
                    });
                }
                cases.push(c);
            }
        }
        let summaries = crate::summary::summarize(&Plan { cases }, &records, &[]);
        let figure = scaling(&summaries, ChartSize::default()).expect("a chart");
        for line in ["chat/w/p8-g2-c1", "bench/w/p8-g2-c1"] {
            assert!(figure.svg.contains(line), "{line} in {}", figure.svg);
        }
    }

    #[test]
    fn cases_on_other_node_counts_or_depths_are_lines_of_their_own() {
        let mut one = case("exo");
        one.nodes = Some(1);
        let mut two = one.clone();
        two.nodes = Some(2);
        let mut deep = case("cpu");
        deep.text_mut().params.depth = 4096;
        assert_eq!(sweep_line(&one), "exo on 1 node");
        assert_eq!(sweep_line(&two), "exo on 2 nodes");
        assert_eq!(sweep_line(&deep), "cpu at depth 4096");
        assert_eq!(sweep_line(&case("cpu")), "cpu");
    }
}
