//! `bench run`: run a suite, or finish an interrupted run.
//!
//! SIGINT or SIGTERM stops the run in order (see [`super::interrupt`]): the summary is written,
//! the manifest says `interrupted`, and bench exits 130. A store that cannot be written (a full
//! disk) stops it with an error naming the file, exit 1; either way `--resume` finishes it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;

use crate::clock::RunClock;
use crate::environment::Environment;
use crate::hardware::{Hardware, Table};
use crate::history::History;
use crate::plan::Plan;
use crate::power::monitor::{Health, Monitor};
use crate::power::select::{self, Selection, SourceSettings};
use crate::prompt_sets::PromptSets;
use crate::roofline;
use crate::runner::{self, PowerTap, RunnerConfig};
use crate::store::{
    self, BenchBuild, Manifest, PowerRecord, RunStatus, RunStore, StoreError, SuiteRecord,
    STORE_FORMAT,
};
use crate::suite;
use crate::summary;
use crate::terminal::roofline::footer as roofline_footer;
use crate::terminal::{end_of_run, progress::Progress};

use super::{interrupt, EXIT_FAILURES, EXIT_INTERRUPTED};

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

/// Run the suite `args.suite`, or finish the run `args.resume`, one step after another (see
/// [`Session`]).
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    interrupt::install();
    let mut session = Session::open(&args)?;
    let monitor = session.start_power(&args)?;
    let failures = match session.run_cases(&args, monitor.as_ref()) {
        Ok(failures) => failures,
        Err(e) => {
            // Stopped before the store, which is likely unwritable now: no summary.
            drop(monitor);
            return Ok(store_failed(&mut session.store, &e));
        }
    };
    session.stop_power(monitor)?;
    let finished = session.finish()?;
    finished.print(&args, &session.store, &failures)?;
    Ok(finished.exit_code(&session.store))
}

/// One session of a run, step by step: [`open`](Session::open) (create or resume) →
/// [`start_power`](Session::start_power) → [`run_cases`](Session::run_cases) →
/// [`stop_power`](Session::stop_power) → [`finish`](Session::finish) → [`Finished::print`].
struct Session {
    /// The run folder.
    store: RunStore,
    /// The suite, as given or as stored.
    suite: suite::Suite,
    /// The plan the manifest holds.
    plan: Plan,
    /// The power source to sample.
    selection: Selection,
    /// The run's clock (a resumed run continues its timeline).
    clock: RunClock,
    /// The prompt files the suite names, read.
    prompt_sets: PromptSets,
    /// (case, repetition) pairs measured before this session.
    done: HashSet<(String, u32)>,
    /// Runs (warmup and measured) this session has to do.
    pending: u64,
}

impl Session {
    /// Create the run of `args.suite`, or open the run `args.resume` to finish it, and say
    /// what is to do.
    fn open(args: &RunArgs) -> anyhow::Result<Self> {
        let (store, records, suite, selection, clock, prompt_sets) = match &args.resume {
            Some(dir) => open_for_resume(dir)?,
            None => {
                let path = args.suite.as_deref().context("a suite file is required")?;
                create(path, &args.results)?
            }
        };
        let plan = store.manifest().plan.clone();
        let done = runner::done_set(&records, &store::read_pattern_runs(store.dir())?);
        let pending = runner::pending_runs(&plan, &done);
        if !args.quiet {
            eprintln!(
                "{}: {} cases, {} runs to do → {}",
                store.manifest().run_id,
                plan.cases.len(),
                pending,
                store.dir().display()
            );
            eprintln!("power: {}", power_line(&store.manifest().power));
        }
        Ok(Self {
            store,
            suite,
            plan,
            selection,
            clock,
            prompt_sets,
            done,
            pending,
        })
    }

    /// Start sampling power (when there is a source and work to do), and measure the idle
    /// baseline the suite asks for.
    fn start_power(&mut self, args: &RunArgs) -> anyhow::Result<Option<Monitor>> {
        let monitor = match self.selection.source.take() {
            Some(source) if self.pending > 0 => Some(Monitor::start(
                source,
                self.clock,
                Some(self.store.power_sink()?),
            )),
            _ => None,
        };
        if let Some(monitor) = &monitor {
            measure_baseline(
                &mut self.store,
                monitor,
                &self.clock,
                self.suite.power.idle_baseline_s,
                args.quiet,
            )?;
        }
        Ok(monitor)
    }

