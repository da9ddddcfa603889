//! The Prometheus text exposition (`parse_exposition`), as exporters and `macmon serve` give
//! it at `/metrics`. Errors must name a line of the text.

use bench::power::prometheus::parse_exposition;
use bench::power::{Position, PowerError};

use crate::corpus;
use crate::engine::{Target, Verdict};

/// The format's syntax: comments, label sets, escapes, quoted names, special values,
/// timestamps and exemplars.
const TOKENS: &[&str] = &[
    "# HELP ",
    "# TYPE ",
    " counter\n",
    " gauge\n",
    " histogram\n",
    " summary\n",
    "# EOF\n",
    "# UNIT x seconds\n",
    "{",
    "}",
    "=\"",
    "\",",
    "\\\\",
    "\\\"",
    "\\n",
    "\\t",
    "{\"my.metric\"",
    "\"my.label\"=\"v\"",
    "_bucket{le=\"+Inf\"}",
    "_total",
    "_sum",
    "_count",
    " +Inf",
    " -Inf",
    " NaN",
    " 1395066363000",
    " -3982045",
    " 1.5e9",
    " # {trace_id=\"abc\"} 1.0",
    "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",UUID=\"GPU-604ac76c\",} 139.5\n",
    "a:b:c 1\n",
];

fn check(input: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(input);
    match parse_exposition(&text) {
        Ok(_) => Ok(()),
        Err(PowerError::Malformed {
            position: Position::Line(l),
            ..
        }) if l >= 1 && l <= text.split('\n').count() => Ok(()),
        Err(other) => Err(format!("not located at a line of the text: {other}")),
    }
}

#[test]
fn prometheus_exposition() {
    let mut seeds = corpus::apple("macmon_serve_metrics_prometheus", ".txt");
    seeds.extend(corpus::written("prometheus"));
    Target {
        name: "prometheus",
        seeds,
        tokens: TOKENS,
        cases: 30_000,
        check,
    }
    .run();
}
