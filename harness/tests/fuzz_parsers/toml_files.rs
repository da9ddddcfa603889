//! The TOML files bench reads: suites (`suite::parse`) and the gate file (`GateConfig::parse`).
//! Their errors must give `file:line:column`.

use std::path::Path;

use bench::gate::{GateConfig, GateConfigError};
use bench::suite::{self, SuiteError};

use crate::corpus;
use crate::engine::{Target, Verdict};

/// TOML's own syntax, beside the seeds' lines: table headers, inline tables, arrays of tables,
/// multi-line strings, dates, and number forms.
const TOKENS: &[&str] = &[
    "[suite]",
    "[power]",
    "[[target]]",
    "[[workload]]",
    "[defaults]",
    "[metrics.ttft_s]",
    "[metrics.x.y]",
    "a = ",
    "name = ",
    "= [",
    "= {",
    "\"\"\"",
    "'''",
    "a.b = 1",
    "\"a\" = ",
    "1979-05-27T07:32:00Z",
    "07:32:00",
    "0x7fffffffffffffff",
    "0o777",
    "0b1",
    "1_000",
    "+inf",
    "-nan",
    "1e3",
    "\"\\u00e9\"",
    "\"\\U0010FFFF\"",
    "\"\\uD800\"",
    "[1, [2, [3]]]",
    "{ a = { b = 1 } }",
];

/// Where a TOML error must say it is: `<file>:<line>:<column>: ` with the line in the text.
pub fn located(display: &str, file: &str, text: &str) -> Verdict {
    let rest = display
        .strip_prefix(file)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(|| format!("error without `{file}:line:column`: {display}"))?;
    let mut parts = rest.splitn(3, ':');
    let line: usize = parts
        .next()
        .and_then(|l| l.parse().ok())
        .ok_or_else(|| format!("error without a line number: {display}"))?;
    let column: Option<usize> = parts.next().and_then(|c| c.parse().ok());
    if column.is_none() {
        return Err(format!("error without a column: {display}"));
    }
    let lines = text.split('\n').count();
    if line == 0 || line > lines {
        return Err(format!("line {line} of a text of {lines} lines: {display}"));
    }
    Ok(())
}

fn check_suite(input: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(input);
    match suite::parse(&text, Path::new("fuzz.toml")) {
        Ok(_) => Ok(()),
        Err(SuiteError::Invalid(problems)) => {
            if problems.is_empty() {
                return Err("an invalid suite with no problem named".into());
            }
            for problem in &problems {
                located(&problem.to_string(), "fuzz.toml", &text)?;
            }
            Ok(())
        }
        Err(other) => Err(format!("not a parse error: {other}")),
    }
}

fn check_gate(input: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(input);
    match GateConfig::parse(&text, Path::new("gate.toml")) {
        Ok(_) => Ok(()),
        Err(GateConfigError::Invalid(problem)) => located(&problem.to_string(), "gate.toml", &text),
        Err(other) => Err(format!("not a parse error: {other}")),
    }
}

#[test]
fn suite_toml() {
    let mut seeds = corpus::files("suites", "", &[".toml"]);
    seeds.extend(corpus::files("harness/tests/suites", "", &[".toml"]));
    seeds.push(corpus::file("ci/gate-smoke.toml"));
    seeds.extend(corpus::written("suite"));
    Target {
        name: "suite",
        seeds,
        tokens: TOKENS,
        cases: 30_000,
        check: check_suite,
    }
    .run();
}

#[test]
fn gate_toml() {
    let mut seeds = vec![corpus::file("ci/gate.toml")];
    seeds.extend(corpus::written("gate"));
    Target {
        name: "gate",
        seeds,
        tokens: TOKENS,
        cases: 30_000,
        check: check_gate,
    }
    .run();
}