    /// Run every measurement still missing, with progress on the terminal. An error only when
    /// the store cannot be written.
    fn run_cases(
        &mut self,
        args: &RunArgs,
        monitor: Option<&Monitor>,
    ) -> Result<Vec<runner::Failure>, StoreError> {
        let config = RunnerConfig {
            synth_cache: args
                .model_cache
                .clone()
                .unwrap_or_else(bench_workloads::synth::default_cache_root),
            pauses: runner::pause::PauseSettings::of(&self.suite.suite),
            prompt_sets: self.prompt_sets.clone(),
        };
        let baseline = self.store.manifest().power.baseline.clone();
        let interval = power_settings(&self.suite).interval;
        let mut power = PowerTap::new(monitor, baseline.as_ref(), interval);
        let mut progress = Progress::new(self.pending, args.quiet);
        let tools_done: HashSet<String> = store::read_tool_runs(self.store.dir())?
            .into_iter()
            .filter(|t| t.status == store::Status::Ok)
            .map(|t| t.case)
            .collect();
        let todo = runner::Todo {
            suite: &self.suite,
            plan: &self.plan,
            done: &self.done,
            tools_done: &tools_done,
        };
        let sinks = runner::Sinks {
            store: &mut self.store,
            clock: &self.clock,
            power: &mut power,
            observer: &mut progress,
        };
        let ran = runner::run(todo, &config, sinks);
        progress.finish();
        ran
    }

    /// Stop sampling power, keeping in the manifest why it failed, if it did.
    fn stop_power(&mut self, monitor: Option<Monitor>) -> anyhow::Result<()> {
        let Some(monitor) = monitor else {
            return Ok(());
        };
        let write_error = monitor.write_error();
        if let Health::Failed(error) = monitor.stop() {
            self.store
                .update_manifest(|m| m.power.failures.push(error))?;
        }
        if let Some(error) = write_error {
            self.store
                .update_manifest(|m| m.power.failures.push(error))?;
        }
        Ok(())
    }

    /// Summarize what the run holds, write its CSV files, settle its status and index it in
    /// the history.
    fn finish(&mut self) -> anyhow::Result<Finished> {
        let store = &mut self.store;
        let records = store::read_records(&store.dir().join(store::MEASUREMENTS))?;
        let pattern_runs = store::read_pattern_runs(store.dir())?;
        let summaries = summary::with_tools(
            &self.plan,
            &records,
            &pattern_runs,
            &store::read_tool_runs(store.dir())?,
            &crate::stats::bootstrap::BootstrapConfig::default(),
        );
        let measured = roofline::Measured {
            records: &records,
            pattern_runs: &pattern_runs,
        };
        let rooflines = rooflines(store, &summaries, measured)?;
        crate::report::write_summary_csv(
            &store.dir().join(store::SUMMARY),
            &summaries,
            &rooflines,
        )?;
        crate::report::write_conversations_csv(
            &store.dir().join(store::CONVERSATIONS),
            &summaries,
        )?;
        let still_to_do =
            runner::pending_runs(&self.plan, &runner::done_set(&records, &pattern_runs));
        let complete = still_to_do == 0;
        // An interrupt that came once everything was stored cost nothing: the run is complete.
        let interrupted = !complete && bench_workloads::cancel::is_requested();
        store.update_manifest(|m| {
            m.status = if complete {
                RunStatus::Complete
            } else if interrupted {
                RunStatus::Interrupted
            } else {
                RunStatus::Incomplete
            };
            m.finished_at = Some(now());
        })?;
        // After the status is final, so the index knows whether the run is complete.
        index_in_history(store, &summaries);
        Ok(Finished {
            summaries,
            rooflines,
            still_to_do,
            complete,
            interrupted,
        })
    }
}

/// What a finished session found: the summaries and how the run stands.
struct Finished {
    summaries: Vec<summary::CaseSummary>,
    rooflines: Vec<roofline::CaseRoofline>,
    /// Runs still missing.
    still_to_do: u64,
    complete: bool,
    interrupted: bool,
}

