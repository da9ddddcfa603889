//! The summary table printed at the end of a run.

use std::fmt::Write;

use crate::store::PowerRecord;
use crate::summary::CaseSummary;

/// Seconds as ms (or s above 10 s), `-` when absent.
pub fn seconds(v: Option<f64>) -> String {
    match v {
        Some(s) if s < 10.0 => format!("{:.1} ms", s * 1e3),
        Some(s) => format!("{s:.2} s"),
        None => "-".into(),
    }
}

/// A rate in tok/s, `-` when absent.
pub fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |r| format!("{r:.1} tok/s"))
}

/// A value with its unit and a fixed number of decimals, `-` when absent.
fn with_unit(v: Option<f64>, decimals: usize, unit: &str) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.decimals$} {unit}"))
}

/// One row per case: count, median and p90 of ttft, prefill_tps and decode_tps; with power,
/// the median average watts and joules per output token.
pub fn render(summaries: &[CaseSummary]) -> String {
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
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for s in summaries {
        let pick = |name: &str, f: fn(&crate::stats::Summary) -> f64| s.metric(name).map(f);
        let mut n = s.ok.to_string();
        if s.errors > 0 {
            n.push_str(&format!(" ({} failed)", s.errors));
        }
        if s.flagged > 0 {
            n.push_str(&format!(" ({} flagged)", s.flagged));
        }
        let mut row = vec![
            s.case.id.clone(),
            n,
            seconds(pick("ttft_s", |m| m.median)),
            seconds(pick("ttft_s", |m| m.p90)),
            rate(pick("prefill_tps", |m| m.median)),
            rate(pick("prefill_tps", |m| m.p90)),
            rate(pick("decode_tps", |m| m.median)),
            rate(pick("decode_tps", |m| m.p90)),
        ];
        if with_power {
            row.push(with_unit(pick("avg_power_w", |m| m.median), 1, "W"));
            row.push(with_unit(pick("j_per_output_token", |m| m.median), 3, "J"));
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        for (i, cell) in row.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i == 0 {
                let _ = write!(out, "{cell}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "  {}{cell}", " ".repeat(pad));
            }
        }
        out.push('\n');
        if n == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
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
    for failure in &power.failures {
        parts.push(format!("sampling failed during the run: {failure}"));
    }
    Some(parts.join("\n"))
}
