//! What `bench run` prints when it ends: the summary table of the cases, the footer lines
//! under it (load, token counts, server, tools, power, outliers).

use crate::present::Table;
use crate::store::PowerRecord;
use crate::summary::CaseSummary;
use crate::units::{fixed, rate_fixed as rate, seconds_fixed as seconds};

/// The end-of-run tables: text cases, then image cases (each only when there are some).
pub fn render(summaries: &[CaseSummary]) -> String {
    let (images, text): (Vec<CaseSummary>, Vec<CaseSummary>) = summaries
        .iter()
        .cloned()
        .partition(|s| s.case.image().is_some());
    let mut out = String::new();
    if !text.is_empty() {
        out.push_str(&render_text(&text));
    }
    if !images.is_empty() {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&render_images(&images));
    }
    out
}

/// Image cases: count, median and p90 of the time per image, the median step, text encoding
/// and decode; with power, joules per image and per step.
fn render_images(summaries: &[CaseSummary]) -> String {
    let with_power = summaries.iter().any(|s| s.metric("j_per_image").is_some());
    let mut header = vec![
        "case",
        "n",
        "image p50",
        "image p90",
        "step p50",
        "text enc p50",
        "vae p50",
    ];
    if with_power {
        header.extend(["J/image p50", "J/step p50"]);
    }
    let rows = summaries.iter().map(|s| {
        let pick = |name: &str, f: fn(&crate::stats::Summary) -> f64| s.metric(name).map(f);
        let mut row = vec![
            s.case.id.clone(),
            count(s),
            seconds(pick("image_s", |m| m.median)),
            seconds(pick("image_s", |m| m.p90)),
            seconds(pick("step_s", |m| m.median)),
            seconds(pick("text_encode_s", |m| m.median)),
            seconds(pick("vae_decode_s", |m| m.median)),
        ];
        if with_power {
            row.push(fixed(pick("j_per_image", |m| m.median), 1, "J"));
            row.push(fixed(pick("j_per_step", |m| m.median), 2, "J"));
        }
        row
    });
    numbers_right(&header, rows.collect())
}

/// `n`, with failed and flagged counts.
fn count(s: &CaseSummary) -> String {
    let mut n = s.ok.to_string();
    if s.errors > 0 {
        n.push_str(&format!(" ({} failed)", s.errors));
    }
    if s.flagged > 0 {
        n.push_str(&format!(" ({} flagged)", s.flagged));
    }
    n
}

/// One row per text case: count, median and p90 of ttft, prefill_tps and decode_tps; with
/// power, the median average watts and joules per output token.
fn render_text(summaries: &[CaseSummary]) -> String {
    let with_power = summaries.iter().any(|s| s.metric("avg_power_w").is_some());
    let mut header = vec![
        "case",
        "n",
        "ttft p50",
        "ttft p90",
        "prefill p50",
        "prefill p90",
        "decode p50",
        "decode p90",
    ];
    if with_power {
        header.extend(["power p50", "J/out tok p50"]);
    }
    let mut rows = Vec::new();
    for s in summaries {
        let pick = |name: &str, f: fn(&crate::stats::Summary) -> f64| s.metric(name).map(f);
        let mut row = vec![
            s.case.id.clone(),
            count(s),
            seconds(pick("ttft_s", |m| m.median)),
            seconds(pick("ttft_s", |m| m.p90)),
            rate(pick("prefill_tps", |m| m.median)),
            rate(pick("prefill_tps", |m| m.p90)),
            rate(pick("decode_tps", |m| m.median)),
            rate(pick("decode_tps", |m| m.p90)),
        ];
        if with_power {
            row.push(fixed(pick("avg_power_w", |m| m.median), 1, "W"));
            row.push(fixed(pick("j_per_output_token", |m| m.median), 3, "J"));
        }
        rows.push(row);
    }
    numbers_right(&header, rows)
}

/// The table as the terminal shows it: the first column (the case) aligned left, the others
/// (numbers) right.
fn numbers_right(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let right: Vec<usize> = (1..header.len()).collect();
    Table::of_text(header, &right, rows).to_terminal()
}

