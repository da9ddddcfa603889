//! Markdown: a table per comparison that renders on GitHub (pull requests, issues and the
//! Actions step summary), with the unmatched cases, the differences and the method under it.

use std::fmt::Write;

use super::{change, fraction, medians, p_value, ratio, Exporter, Verdicts};
use crate::markup::markdown_cell as cell;
use crate::stats::verdict::Verdict;

/// The Markdown exporter.
pub struct Markdown;

fn mark(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Regressed => "🔴 regressed",
        Verdict::Improved => "🟢 improved",
        Verdict::WithinNoise => "⚪ within noise",
        Verdict::NotEnoughData => "⚠️ not enough data",
    }
}

impl Exporter for Markdown {
    fn render(&self, verdicts: Verdicts) -> String {
        let c = verdicts.comparison;
        let mut out = String::new();
        match verdicts.gate {
            Some(g) if g.passed => {
                let _ = writeln!(
                    out,
                    "## ✅ bench gate passed: no regression beyond thresholds\n"
                );
            }
            Some(g) => {
                let _ = writeln!(
                    out,
                    "## ❌ bench gate failed: {} metric{} regressed\n",
                    g.regressed,
                    if g.regressed == 1 { "" } else { "s" }
                );
            }
            None => {
                let _ = writeln!(out, "## bench compare\n");
            }
        }
        let _ = writeln!(
            out,
            "Base **{}** ({}, {}, bench {}) → current **{}** ({}, {}, bench {}).\n",
            cell(&c.base.run_id),
            cell(&c.base.hostname),
            cell(&c.base.machine()),
            cell(&c.base.git_revision),
            cell(&c.current.run_id),
            cell(&c.current.hostname),
            cell(&c.current.machine()),
            cell(&c.current.git_revision),
        );
        if let Some(g) = verdicts.gate {
            let _ = writeln!(
                out,
                "{} regressed · {} improved · {} within noise or threshold · {} not enough data\n",
                g.regressed, g.improved, g.within_noise, g.not_enough_data
            );
        }
        let gate = verdicts.gate.is_some();
        out.push_str("| case | metric | base | current | change | ratio (CI) | p |");
        out.push_str(if gate { " allowed |" } else { "" });
        out.push_str(" verdict |\n|---|---|--:|--:|--:|--:|--:|");
        out.push_str(if gate { "--:|" } else { "" });
        out.push_str("---|\n");
        for (case, m) in c.metrics() {
            let (base, current) = medians(m);
            let _ = write!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                cell(case),
                m.metric,
                base,
                current,
                change(m),
                ratio(m),
                p_value(m)
            );
            if gate {
                let _ = write!(out, " {:.1} % |", m.max_change_pct);
            }
            let _ = writeln!(out, " {} |", mark(m.assessment.verdict));
        }
        let explained: Vec<_> = c
            .metrics()
            .filter(|(_, m)| {
                matches!(
                    m.assessment.verdict,
                    Verdict::Regressed | Verdict::NotEnoughData
                )
            })
            .collect();
        if !explained.is_empty() {
            out.push('\n');
            for (case, m) in explained {
                let _ = writeln!(
                    out,
                    "- `{}` {}: {}",
                    case.replace('`', "'"),
                    m.metric,
                    cell(&m.assessment.reason)
                );
            }
        }
        if !c.unmatched.is_empty() {
            let _ = writeln!(out, "\n**Not compared** ({}):\n", c.unmatched.len());
            for u in &c.unmatched {
                let _ = writeln!(out, "- `{}`: {}", u.case.replace('`', "'"), cell(&u.reason));
            }
        }
        let differences: Vec<&String> = c
            .hardware_differences
            .iter()
            .chain(&c.engine_differences)
            .collect();
        if !differences.is_empty() {
            let _ = writeln!(out, "\n**Differences between the runs**:\n");
            for d in differences {
                let _ = writeln!(out, "- {}", cell(d));
            }
        }
        if !verdicts.rooflines.is_empty() {
            let _ = writeln!(
                out,
                "\n**Roofline** (share of the device's ceiling; shown, not gated):\n\n\
                 | case | figure | base | current | ceiling from |\n|---|---|--:|--:|---|"
            );
            for r in verdicts.rooflines {
                let sources = if r.base.ceiling.source == r.current.ceiling.source {
                    r.current.ceiling.source.clone()
                } else {
                    format!("{} → {}", r.base.ceiling.source, r.current.ceiling.source)
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    cell(&r.case),
                    r.figure,
                    cell(&fraction(&r.base)),
                    cell(&fraction(&r.current)),
                    cell(&sources)
                );
            }
        }
        let _ = writeln!(out, "\n<sub>{}</sub>", cell(&c.method));
        out
    }
}
