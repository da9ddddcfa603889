//! `bench run`: run a suite, or finish an interrupted run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;

use crate::environment::Environment;
use crate::plan::Plan;
use crate::runner::{self, RunnerConfig};
use crate::store::{
    self, BenchBuild, Manifest, PowerRecord, RunStatus, RunStore, SuiteRecord, STORE_FORMAT,
};
use crate::suite::{self, SamplerKind};
use crate::summary;
use crate::terminal::{progress::Progress, table};

use super::EXIT_FAILURES;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The suite to run (TOML; see `bench schema` and suites/).
    #[arg(required_unless_present = "resume", conflicts_with = "resume")]
    suite: Option<PathBuf>,
    /// Finish the run in this folder: run only the measurements it lacks, with the suite
    /// stored in its manifest.
    #[arg(long, value_name = "RUN_DIR")]
    resume: Option<PathBuf>,
    /// Where run folders are created.
    #[arg(long, default_value = "results", env = "BENCH_RESULTS")]
    results: PathBuf,
    /// Cache of synthesized models (default: $BENCH_CACHE_DIR/models, else
    /// ~/.cache/bench/models).
    #[arg(long, value_name = "DIR")]
    model_cache: Option<PathBuf>,
    /// No progress output; errors only.
    #[arg(short, long)]
    quiet: bool,
    /// Print the summary as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let (mut store, records, loaded_suite) = match &args.resume {
        Some(dir) => open_for_resume(dir)?,
        None => {
            let path = args.suite.as_deref().context("a suite file is required")?;
            create(path, &args.results)?
        }
    };
    let plan = store.manifest().plan.clone();
    let done = runner::done_set(&records);
    let pending = runner::pending_runs(&plan, &done);
    if !args.quiet {
        eprintln!(
            "{}: {} cases, {} runs to do → {}",
            store.manifest().run_id,
            plan.cases.len(),
            pending,
            store.dir().display()
        );
    }

    let config = RunnerConfig {
        synth_cache: args
            .model_cache
            .clone()
            .unwrap_or_else(bench_workloads::synth::default_cache_root),
    };
    let mut progress = Progress::new(pending, args.quiet);
    let failures = runner::run(
        &loaded_suite,
        &plan,
        &mut store,
        &done,
        &config,
        &mut progress,
    )?;
    progress.finish();

    let records = store::read_records(&store.dir().join(store::MEASUREMENTS))?;
    let summaries = summary::summarize(&plan, &records);
    store::write_summary_csv(&store.dir().join(store::SUMMARY), &summaries)?;
    let complete = runner::pending_runs(&plan, &runner::done_set(&records)) == 0;
    store.update_manifest(|m| {
        m.status = if complete {
            RunStatus::Complete
        } else {
            RunStatus::Incomplete
        };
        m.finished_at = Some(now());
    })?;

    if args.json {
        let out = serde_json::json!({
            "run_id": store.manifest().run_id,
            "dir": store.dir(),
            "status": store.manifest().status,
            "cases": summaries,
            "failures": failures,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if !args.quiet {
        print!("{}", table::render(&summaries));
        println!("run stored in {}", store.dir().display());
    }
    for f in &failures {
        eprintln!(
            "failed: {}{}: {}",
            f.target,
            f.case
                .as_deref()
                .map(|c| format!(" {c}"))
                .unwrap_or_default(),
            f.error
        );
    }
    if !complete {
        eprintln!(
            "the run is incomplete; finish it with: bench run --resume {}",
            store.dir().display()
        );
        return Ok(ExitCode::from(EXIT_FAILURES));
    }
    Ok(ExitCode::SUCCESS)
}

fn create(
    path: &Path,
    results: &Path,
) -> anyhow::Result<(RunStore, Vec<store::Record>, suite::Suite)> {
    let loaded = suite::load(path)?;
    let plan = Plan::expand(&loaded.suite);
    let started = chrono::Utc::now();
    let manifest = Manifest {
        format: STORE_FORMAT,
        run_id: format!(
            "{}-{}",
            started.format("%Y%m%dT%H%M%SZ"),
            loaded.suite.suite.name
        ),
        status: RunStatus::Running,
        started_at: now(),
        finished_at: None,
        resumed_at: Vec::new(),
        bench: BenchBuild::current(),
        suite: SuiteRecord {
            path: path.display().to_string(),
            source: loaded.source.clone(),
            parsed: serde_json::to_value(&loaded.suite)?,
        },
        plan,
        environment: Environment::probe(),
        engines: Default::default(),
        power: power_record(loaded.suite.power.sampler.value),
    };
    let store = RunStore::create(results, manifest)
        .with_context(|| format!("cannot store results under {}", results.display()))?;
    Ok((store, Vec::new(), loaded.suite))
}

fn open_for_resume(dir: &Path) -> anyhow::Result<(RunStore, Vec<store::Record>, suite::Suite)> {
    let (mut store, records) =
        RunStore::open(dir).with_context(|| format!("cannot resume {}", dir.display()))?;
    let origin = PathBuf::from(format!(
        "{} (stored in {})",
        store.manifest().suite.path,
        store::MANIFEST
    ));
    let suite = suite::parse(&store.manifest().suite.source, &origin)?;
    if Plan::expand(&suite) != store.manifest().plan {
        bail!(
            "{}: the stored plan does not match its stored suite; this run was written by another version of bench",
            dir.join(store::MANIFEST).display()
        );
    }
    store.update_manifest(|m| {
        m.status = RunStatus::Running;
        m.resumed_at.push(now());
    })?;
    Ok((store, records, suite))
}

fn power_record(requested: SamplerKind) -> PowerRecord {
    let requested = serde_json::to_value(requested)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    PowerRecord {
        note: if requested == "none" {
            "power sampling was turned off by the suite".into()
        } else {
            "no power sampler is available in this version of bench; nothing was sampled".into()
        },
        requested,
        used: "none".into(),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