/// Lines under the table for load cases: offered and achieved rates, throughput, bench's own
/// schedule lag and queueing, and failed requests by kind.
pub fn load_footer(summaries: &[CaseSummary]) -> Option<String> {
    let lines: Vec<String> = summaries
        .iter()
        .filter_map(|s| {
            let patterns = s.patterns?;
            let median = |name: &str| s.metric(name).map(|m| m.median);
            let mut parts = vec![format!("{patterns} pattern(s)")];
            let sent = median("achieved_rate_rps").map_or("-".into(), |r| format!("{r:.2}"));
            match s.case.stored_params().rate_rps {
                Some(offered) => parts.push(format!("sent {sent} req/s of {offered} offered")),
                None => parts.push(format!("sent {sent} req/s")),
            }
            if let Some(r) = median("request_throughput_rps") {
                parts.push(format!("done {r:.2} req/s"));
            }
            if let Some(r) = median("output_tps") {
                parts.push(format!("output {r:.1} tok/s"));
            }
            if let Some(lag) = s.metric("schedule_lag_s") {
                parts.push(format!("lag p99 {}", seconds(Some(lag.p99))));
            }
            if let Some(queue) = s.metric("queue_s").filter(|q| q.max > 0.0) {
                parts.push(format!("queue p50 {}", seconds(Some(queue.median))));
            }
            if let Some(cpu) = median("client_cpu_s_per_1k_tokens") {
                parts.push(format!("bench used {:.1} ms CPU per 1k tokens", cpu * 1e3));
            }
            if let Some(j) = median("load_j_per_output_token") {
                parts.push(format!("{j:.3} J/out tok"));
            }
            if let Some(drop) = median("throughput_drop_pct") {
                parts.push(format!(
                    "throughput drop {drop:.1} % (first to last window)"
                ));
            }
            if !s.errors_by_kind.is_empty() {
                let kinds: Vec<String> = s
                    .errors_by_kind
                    .iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect();
                parts.push(format!("failed: {}", kinds.join(", ")));
            }
            Some(format!("load {}: {}", s.case.id, parts.join("; ")))
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Lines under the table comparing an engine's own benchmark tool with bench, per case.
pub fn tool_footer(summaries: &[CaseSummary]) -> Option<String> {
    let lines: Vec<String> = summaries
        .iter()
        .filter_map(|s| {
            let tool = s.tool.as_ref()?;
            let median = |name: &str| s.metric(name).map(|m| m.median);
            let pair = |what: &str, theirs: &str, ours: &str, ratio: Option<f64>| {
                format!(
                    "{what} {} (bench {}{})",
                    rate(median(theirs)),
                    rate(median(ours)),
                    ratio.map_or(String::new(), |r| format!(", ×{r:.2}"))
                )
            };
            let mut line = format!(
                "{} {} {}: {}; {}",
                tool.tool,
                tool.version,
                s.case.id,
                pair(
                    "prompt",
                    "tool_prompt_tps",
                    "prefill_tps",
                    tool.prefill_ratio
                ),
                pair(
                    "generation",
                    "tool_generation_tps",
                    "decode_tps",
                    tool.decode_ratio
                ),
            );
            if let Some(bytes) = median("tool_peak_memory_bytes") {
                line.push_str(&format!("; peak memory {:.3} GB", bytes / 1e9));
            }
            Some(line)
        })
        .collect();
    (!lines.is_empty()).then(|| {
        format!(
            "{}\n(bench measures through the server: prompt tokens / ttft with its chat template and HTTP; the tool runs in-process on random token ids)",
            lines.join("\n")
        )
    })
}

/// Lines naming the cases whose output token counts are only the tokenizer's estimate (a server
/// that reported no usage and did not stop for length), so that their per-token figures are
/// not taken for counts.
pub fn token_count_footer(summaries: &[CaseSummary]) -> Option<String> {
    let lines: Vec<String> = summaries
        .iter()
        .filter(|s| s.estimated_token_counts > 0)
        .map(|s| {
            format!(
                "estimated token counts {}: {} of {} measurement(s) count output tokens by re-tokenizing the streamed text (token_count_source = \"tokenizer\"); decode, tpot and per-token energy there are estimates",
                s.case.id, s.estimated_token_counts, s.ok
            )
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// Lines under the table where a server reported its own rates: each beside bench's (medians),
/// with their ratio, since no other tool shows the two together.
pub fn server_footer(summaries: &[CaseSummary]) -> Option<String> {
    let lines: Vec<String> = summaries
        .iter()
        .filter_map(|s| {
            let median = |name: &str| s.metric(name).map(|m| m.median);
            let pair = |what: &str, server: &str, ours: &str| {
                let (theirs, ours) = (median(server)?, median(ours));
                let ratio = ours.filter(|_| theirs > 0.0).map_or(String::new(), |o| {
                    format!(", bench/server ×{:.2}", o / theirs)
                });
                Some(format!(
                    "{what} server {} vs bench {}{ratio}",
                    rate(Some(theirs)),
                    rate(ours)
                ))
            };
            let parts: Vec<String> = [
                pair("prefill", "server_prefill_tps", "prefill_tps"),
                pair("decode", "server_decode_tps", "decode_tps"),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!parts.is_empty())
                .then(|| format!("server vs bench {}: {}", s.case.id, parts.join("; ")))
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// A line under the table about power: why it was not measured, which rail the figures use,
/// and how many measurements were flagged.
pub fn power_footer(summaries: &[CaseSummary], power: &PowerRecord) -> Option<String> {
    if power.used == "none" {
        return Some(format!("power: not measured: {}", power.note));
    }
    let mut parts = vec![format!("power: {} ({})", power.used, power.note)];
    let flagged: usize = summaries.iter().map(|s| s.flagged).sum();
    if flagged > 0 {
        parts.push(format!(
            "{flagged} measurement(s) flagged for thermal pressure, throttling or battery: see `energy.flags` in measurements.jsonl"
        ));
    }
    let short: usize = summaries.iter().map(|s| s.short_for_counter).sum();
    if short > 0 {
        parts.push(format!(
            "{short} measurement(s) spanned fewer than {} updates of the energy counter: their energy is rough (a few %; see `counter_period_s` in measurements.jsonl)",
            crate::power::COUNTER_PERIODS
        ));
    }
    for failure in &power.failures {
        parts.push(format!("sampling failed during the run: {failure}"));
    }
    Some(parts.join("\n"))
}

/// Lines naming repetitions outside Tukey's fences for the headline metrics (kept in every
/// figure, only flagged), so an odd repetition is seen rather than averaged in silently.
pub fn outlier_footer(summaries: &[CaseSummary]) -> Option<String> {
    let mut lines = Vec::new();
    for s in summaries {
        for m in s
            .metrics
            .iter()
            .filter(|m| crate::gate::DEFAULT_METRICS.contains(&m.name))
        {
            let reps = &m.repetitions;
            if reps.outliers.is_empty() {
                continue;
            }
            let flagged: Vec<String> = reps
                .outliers
                .iter()
                .map(|&(i, kind)| {
                    let value = reps.values.get(i).copied().unwrap_or(f64::NAN);
                    let repetition = reps.numbers.get(i).map_or(0, |r| r + 1);
                    let kind = match kind {
                        crate::stats::outliers::Outlier::Mild => "mild",
                        crate::stats::outliers::Outlier::Severe => "severe",
                    };
                    format!(
                        "repetition {repetition} {} ({})",
                        crate::units::human(value, m.unit),
                        kind
                    )
                })
                .collect();
            lines.push(format!(
                "outliers {} {} (median {}): {}",
                s.case.id,
                m.name,
                crate::units::human(m.summary.median, m.unit),
                flagged.join(", ")
            ));
        }
    }
    (!lines.is_empty()).then(|| {
        lines.push(
            "outliers are flagged by Tukey's fences (1.5 and 3 IQR) and kept in every figure"
                .into(),
        );
        lines.join("\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Case, Plan};
    use crate::store::{Metrics, Record, Status, TextMetrics};

    #[test]
    fn measurements_of_few_counter_updates_are_counted() {
        use crate::power::energy::Method;
        use crate::power::{MeasurementEnergy, PhaseEnergy, RailEnergy, Scope};
        let c = Case::example("t", "w", 3);
        let record = |rep: u32, seconds: f64, counter_period_s: Option<f64>| {
            let total = PhaseEnergy {
                seconds,
                joules: 100.0 * seconds,
                avg_w: 100.0,
                active_joules: None,
                peak_w: None,
            };
            let rail = RailEnergy {
                scope: Scope::GpuBoard,
                method: Method::Counter,
                phases: [("total".to_string(), total)].into(),
                counter_period_s,
            };
            Record {
                metrics: Metrics::of_text(TextMetrics {
                    ttft_s: Some(0.1),
                    ..TextMetrics::default()
                }),
                energy: Some(MeasurementEnergy {
                    source: "nvml".into(),
                    headline: "gpu0".into(),
                    rails: [("gpu0".to_string(), rail)].into(),
                    samples: 10,
                    flags: Vec::new(),
                    gaps: Vec::new(),
                }),
                status: Status::Ok,
                error: None,
                ..Record::failed(&c, rep, String::new(), 0.0, String::new())
            }
        };
        // 100 ms updates: 1.3 s is 13 of them, 5 s is 50; a counter with no period (read no
        // faster than it updates) is never short.
        let records = vec![
            record(0, 1.3, Some(0.1)),
            record(1, 5.0, Some(0.1)),
            record(2, 1.3, None),
        ];
        let plan = Plan {
            cases: vec![c.clone()],
        };
        let summaries = crate::summary::summarize(&plan, &records, &[]);
        assert_eq!(summaries[0].short_for_counter, 1);
        let power = crate::store::PowerRecord {
            used: "nvml".into(),
            note: "NVML".into(),
            ..crate::store::PowerRecord::default()
        };
        let footer = power_footer(&summaries, &power).unwrap();
        assert!(
            footer.contains("1 measurement(s) spanned fewer than 30 updates of the energy counter"),
            "{footer}"
        );
    }
}
