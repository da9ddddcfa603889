//! What `bench history` prints: tables for people, JSON and CSV for programs.

use std::fmt::Write;

use serde::Serialize;

use super::{Format, Series};
use crate::history::{MetricInfo, RunRow};
use crate::present::{Table, TerminalTable};
use crate::stats::changepoint::ChangePoint;
use crate::units;

/// The runs, newest first.
pub fn runs(runs: &[RunRow], format: Format) -> anyhow::Result<String> {
    match format {
        Format::Json => json(&runs),
        Format::Csv => csv(runs.iter().map(RunCsv::from)),
        Format::Table if runs.is_empty() => {
            Ok("no runs yet: `bench run SUITE` stores one\n".into())
        }
        Format::Table => {
            let rows = runs
                .iter()
                .map(|r| {
                    vec![
                        r.run_id.clone(),
                        time(&r.started_at),
                        r.status.clone(),
                        r.suite_name.clone(),
                        r.git_revision.clone(),
                        format!("{} / {}", r.hostname, r.cpu_model),
                        short(&r.fingerprint),
                        r.cases.to_string(),
                    ]
                })
                .collect();
            let header = [
                "run",
                "started",
                "status",
                "suite",
                "git rev",
                "host / cpu",
                "machine",
                "cases",
            ];
            Ok(lines(grid(&header, rows, &[7])))
        }
    }
}

/// The metrics of one case.
pub fn metrics(case: &str, metrics: &[MetricInfo], format: Format) -> anyhow::Result<String> {
    match format {
        Format::Json => json(&metrics),
        Format::Csv => csv(metrics.iter()),
        Format::Table => {
            let rows = metrics
                .iter()
                .map(|m| vec![m.metric.clone(), m.unit.clone(), m.runs.to_string()])
                .collect();
            let mut out = lines(grid(&["metric", "unit", "runs"], rows, &[2]));
            let _ = writeln!(
                out,
                "a metric's series: bench history --case {case} --metric METRIC"
            );
            Ok(out)
        }
    }
}

/// A metric's series, oldest first, with its change points.
pub fn series(s: &Series, format: Format) -> anyhow::Result<String> {
    match format {
        Format::Json => json(&serde_json::json!({
            "case": s.case,
            "metric": s.metric,
            "unit": unit(s),
            "method": method(s),
            "min_size": s.config.min_size,
            "alpha": s.config.alpha,
            "permutations": s.config.permutations,
            "points": s.points,
            "change_points": s.changes.iter().map(|c| ChangeJson::new(s, c)).collect::<Vec<_>>(),
        })),
        Format::Csv => csv(s.points.iter().enumerate().map(|(i, p)| {
            let change = s.changes.iter().find(|c| c.index == i);
            PointCsv {
                run_id: &p.run_id,
                started_at: &p.started_at,
                status: &p.status,
                git_revision: &p.git_revision,
                fingerprint: &p.fingerprint,
                unit: &p.unit,
                n: p.summary.n,
                mean: p.summary.mean,
                stddev: p.summary.stddev,
                min: p.summary.min,
                median: p.summary.median,
                p90: p.summary.p90,
                p99: p.summary.p99,
                max: p.summary.max,
                shift_p_value: change.map(|c| c.p_value),
                shift_before_median: change.map(|c| c.before_median),
                shift_after_median: change.map(|c| c.after_median),
            }
        })),
        Format::Table => Ok(series_table(s)),
    }
}

fn series_table(s: &Series) -> String {
    let unit = unit(s);
    let mut machines: Vec<&str> = s.points.iter().map(|p| p.fingerprint.as_str()).collect();
    machines.sort_unstable();
    machines.dedup();
    let rows = s
        .points
        .iter()
        .map(|p| {
            vec![
                p.run_id.clone(),
                time(&p.started_at),
                p.git_revision.clone(),
                short(&p.fingerprint),
                p.summary.n.to_string(),
                units::four_digits(p.summary.median, unit),
                units::four_digits(p.summary.p90, unit),
            ]
        })
        .collect();
    let header = ["run", "started", "git rev", "machine", "n", "median", "p90"];
    let mut table = grid(&header, rows, &[4, 5, 6]);
    // After the row where the new level starts (rows begin after the header and its rule),
    // last first so earlier positions stay valid.
    for c in s.changes.iter().rev() {
        table.insert(c.index + 3, shift_line(c, unit));
    }
    let mut out = format!(
        "{} {} ({unit}), {} runs\n",
        s.case,
        s.metric,
        s.points.len()
    );
    out.push_str(&lines(table));
    if machines.len() > 1 {
        let _ = writeln!(
            out,
            "note: these runs are on {} machines ({}); a change of machine shows as a shift: --fingerprint PREFIX keeps one",
            machines.len(),
            machines.iter().map(|m| short(m)).collect::<Vec<_>>().join(", ")
        );
    }
    let needed = 2 * s.config.min_size.max(2);
    if s.points.len() < needed {
        let _ = writeln!(
            out,
            "no change points: {} runs, at least {needed} needed",
            s.points.len()
        );
    } else if s.changes.is_empty() {
        let _ = writeln!(out, "no change points");
    }
    let _ = writeln!(out, "change points: {}", method(s));
    out
}