impl Finished {
    /// The summary (as JSON with `--json`, else as tables unless `--quiet`), then the failures.
    fn print(
        &self,
        args: &RunArgs,
        store: &RunStore,
        failures: &[runner::Failure],
    ) -> anyhow::Result<()> {
        let summaries = &self.summaries;
        if args.json {
            let out = serde_json::json!({
                "run_id": store.manifest().run_id,
                "dir": store.dir(),
                "status": store.manifest().status,
                "cases": summaries,
                "failures": failures,
            });
            outln!("{}", serde_json::to_string_pretty(&out)?);
        } else if !args.quiet {
            out!("{}", end_of_run::render(summaries));
            for lines in [
                end_of_run::load_footer(summaries),
                end_of_run::token_count_footer(summaries),
                end_of_run::server_footer(summaries),
                end_of_run::tool_footer(summaries),
                end_of_run::outlier_footer(summaries),
                roofline_footer(&self.rooflines),
                crate::terminal::scaling::footer(&crate::summary::scaling::scaling(summaries)),
                crate::terminal::search::footer(summaries),
                crate::terminal::conversation::footer(summaries),
            ]
            .into_iter()
            .flatten()
            {
                outln!("{lines}");
            }
            if let Some(line) = end_of_run::power_footer(summaries, &store.manifest().power) {
                outln!("{line}");
            }
            outln!(
                "run stored in {} (`bench report {}` makes its report pages)",
                store.dir().display(),
                store.dir().display()
            );
        }
        for f in failures {
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
        Ok(())
    }

    /// The exit code, and for a run left unfinished, how to finish it.
    fn exit_code(&self, store: &RunStore) -> ExitCode {
        if self.interrupted {
            eprintln!(
                "the run was interrupted with {} runs still to do; finish it with: bench run --resume {}",
                self.still_to_do,
                store.dir().display()
            );
            return ExitCode::from(EXIT_INTERRUPTED);
        }
        if !self.complete {
            eprintln!(
                "the run is incomplete; finish it with: bench run --resume {}",
                store.dir().display()
            );
            return ExitCode::from(EXIT_FAILURES);
        }
        ExitCode::SUCCESS
    }
}

/// The run stopped because its store could not be written (a full disk): say so and how to
/// finish it. Every line written before is whole, or cut off by `--resume`.
fn store_failed(store: &mut RunStore, error: &StoreError) -> ExitCode {
    eprintln!("error: {error}");
    // Best effort: on a full disk the manifest cannot be rewritten either, and a run left
    // `running` resumes just the same.
    let _ = store.update_manifest(|m| {
        m.status = RunStatus::Incomplete;
        m.finished_at = Some(now());
    });
    eprintln!(
        "the run stopped; what it stored is kept. Once the problem is fixed, finish it with: bench run --resume {}",
        store.dir().display()
    );
    ExitCode::from(EXIT_FAILURES)
}

/// What opening a run yields: its store, the measurements it already has, its suite, the power
/// source to sample, the run clock and the prompt files the suite names.
type Opened = (
    RunStore,
    Vec<store::Record>,
    suite::Suite,
    Selection,
    RunClock,
    PromptSets,
);

fn create(path: &Path, results: &Path) -> anyhow::Result<Opened> {
    let loaded = suite::load(path)?;
    if let Err(problem) = crate::runner::check_devices(&loaded.suite.targets) {
        anyhow::bail!(
            "{}: {problem}; nothing was run (check `nvidia-smi`, or use device = \"cpu\")",
            path.display()
        );
    }
    let plan = Plan::expand(&loaded.suite);
    let prompt_sets = PromptSets::load(&loaded.suite, &suite_folder(path))?;
    let selection = select_power(&loaded.suite, path)?;
    let clock = RunClock::start();
    let started = chrono::Utc::now();
    let environment = Environment::probe();
    let manifest = Manifest {
        pauses: Vec::new(),
        prompt_sets: prompt_sets.records(&plan),
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
        hardware: Some(Hardware::probe(&environment, &Table::builtin()?)),
        environment,
        engines: Default::default(),
        power: power_record(&loaded.suite, &selection),
    };
    let store = RunStore::create(results, manifest)
        .with_context(|| format!("cannot store results under {}", results.display()))?;
    Ok((
        store,
        Vec::new(),
        loaded.suite,
        selection,
        clock,
        prompt_sets,
    ))
}

fn open_for_resume(dir: &Path) -> anyhow::Result<Opened> {
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
    let prompt_sets = PromptSets::reload(&store.manifest().prompt_sets)?;
    let selection = select_power(&suite, &origin)?;
    // The resumed session continues the run's timeline, so samples and measurements of every
    // session sort together.
    let since_start = chrono::DateTime::parse_from_rfc3339(&store.manifest().started_at)
        .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).as_seconds_f64())
        .unwrap_or(0.0)
        .max(0.0);
    let clock = RunClock::resumed(since_start);
    let record = power_record(&suite, &selection);
    store.update_manifest(|m| {
        m.status = RunStatus::Running;
        m.resumed_at.push(now());
        let baseline = m.power.baseline.take();
        let failures = std::mem::take(&mut m.power.failures);
        m.power = PowerRecord {
            baseline,
            failures,
            ..record
        };
    })?;
    Ok((store, records, suite, selection, clock, prompt_sets))
}

