//! `bench report RUN...`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use crate::report::Report;
use crate::stats::bootstrap::BootstrapConfig;
use crate::store::{newest_run, read_power, read_run_or_baseline};

/// Turn runs into a static HTML site, or into Markdown or CSV tables.
///
/// The site has an index of the runs, a page per run (machine, engines, per-case tables with
/// 95 % intervals, charts, warnings) and, given two or more runs, a comparison page (speedup of
/// each later run over the first, with intervals and verdicts). Everything is in the folder:
/// no script, font or stylesheet is fetched, charts are SVG, themes follow the reader's light
/// or dark setting. Put the folder on any static host.
///
///   bench report results/<m4 run> results/<m5 run> --out reports/m5-vs-m4
///   bench report results/<run> --format md > results.md
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run folders (or baseline files); the first is the base of comparisons. Default: the
    /// newest run under --results.
    runs: Vec<PathBuf>,
    /// Output folder [default: reports/<newest run's id>]; for Markdown, without --out the
    /// tables go to standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// `html` (a site), `md` (every table as Markdown) or `csv` (one file per table).
    #[arg(long, value_enum, default_value_t = ReportFormat::Html)]
    format: ReportFormat,
    /// The results folder (for the default run).
    #[arg(long, default_value = "results", env = "BENCH_RESULTS")]
    results: PathBuf,
}

/// Output formats of `bench report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// A static site: index.html, a page per run, compare.html.
    Html,
    /// Markdown tables.
    Md,
    /// CSV files, one per table.
    Csv,
}

/// Run `bench report`.
pub fn run(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let paths = if args.runs.is_empty() {
        vec![newest_run(&args.results)?.with_context(|| {
            format!(
                "no run under {} to report; name one",
                args.results.display()
            )
        })?]
    } else {
        args.runs.clone()
    };
    let mut runs = Vec::new();
    for path in &paths {
        let run = read_run_or_baseline(path)
            .with_context(|| format!("cannot read run {}", path.display()))?;
        let power = if path.is_dir() {
            read_power(path)
                .with_context(|| format!("cannot read the power samples of {}", path.display()))?
        } else {
            Vec::new()
        };
        runs.push((run, power));
    }
    let last_id = runs
        .last()
        .map(|(r, _)| r.id().to_string())
        .unwrap_or_default();
    let report = Report::build(runs, &BootstrapConfig::default());
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&last_id));
    match args.format {
        ReportFormat::Html => {
            let pages = report.write_html(&out)?;
            outln!(
                "{} pages in {}; open {}",
                pages.len(),
                out.display(),
                out.join("index.html").display()
            );
        }
        ReportFormat::Md => match &args.out {
            None => out!("{}", report.markdown()),
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                let path = dir.join("report.md");
                std::fs::write(&path, report.markdown())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                outln!("{}", path.display());
            }
        },
        ReportFormat::Csv => {
            let files = report.write_csv(&out)?;
            outln!("{} tables as CSV in {}", files.len(), out.display());
        }
    }
    for reason in &report.not_compared {
        eprintln!("not compared: {reason}");
    }
    Ok(ExitCode::SUCCESS)
}