/// The mark under the run where a shift began.
fn shift_line(c: &ChangePoint, unit: &str) -> String {
    format!(
        "  ▲ shift began here: median {} → {}{}, p = {:.3}",
        units::four_digits(c.before_median, unit),
        units::four_digits(c.after_median, unit),
        change_pct(c).map_or(String::new(), |p| format!(" ({} %)", units::signed(p, 0))),
        c.p_value
    )
}

fn change_pct(c: &ChangePoint) -> Option<f64> {
    (c.before_median != 0.0)
        .then(|| (c.after_median - c.before_median) / c.before_median.abs() * 100.0)
}

fn method(s: &Series) -> String {
    format!(
        "E-Divisive means (Matteson & James 2014) over each run's median; a shift needs at least {} runs on each side and p < {} in a permutation test ({} shuffles, seed {})",
        s.config.min_size.max(2),
        s.config.alpha,
        s.config.permutations,
        s.config.seed
    )
}

fn unit(s: &Series) -> &str {
    s.points.first().map_or("", |p| p.unit.as_str())
}

/// A change point in JSON, with the run where the shift began.
#[derive(Serialize)]
struct ChangeJson<'a> {
    index: usize,
    run_id: &'a str,
    started_at: &'a str,
    git_revision: &'a str,
    p_value: f64,
    before_median: f64,
    after_median: f64,
    change_pct: Option<f64>,
}

impl<'a> ChangeJson<'a> {
    fn new(s: &'a Series, c: &ChangePoint) -> Self {
        let p = &s.points[c.index];
        Self {
            index: c.index,
            run_id: &p.run_id,
            started_at: &p.started_at,
            git_revision: &p.git_revision,
            p_value: c.p_value,
            before_median: c.before_median,
            after_median: c.after_median,
            change_pct: change_pct(c),
        }
    }
}

/// A run as a CSV row (the csv crate writes flat records only).
#[derive(Serialize)]
struct RunCsv<'a> {
    run_id: &'a str,
    dir: String,
    started_at: &'a str,
    finished_at: Option<&'a str>,
    status: &'a str,
    suite_name: &'a str,
    suite_path: &'a str,
    git_revision: &'a str,
    bench_version: &'a str,
    fingerprint: &'a str,
    hostname: &'a str,
    cpu_model: &'a str,
    os: &'a str,
    memory_bytes: u64,
    cases: usize,
}

impl<'a> From<&'a RunRow> for RunCsv<'a> {
    fn from(r: &'a RunRow) -> Self {
        Self {
            run_id: &r.run_id,
            dir: r.dir.display().to_string(),
            started_at: &r.started_at,
            finished_at: r.finished_at.as_deref(),
            status: &r.status,
            suite_name: &r.suite_name,
            suite_path: &r.suite_path,
            git_revision: &r.git_revision,
            bench_version: &r.bench_version,
            fingerprint: &r.fingerprint,
            hostname: &r.hostname,
            cpu_model: &r.cpu_model,
            os: &r.os,
            memory_bytes: r.memory_bytes,
            cases: r.cases,
        }
    }
}

/// A point of a series as a CSV row; the `shift_` columns are filled on the run where a
/// shift began.
#[derive(Serialize)]
struct PointCsv<'a> {
    run_id: &'a str,
    started_at: &'a str,
    status: &'a str,
    git_revision: &'a str,
    fingerprint: &'a str,
    unit: &'a str,
    n: usize,
    mean: f64,
    stddev: f64,
    min: f64,
    median: f64,
    p90: f64,
    p99: f64,
    max: f64,
    shift_p_value: Option<f64>,
    shift_before_median: Option<f64>,
    shift_after_median: Option<f64>,
}

fn json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(value)? + "\n")
}

fn csv<T: Serialize>(rows: impl Iterator<Item = T>) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.serialize(row)?;
    }
    Ok(String::from_utf8(w.into_inner()?)?)
}

/// An RFC 3339 time as `2026-01-01 00:01:00` (UTC), or as stored when it does not parse.
fn time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| rfc3339.to_string(),
        |t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    )
}

/// `rows` under `header` as terminal lines, the columns in `right` aligned right.
fn grid(header: &[&str], rows: Vec<Vec<String>>, right: &[usize]) -> Vec<String> {
    TerminalTable.lines(&Table::of_text(header, right, rows))
}

/// The first 8 characters of a fingerprint: enough to tell machines apart on screen.
fn short(fingerprint: &str) -> String {
    fingerprint.chars().take(8).collect()
}

fn lines(lines: Vec<String>) -> String {
    lines.into_iter().map(|l| l + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_aligns_text_left_and_numbers_right() {
        let g = grid(
            &["a", "n"],
            vec![
                vec!["xyz".into(), "1".into()],
                vec!["x".into(), "100".into()],
            ],
            &[1],
        );
        assert_eq!(g, ["a      n", "--------", "xyz    1", "x    100"]);
    }
}
