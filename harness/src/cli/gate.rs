//! `bench gate [CURRENT]`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use super::stats_args::Format;
use crate::compare::RunSide;
use crate::export::{Exporter, Junit, Markdown, Verdicts};
use crate::gate::{gate, resolve_baseline, BaselineSource, GateConfig, EXIT_REGRESSION};
use crate::store::{newest_run, StoredRun};

/// The gate file used when none is given and it exists.
const DEFAULT_GATE_FILE: &str = "ci/gate.toml";

/// Fail CI when a run regressed against its baseline.
///
/// Each gated metric (ci/gate.toml, or built-in defaults) is compared per case: it fails only
/// when the change is both significant (one-sided Mann-Whitney U, in the harmful direction,
/// p < alpha) and beyond its allowed change in percent. Metrics with too few repetitions are
/// reported as "not enough data", not guessed. A baseline from other hardware or another
/// engine release is refused unless --force. Writes gate.md and gate-junit.xml into the
/// current run (and appends the Markdown to $GITHUB_STEP_SUMMARY when set).
///
/// Exit codes: 0 passed, 1 regression, 2 usage or data error.
///
///   bench gate --baseline results/baselines/regression.json
#[derive(Debug, Args)]
pub struct GateArgs {
    /// The run under test (a run folder); default: the newest run under --results.
    current: Option<PathBuf>,
    /// A run folder, a baseline file (see `bench baseline`), or `history`: the newest complete
    /// run of the same suite on the same hardware in the results folder's history.
    #[arg(long, default_value = "history")]
    baseline: String,
    /// The gate file: per-metric allowed change and significance. Default: ci/gate.toml when
    /// it exists, else the built-in defaults (headline metrics, 5 %, alpha 0.05).
    #[arg(long = "config", value_name = "GATE_TOML")]
    config: Option<PathBuf>,
    /// Gate against a baseline from other hardware or engine versions anyway.
    #[arg(long)]
    force: bool,
    /// Where to write the Markdown summary [default: CURRENT/gate.md].
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Where to write the JUnit XML report [default: CURRENT/gate-junit.xml].
    #[arg(long)]
    junit: Option<PathBuf>,
    /// What to print: a table, Markdown, JSON or JUnit XML.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// The results folder (for the newest run and the history).
    #[arg(long, default_value = "results", env = "BENCH_RESULTS")]
    results: PathBuf,
}

/// Run `bench gate`.
pub fn run(args: GateArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(path) => GateConfig::load(path)?,
        None if Path::new(DEFAULT_GATE_FILE).is_file() => {
            GateConfig::load(Path::new(DEFAULT_GATE_FILE))?
        }
        None => GateConfig::default(),
    };
    let current_dir = match &args.current {
        Some(dir) => dir.clone(),
        None => newest_run(&args.results)?.with_context(|| {
            format!("no run under {} to gate; name one", args.results.display())
        })?,
    };
    let current = StoredRun::read(&current_dir)
        .with_context(|| format!("cannot read run {}", current_dir.display()))?;
    if let Some(note) = current.unfinished_note() {
        eprintln!("warning: {note}");
    }
    let root = current_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let baseline = resolve_baseline(&BaselineSource::parse(Some(&args.baseline)), &current, root)?;
    let base_side = RunSide::of(&baseline, &config.bootstrap);
    let current_side = RunSide::of(&current, &config.bootstrap);
    let outcome = gate(&base_side, &current_side, &config, args.force)?;
    let rooflines = crate::roofline::changes(
        &crate::roofline::of_stored_run(&baseline, &base_side.summaries),
        &crate::roofline::of_stored_run(&current, &current_side.summaries),
    );
    let verdicts = Verdicts {
        comparison: &outcome.comparison,
        gate: Some(&outcome),
        rooflines: &rooflines,
    };
    let markdown = Markdown.render(verdicts);
    let md_path = args.markdown.unwrap_or_else(|| current_dir.join("gate.md"));
    write(&md_path, &markdown)?;
    let junit_path = args
        .junit
        .unwrap_or_else(|| current_dir.join("gate-junit.xml"));
    write(&junit_path, &Junit.render(verdicts))?;
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY") {
        let path = PathBuf::from(summary);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| {
                format!("cannot append to $GITHUB_STEP_SUMMARY ({})", path.display())
            })?;
        file.write_all(markdown.as_bytes())
            .with_context(|| format!("cannot append to {}", path.display()))?;
    }
    out!("{}", args.format.exporter().render(verdicts));
    eprintln!(
        "baseline {} ({}); wrote {} and {}",
        baseline.id(),
        baseline.dir.display(),
        md_path.display(),
        junit_path.display()
    );
    Ok(if outcome.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REGRESSION)
    })
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}
