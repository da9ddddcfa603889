//! JUnit XML: one test case per gated metric and case, so CI systems show regressions as
//! failed tests and metrics without enough data as skipped ones.

use std::fmt::Write;

use super::{change, fraction, p_value, Exporter, Verdicts};
use crate::stats::verdict::Verdict;

/// The JUnit exporter.
pub struct Junit;

use crate::markup::escape;

impl Exporter for Junit {
    fn render(&self, verdicts: Verdicts) -> String {
        let c = verdicts.comparison;
        let tests = c.metrics().count();
        let failures = c.count(Verdict::Regressed);
        let skipped = c.count(Verdict::NotEnoughData);
        let name = escape(&format!(
            "bench gate: {} vs baseline {}",
            c.current.run_id, c.base.run_id
        ));
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"bench\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">"
        );
        let _ = writeln!(
            out,
            "  <testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" timestamp=\"{}\">",
            escape(&c.current.started_at)
        );
        for (case, m) in c.metrics() {
            let summary = format!(
                "{}: {} ({} allowed), p = {}, α = {}",
                m.assessment.verdict.label(),
                change(m),
                format_args!("{:.1} %", m.max_change_pct),
                p_value(m),
                m.alpha
            );
            let _ = write!(
                out,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
                escape(case),
                escape(m.metric)
            );
            match m.assessment.verdict {
                Verdict::Regressed => {
                    let _ = writeln!(
                        out,
                        ">\n      <failure type=\"regression\" message=\"{}\">{}</failure>\n    </testcase>",
                        escape(&summary),
                        escape(&m.assessment.reason)
                    );
                }
                Verdict::NotEnoughData => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        escape(&m.assessment.reason)
                    );
                }
                Verdict::Improved | Verdict::WithinNoise => {
                    let _ = writeln!(
                        out,
                        ">\n      <system-out>{}</system-out>\n    </testcase>",
                        escape(&format!("{summary}. {}", m.assessment.reason))
                    );
                }
            }
        }
        if !verdicts.rooflines.is_empty() {
            // Shown beside the tests, never a test: a roofline figure is not gated.
            let lines: Vec<String> = verdicts
                .rooflines
                .iter()
                .map(|r| {
                    format!(
                        "roofline: {} {} {} -> {} [{}]",
                        r.case,
                        r.figure,
                        fraction(&r.base),
                        fraction(&r.current),
                        r.current.ceiling.source
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "    <system-out>{}</system-out>",
                escape(&lines.join("\n"))
            );
        }
        out.push_str("  </testsuite>\n</testsuites>\n");
        out
    }
}
