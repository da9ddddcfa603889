//! `bench history`: the runs kept under a results root, and one metric's series across them
//! with the change points where its level shifted.

mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use crate::history::{History, Point};
use crate::stats::changepoint::{change_points, ChangePoint, ChangePointConfig};

/// Runs kept under results/, and a metric's series across them with change points.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The results root (where `bench run` stored the runs).
    #[arg(long, default_value = "results", env = "BENCH_RESULTS")]
    results: PathBuf,
    /// A case id as in summary.csv (`cpu/ttft/p128-g32-c1`): with --metric, that metric's
    /// series across runs; alone, the metrics the case has.
    #[arg(long)]
    case: Option<String>,
    /// The metric of the series (`ttft_s`, `decode_tps`…; docs/metrics.md defines them).
    #[arg(long, requires = "case")]
    metric: Option<String>,
    /// Only runs on machines whose hardware fingerprint starts with this (a series across
    /// machines shows each change of machine as a shift).
    #[arg(long, value_name = "PREFIX")]
    fingerprint: Option<String>,
    /// How to print: an aligned table, JSON, or CSV.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Delete the index (results/history.sqlite) and rebuild it from the run folders: the
    /// repair for a damaged index.
    #[arg(long)]
    reindex: bool,
    /// Change points: the fewest runs on each side of a shift.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(2..))]
    min_size: u16,
    /// Change points: significance level of each shift's permutation test.
    #[arg(long, default_value_t = 0.05, value_parser = parse_alpha)]
    alpha: f64,
}

/// How `bench history` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns for people.
    Table,
    /// JSON for programs.
    Json,
    /// CSV with a header row.
    Csv,
}

/// A metric's series with its change points, as printed.
pub(crate) struct Series {
    case: String,
    metric: String,
    points: Vec<Point>,
    changes: Vec<ChangePoint>,
    config: ChangePointConfig,
}

/// Run `bench history`.
pub fn run(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    if !args.results.is_dir() {
        bail!(
            "{}: no such folder; `bench run` stores runs there (--results or BENCH_RESULTS names another)",
            args.results.display()
        );
    }
    let (history, report) = if args.reindex {
        History::recreate(&args.results)
            .with_context(|| format!("cannot rebuild the history of {}", args.results.display()))?
    } else {
        let mut history = History::open(&args.results)
            .with_context(|| format!("cannot open the history of {}", args.results.display()))?;
        let report = history
            .sync()
            .with_context(|| format!("cannot index the runs in {}", args.results.display()))?;
        (history, report)
    };
    if report.skipped > 0 {
        eprintln!(
            "warning: {} run folder(s) in {} could not be read and are left out (see above)",
            report.skipped,
            args.results.display()
        );
    }
    if args.reindex {
        eprintln!(
            "indexed {} run(s) into {}",
            report.indexed,
            history.path().display()
        );
    }
    let out = match (&args.case, &args.metric) {
        (None, _) => render::runs(&history.runs()?, args.format)?,
        (Some(case), None) => {
            known_case(&history, case)?;
            render::metrics(case, &history.metrics(case)?, args.format)?
        }
        (Some(case), Some(metric)) => {
            let series = series(&history, case, metric, &args)?;
            render::series(&series, args.format)?
        }
    };
    out!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn series(
    history: &History,
    case: &str,
    metric: &str,
    args: &HistoryArgs,
) -> anyhow::Result<Series> {
    known_case(history, case)?;
    let metrics = history.metrics(case)?;
    if !metrics.iter().any(|m| m.metric == metric) {
        let names: Vec<String> = metrics.iter().map(|m| m.metric.clone()).collect();
        bail!(
            "case `{case}` has no metric `{metric}`; its metrics are: {}",
            closest_first(metric, names).join(", ")
        );
    }
    let points = history.series_on(case, metric, args.fingerprint.as_deref())?;
    if points.is_empty() {
        let mut machines: Vec<String> = history
            .series(case, metric)?
            .into_iter()
            .map(|p| p.fingerprint)
            .collect();
        machines.sort();
        machines.dedup();
        bail!(
            "no run on a machine whose fingerprint starts with `{}` has `{metric}` for `{case}`; its runs are on: {}",
            args.fingerprint.as_deref().unwrap_or_default(),
            machines.join(", ")
        );
    }
    let config = ChangePointConfig {
        min_size: usize::from(args.min_size),
        alpha: args.alpha,
        ..ChangePointConfig::default()
    };
    let medians: Vec<f64> = points.iter().map(|p| p.summary.median).collect();
    let changes = change_points(&medians, &config);
    Ok(Series {
        case: case.to_string(),
        metric: metric.to_string(),
        points,
        changes,
        config,
    })
}

/// An error listing the cases, closest first, when no run has `case`.
fn known_case(history: &History, case: &str) -> anyhow::Result<()> {
    let cases = history.cases()?;
    if cases.iter().any(|c| c == case) {
        return Ok(());
    }
    if cases.is_empty() {
        bail!("no run in {} has any case yet", history.root().display());
    }
    let total = cases.len();
    let mut listed = closest_first(case, cases);
    const SHOWN: usize = 20;
    if total > SHOWN {
        listed.truncate(SHOWN);
        listed.push(format!("and {} more", total - SHOWN));
    }
    bail!(
        "no run has case `{case}`; the cases are: {}",
        listed.join(", ")
    );
}

/// `names` with those nearest to `wanted` (by edit distance) first.
fn closest_first(wanted: &str, mut names: Vec<String>) -> Vec<String> {
    names.sort_by_cached_key(|n| (edit_distance(wanted, n), n.clone()));
    names
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

fn parse_alpha(text: &str) -> Result<f64, String> {
    let alpha: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if alpha > 0.0 && alpha < 1.0 {
        Ok(alpha)
    } else {
        Err("the level must be between 0 and 1 (exclusive)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_known_answers() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("ttft_s", "ttft_s"), 0);
    }

    #[test]
    fn the_closest_names_come_first() {
        let names = vec!["decode_tps".into(), "ttft_s".into(), "tpot_s".into()];
        assert_eq!(closest_first("ttft", names)[0], "ttft_s");
    }
}
