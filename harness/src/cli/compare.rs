//! `bench compare BASE CURRENT`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::stats_args::{Format, StatsArgs};
use crate::compare::{compare, Options, RunSide};
use crate::export::Verdicts;
use crate::stats::verdict::{Rule, Sidedness};
use crate::store::read_run_or_baseline;

/// Compare two runs case by case.
///
/// Cases are matched by id (target, workload and parameter point) on the same hardware; for
/// every metric both have, bench gives the medians, the ratio current/base with a bootstrap
/// interval, a two-sided Mann-Whitney U test and a verdict (improved, regressed, within noise,
/// or not enough data) that knows whether lower or higher is better. Unmatched cases are
/// listed. Exit code 0 whatever the verdicts (use `bench gate` to fail CI), 2 on bad input.
///
///   bench compare results/<m4 run> results/<m5 run> --cross-hardware --format md
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The run compared against: a run folder or a baseline file.
    base: PathBuf,
    /// The run under test: a run folder or a baseline file.
    current: PathBuf,
    /// Only these metrics (repeat the flag); default: every metric both runs have.
    #[arg(long = "metric", value_name = "METRIC")]
    metrics: Vec<String>,
    /// Significance level of the test.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Changes smaller than this many percent are "within noise" even when significant.
    #[arg(long, default_value_t = 0.0, value_name = "PERCENT")]
    threshold: f64,
    /// Fewer repetitions than this on either side give "not enough data".
    #[arg(long, default_value_t = 3)]
    min_repetitions: usize,
    /// Compare runs from different machines (chip, memory, OS): the M5-vs-M4 comparison.
    #[arg(long)]
    cross_hardware: bool,
    #[command(flatten)]
    stats: StatsArgs,
    /// Output: a table, Markdown, JSON or JUnit XML.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Run `bench compare`.
pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    if !(args.alpha > 0.0 && args.alpha <= 0.5) {
        anyhow::bail!(
            "--alpha is a significance level above 0 and at most 0.5, not {}",
            args.alpha
        );
    }
    if !(args.threshold.is_finite() && args.threshold >= 0.0) {
        anyhow::bail!(
            "--threshold is a percentage of 0 or more, not {}",
            args.threshold
        );
    }
    super::stats_args::check_metrics(&args.metrics)?;
    let bootstrap = args.stats.bootstrap()?;
    let read = |path: &PathBuf| {
        let run = read_run_or_baseline(path)
            .with_context(|| format!("cannot read run {}", path.display()))?;
        if let Some(note) = run.unfinished_note() {
            eprintln!("warning: {note}");
        }
        anyhow::Ok(run)
    };
    let (base_run, current_run) = (read(&args.base)?, read(&args.current)?);
    let base = RunSide::of(&base_run, &bootstrap);
    let current = RunSide::of(&current_run, &bootstrap);
    let options = Options {
        rule: Rule {
            alpha: args.alpha,
            max_change_pct: args.threshold,
            min_repetitions: args.min_repetitions.max(2),
            alternative: Sidedness::TwoSided,
        },
        rules: Vec::new(),
        metrics: args.metrics,
        bootstrap,
        cross_hardware: args.cross_hardware,
    };
    let comparison = compare(&base, &current, &options)?;
    let figures = |run, side: &RunSide| crate::roofline::of_stored_run(run, &side.summaries);
    let rooflines =
        crate::roofline::changes(&figures(&base_run, &base), &figures(&current_run, &current));
    out!(
        "{}",
        args.format.exporter().render(Verdicts {
            comparison: &comparison,
            gate: None,
            rooflines: &rooflines,
        })
    );
    if matches!(args.format, Format::Table) {
        if let Some(lines) = crate::terminal::roofline::comparison(&rooflines) {
            out!("{lines}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
