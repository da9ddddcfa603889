//! The summary table printed at the end of a run.

use std::fmt::Write;

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

/// One row per case: count, median and p90 of ttft, prefill_tps and decode_tps.
pub fn render(summaries: &[CaseSummary]) -> String {
    let header = [
        "case",
        "n",
        "ttft p50",
        "ttft p90",
        "prefill p50",
        "prefill p90",
        "decode p50",
        "decode p90",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for s in summaries {
        let pick = |name: &str, f: fn(&crate::stats::Summary) -> f64| s.metric(name).map(f);
        let n = if s.errors > 0 {
            format!("{} ({} failed)", s.ok, s.errors)
        } else {
            s.ok.to_string()
        };
        rows.push(vec![
            s.case.id.clone(),
            n,
            seconds(pick("ttft_s", |m| m.median)),
            seconds(pick("ttft_s", |m| m.p90)),
            rate(pick("prefill_tps", |m| m.median)),
            rate(pick("prefill_tps", |m| m.p90)),
            rate(pick("decode_tps", |m| m.median)),
            rate(pick("decode_tps", |m| m.p90)),
        ]);
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