/// The suite's `[power]`, with the exo target's API for the `exo` sampler.
fn power_settings(suite: &suite::Suite) -> SourceSettings {
    let exo_url = suite.targets.iter().find_map(|t| match &t.engine.value {
        suite::EngineKeys::Exo(exo) => exo.url.as_ref().map(|u| u.value.as_str()),
        _ => None,
    });
    SourceSettings::from_suite(&suite.power, exo_url)
}

fn select_power(suite: &suite::Suite, origin: &Path) -> anyhow::Result<Selection> {
    select::select(&power_settings(suite)).with_context(|| {
        format!(
            "{}: the power sampler the suite names cannot run here; use sampler = \"auto\" to take whatever works, or \"none\"",
            origin.display()
        )
    })
}

fn power_record(suite: &suite::Suite, selection: &Selection) -> PowerRecord {
    PowerRecord {
        requested: suite.power.sampler.value.as_str().into(),
        // A cluster's sources are one `cluster` source, whatever the suite named.
        used: selection
            .source
            .as_ref()
            .map_or(selection.used.as_str(), |s| s.name())
            .into(),
        note: selection.note.clone(),
        interval_ms: u64::from(suite.power.interval_ms.0),
        tried: selection.tried.clone(),
        baseline: None,
        failures: Vec::new(),
    }
}

/// One line on what power is measured.
fn power_line(power: &PowerRecord) -> String {
    if power.used == "none" {
        format!("not measured: {}", power.note)
    } else {
        format!(
            "{} every {} ms: {}",
            power.used, power.interval_ms, power.note
        )
    }
}

/// Sample idle power for `seconds` before the first measurement (once per run: a resumed run
/// keeps the baseline of its first session).
fn measure_baseline(
    store: &mut RunStore,
    monitor: &Monitor,
    clock: &RunClock,
    seconds: u32,
    quiet: bool,
) -> anyhow::Result<()> {
    if seconds == 0 || store.manifest().power.baseline.is_some() {
        return Ok(());
    }
    if !quiet {
        eprintln!("power: measuring idle power for {seconds} s (keep the machine idle)");
    }
    // The idle window starts once sampling has: a trace cannot cover time before its first
    // sample.
    monitor.wait_until(clock.now_s(), std::time::Duration::from_secs(5));
    let start = clock.now_s();
    if !bench_workloads::cancel::sleep(std::time::Duration::from_secs(u64::from(seconds))) {
        // Interrupted: a shorter idle window is no baseline; the resumed run measures one.
        return Ok(());
    }
    let end = clock.now_s();
    monitor.wait_until(end, std::time::Duration::from_secs(3));
    let baseline = monitor.baseline(start, end);
    if baseline.watts.is_empty() {
        if !quiet {
            eprintln!("power: no idle baseline: the samples do not cover the idle period");
        }
        return Ok(());
    }
    if !quiet {
        let rails: Vec<String> = baseline
            .watts
            .iter()
            .map(|(rail, w)| format!("{rail} {w:.2} W"))
            .collect();
        eprintln!("power: idle baseline {}", rails.join(", "));
    }
    store.update_manifest(|m| m.power.baseline = Some(baseline))?;
    Ok(())
}

/// Add the run to the history index of its results root (the run folder's parent, also with
/// `--resume`). Failing is only a warning: the measurements are safe in the run folder, and
/// `bench history` indexes it later.
fn index_in_history(store: &RunStore, summaries: &[summary::CaseSummary]) {
    let root = match store.dir().parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let indexed = History::open(root)
        .and_then(|mut history| history.index_summaries(store.dir(), store.manifest(), summaries));
    if let Err(e) = indexed {
        eprintln!(
            "warning: the run is stored, but not in the history index ({e}); \
             `bench history --reindex --results {}` rebuilds the index from the run folders",
            root.display()
        );
    }
}

/// The cases' roofline figures, against the table and the calibration stored in the results
/// root (the run folder's parent). A calibration that cannot be read is a warning: the figures
/// that need it are left out and say why.
fn rooflines(
    store: &RunStore,
    summaries: &[summary::CaseSummary],
    measured: roofline::Measured,
) -> anyhow::Result<Vec<roofline::CaseRoofline>> {
    let root = match store.dir().parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let table = Table::builtin()?;
    let sources = roofline::Sources::load(root, store.manifest(), &table).unwrap_or_else(|e| {
        eprintln!("warning: calibration not used ({e}); `bench calibrate` stores a new one");
        roofline::Sources::of(store.manifest(), &table, None)
    });
    Ok(roofline::of_run(summaries, measured, &sources))
}

/// The folder a suite file's relative paths (its prompt files) start from.
pub(super) fn suite_folder(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
