//! The comparison table printed by `bench compare` and `bench gate`.

use std::fmt::Write;

use crate::export::{change, medians, p_value, ratio, Exporter, Verdicts};
use crate::present::Table;
use crate::stats::verdict::Verdict;

/// The terminal exporter: one row per case and metric, the reasons for regressions and
/// missing data under it, then what was not compared.
pub struct Terminal;

impl Exporter for Terminal {
    fn render(&self, verdicts: Verdicts) -> String {
        let c = verdicts.comparison;
        let mut out = format!(
            "base    {} ({}, {}, bench {})\ncurrent {} ({}, {}, bench {})\n\n",
            c.base.run_id,
            c.base.hostname,
            c.base.machine(),
            c.base.git_revision,
            c.current.run_id,
            c.current.hostname,
            c.current.machine(),
            c.current.git_revision
        );
        let gate = verdicts.gate.is_some();
        let mut header = vec![
            "case",
            "metric",
            "base",
            "current",
            "change",
            "ratio (CI)",
            "p",
        ];
        if gate {
            header.push("allowed");
        }
        header.push("verdict");
        let rows = c
            .metrics()
            .map(|(case, m)| {
                let (base, current) = medians(m);
                let mut row = vec![
                    case.to_string(),
                    m.metric.to_string(),
                    base,
                    current,
                    change(m),
                    ratio(m),
                    p_value(m),
                ];
                if gate {
                    row.push(format!("{:.1} %", m.max_change_pct));
                }
                row.push(m.assessment.verdict.label().to_string());
                row
            })
            .collect();
        let right: Vec<usize> = (1..header.len()).collect();
        out.push_str(&Table::of_text(&header, &right, rows).to_terminal());
        for (case, m) in c.metrics().filter(|(_, m)| {
            matches!(
                m.assessment.verdict,
                Verdict::Regressed | Verdict::NotEnoughData
            )
        }) {
            let _ = writeln!(
                out,
                "{} {} {}: {}",
                m.assessment.verdict.label(),
                case,
                m.metric,
                m.assessment.reason
            );
        }
        for u in &c.unmatched {
            let _ = writeln!(out, "not compared: {u}");
        }
        for d in c.hardware_differences.iter().chain(&c.engine_differences) {
            let _ = writeln!(out, "differs: {d}");
        }
        match verdicts.gate {
            Some(g) => {
                let _ = writeln!(
                    out,
                    "gate {}: {} regressed, {} improved, {} within noise or threshold, {} not enough data",
                    if g.passed { "passed" } else { "FAILED" },
                    g.regressed,
                    g.improved,
                    g.within_noise,
                    g.not_enough_data
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "{} regressed, {} improved, {} within noise, {} not enough data",
                    c.count(Verdict::Regressed),
                    c.count(Verdict::Improved),
                    c.count(Verdict::WithinNoise),
                    c.count(Verdict::NotEnoughData)
                );
            }
        }
        let _ = writeln!(out, "method: {}", c.method);
        out
    }
}
