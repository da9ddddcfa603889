//! The runner: drives each target's engine through its cases (warmups, then measured
//! repetitions), storing every measurement the moment it finishes.
//!
//! An interrupt ([`bench_workloads::cancel`]) stops it between runs, and ends the run in
//! progress: a measurement that fails once the interrupt came is not stored (the interrupt,
//! not the engine, ended it), so `--resume` makes it again.

mod conversation;
mod engines;
mod image;
mod pattern;
pub mod pause;
mod power;
mod prompts;
mod search;
mod single;

use std::collections::HashSet;
use std::path::PathBuf;

use bench_workloads::cancel;
use bench_workloads::cost::GgufWeights;

pub use engines::check_devices;
pub use power::PowerTap;

use crate::clock::RunClock;
use crate::plan::{Case, Plan};
use crate::store::{PatternRun, Record, RunStore, Status, StoreError, ToolRun};
use crate::suite::{DeviceKind, EngineSetup, Suite, Target};

/// What the runner reports while it works (to a progress bar, a log, or nothing).
pub trait Observer {
    /// A target's model is being resolved (maybe synthesized) and its engine opened.
    fn opening(&mut self, target: &str, model: &str);
    /// A target's engine is ready.
    fn opened(&mut self, target: &str, open_s: f64);
    /// A target's engine could not be opened; its cases are skipped.
    fn open_failed(&mut self, target: &str, error: &str);
    /// A run of `case` starts; `repetition` is `None` for a warmup.
    fn starting(&mut self, case: &Case, repetition: Option<u32>);
    /// A run finished; `record` is `None` for a warmup.
    fn finished(&mut self, case: &Case, record: Option<&Record>);
    /// The power sampler stopped working; measurements go on without energy figures.
    fn power_lost(&mut self, error: &str);
    /// A request of a load pattern ended: `done` of `planned` (when known) so far.
    fn request_done(&mut self, case: &Case, done: u32, planned: Option<u32>) {
        let _ = (case, done, planned);
    }
    /// A load pattern (one repetition of a load case) ended.
    fn pattern_finished(&mut self, case: &Case, run: &PatternRun);
    /// The engine's own benchmark tool ran on a case's work.
    fn tool_finished(&mut self, case: &Case, run: &ToolRun);
}

/// What the runner hands to the code that runs one case.
struct Context<'a, 'p> {
    store: &'a mut RunStore,
    clock: &'a RunClock,
    power: &'a mut PowerTap<'p>,
    observer: &'a mut dyn Observer,
    failures: &'a mut Vec<Failure>,
    target: &'a str,
    /// Cases started so far in this session (the first gets no cooldown).
    cases_started: &'a mut u32,
    /// The prompt files the suite names.
    prompt_sets: &'a crate::prompt_sets::PromptSets,
}

impl Context<'_, '_> {
    /// The suite's pause before `case`, kept in the manifest.
    fn pause_before(
        &mut self,
        case: &Case,
        settings: &pause::PauseSettings,
    ) -> Result<(), StoreError> {
        let first = *self.cases_started == 0;
        *self.cases_started += 1;
        let power = &*self.power;
        let poll = power.interval().max(std::time::Duration::from_millis(200));
        let Some(pause) =
            pause::before_case(settings, &case.id, first, &mut || power.pressure(), poll)
        else {
            return Ok(());
        };
        self.store.update_manifest(|m| m.pauses.push(pause))
    }

    fn fail(&mut self, case: &Case, error: String) {
        self.failures.push(Failure {
            target: self.target.to_string(),
            case: Some(case.id.clone()),
            error,
        });
    }

    /// The target's engine is loaded: describe it in the manifest and say so. A server's
    /// `server_device` is kept beside it as `roofline_device`, the device its roofline figures
    /// are held against, and the weights of its `gguf` as `gguf`.
    fn engine_ready(
        &mut self,
        info: &bench_workloads::engine::EngineInfo,
        setup: &EngineSetup,
        gguf: Option<&GgufWeights>,
    ) -> Result<(), StoreError> {
        let key = self.target.to_string();
        let mut value = serde_json::to_value(info).unwrap_or_default();
        if let Some(object) = value.as_object_mut() {
            if let Some(device) = setup.server_device() {
                let name = match device {
                    DeviceKind::Cpu => "cpu",
                    DeviceKind::Metal => "metal:0",
                    DeviceKind::Cuda => "cuda:0",
                };
                object.insert("roofline_device".into(), name.into());
            }
            if let Some(weights) = gguf.and_then(|g| serde_json::to_value(g).ok()) {
                object.insert("gguf".into(), weights);
            }
        }
        self.store.update_manifest(|m| {
            m.engines.insert(key.clone(), value);
        })?;
        self.observer.opened(&key, info.open_s);
        Ok(())
    }

    /// The target's engine could not be opened: say so, keep the reason in the manifest, skip
    /// its cases.
    fn open_failed(&mut self, error: String) -> Result<(), StoreError> {
        let key = self.target.to_string();
        self.observer.open_failed(&key, &error);
        self.store.update_manifest(|m| {
            m.engines
                .insert(key.clone(), serde_json::json!({ "error": error }));
        })?;
        self.failures.push(Failure {
            target: key,
            case: None,
            error,
        });
        Ok(())
    }

    /// Describe, in the manifest, the prompt files of `cases` in tokens by the target's
    /// tokenizer (once per file and target).
    fn count_prompt_tokens(
        &mut self,
        engine: &dyn bench_workloads::engine::LlmEngine,
        cases: &[(&Case, Vec<u32>)],
    ) -> Result<(), StoreError> {
        let target = self.target.to_string();
        for (case, _) in cases {
            let Some(crate::plan::PromptSource::File { path, .. }) =
                case.text().and_then(|t| t.prompts.as_ref())
            else {
                continue;
            };
            let counted = self
                .store
                .manifest()
                .prompt_sets
                .get(&case.workload)
                .is_none_or(|r| r.prompt_tokens.contains_key(&target));
            let Some(set) = self.prompt_sets.get(path).filter(|_| !counted) else {
                continue;
            };
            let counts: Option<Vec<u64>> = set
                .items
                .iter()
                .map(|i| engine.count_tokens(&i.prompt).map(|n| n as u64))
                .collect();
            let Some(stats) = counts.and_then(bench_workloads::prompts::LengthStats::of) else {
                continue;
            };
            let record = crate::prompt_sets::TokenStats {
                counted_by: format!(
                    "tokenizer.json of the target's model ({})",
                    engine.info().model.spec
                ),
                stats,
            };
            let workload = case.workload.clone();
            self.store.update_manifest(|m| {
                if let Some(set) = m.prompt_sets.get_mut(&workload) {
                    set.prompt_tokens.insert(target.clone(), record);
                }
            })?;
        }
        Ok(())
    }

    fn now_utc() -> String {
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// Energy over `phases` (the first spans the measurement); a sampler that stopped is
    /// reported the first time it is seen.
    fn energy(
        &mut self,
        phases: &[crate::power::Phase],
    ) -> Option<crate::power::MeasurementEnergy> {
        let (energy, lost) = self.power.measure(phases);
        if let Some(error) = lost {
            self.observer.power_lost(&error);
        }
        energy
    }

    /// Run `case.warmup` unmeasured runs of `run`; the first failure is returned as the reason
    /// every measured repetition fails (unless bench was interrupted: then nothing failed).
    fn warm_up<E: std::fmt::Display>(
        &mut self,
        case: &Case,
        mut run: impl FnMut() -> Result<(), E>,
    ) -> Option<String> {
        for _ in 0..case.warmup {
            if cancel::is_requested() {
                return None;
            }
            self.observer.starting(case, None);
            let result = run();
            self.observer.finished(case, None);
            if let Err(e) = result {
                return (!cancel::is_requested()).then(|| format!("warmup failed: {e}"));
            }
        }
        None
    }

    /// Measure each `missing` repetition of `case` with `measure` (given the repetition, its
    /// wall-clock start and its start on the run clock), or record `warmup_error` for it;
    /// each record is stored the moment it exists.
    fn repetitions(
        &mut self,
        case: &Case,
        missing: &[u32],
        warmup_error: Option<String>,
        mut measure: impl FnMut(&mut Self, u32, String, f64) -> Result<Record, StoreError>,
    ) -> Result<(), StoreError> {
        for &repetition in missing {
            if cancel::is_requested() {
                break;
            }
            self.observer.starting(case, Some(repetition));
            let started_at = Self::now_utc();
            let t_start_s = self.clock.now_s();
            let record = match &warmup_error {
                Some(e) => Record::failed(case, repetition, started_at, t_start_s, e.clone()),
                None => measure(self, repetition, started_at, t_start_s)?,
            };
            if record.status != Status::Ok && cancel::is_requested() {
                break;
            }
            self.store.append(&record)?;
            if let Some(error) = &record.error {
                self.fail(case, error.clone());
            }
            self.observer.finished(case, Some(&record));
        }
        Ok(())
    }
}

/// Where runs find their inputs.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Cache of synthesized model folders.
    pub synth_cache: PathBuf,
    /// What to do before each case (cooldown, thermal wait).
    pub pauses: pause::PauseSettings,
    /// The prompt files the suite names, read.
    pub prompt_sets: crate::prompt_sets::PromptSets,
}

/// A failure that kept planned measurements from being made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    /// The target.
    pub target: String,
    /// The case, when the failure was one measurement's.
    pub case: Option<String>,
    /// The message.
    pub error: String,
}

/// The repetitions of `case` that have no `ok` record yet.
pub fn missing_repetitions(case: &Case, done: &HashSet<(String, u32)>) -> Vec<u32> {
    (0..case.repetitions)
        .filter(|r| !done.contains(&(case.id.clone(), *r)))
        .collect()
}

/// (case, repetition) pairs already measured: an `ok` record of a single-request case (of a
/// conversation: of its last turn), an
/// `ok` line in `loads.jsonl` for a load pattern (its requests may have failed one by one),
/// or for a rate search, the `ok` line of the probe it ended with.
pub fn done_set(records: &[Record], pattern_runs: &[PatternRun]) -> HashSet<(String, u32)> {
    records
        .iter()
        .filter(|r| r.status == Status::Ok && r.pattern_slot.is_none())
        .filter(|r| {
            r.conversation
                .as_ref()
                .is_none_or(|c| c.turn >= r.header.params.turns)
        })
        .map(|r| (r.header.case.clone(), r.header.repetition))
        .chain(
            pattern_runs
                .iter()
                .filter(|l| l.status == Status::Ok && l.search.is_none_or(|s| s.last))
                .map(|l| (l.header.case.clone(), l.header.repetition)),
        )
        .collect()
}

/// Runs (warmup + measured) still to do.
pub fn pending_runs(plan: &Plan, done: &HashSet<(String, u32)>) -> u64 {
    plan.cases
        .iter()
        .map(|c| {
            let missing = missing_repetitions(c, done).len() as u64;
            if missing == 0 {
                0
            } else {
                missing + u64::from(c.warmup)
            }
        })
        .sum()
}

/// Open the engine of `target` (on `nodes` for clusters) and run `cases` (with their missing
/// repetitions), then the engine's own benchmark tool on `tool_cases`.
fn run_engine(
    ctx: &mut Context<'_, '_>,
    target: &Target,
    setup: &EngineSetup,
    nodes: Option<u32>,
    config: &RunnerConfig,
    cases: &[(&Case, Vec<u32>)],
    tool_cases: &[&Case],
) -> Result<(), StoreError> {
    let key = ctx.target.to_string();
    ctx.observer.opening(&key, &setup.model);
    if target.makes_images() {
        return run_image_engine(ctx, setup, nodes, config, cases);
    }
    let gguf = match setup.gguf().map(gguf_weights).transpose() {
        Ok(gguf) => gguf,
        Err(e) => return ctx.open_failed(e),
    };
    let mut engine = match engines::open(setup, nodes, &config.synth_cache) {
        Ok(engine) => engine,
        // Not the target's fault: it loads when the run is resumed.
        Err(_) if cancel::is_requested() => return Ok(()),
        Err(e) => return ctx.open_failed(e.to_string()),
    };
    ctx.engine_ready(engine.info(), setup, gguf.as_ref())?;
    ctx.count_prompt_tokens(engine.as_ref(), cases)?;
    for (case, missing) in cases {
        if cancel::is_requested() {
            return Ok(());
        }
        ctx.pause_before(case, &config.pauses)?;
        // Image cases never reach a text engine (their target makes images).
        let Some(text) = case.text() else {
            continue;
        };
        match (&text.search, &text.load) {
            (Some(spec), Some(pattern)) => {
                search::run_case(ctx, engine.as_mut(), case, spec, pattern, missing)?
            }
            (_, None) if text.params.turns > 0 => {
                conversation::run_case(ctx, engine.as_mut(), case, missing)?
            }
            (_, None) => single::run_case(ctx, engine.as_mut(), case, missing)?,
            (None, Some(pattern)) => {
                pattern::run_case(ctx, engine.as_mut(), case, pattern, missing)?
            }
        }
    }
    for case in tool_cases {
        if cancel::is_requested() {
            break;
        }
        let Some(text) = case.text() else {
            continue;
        };
        let request = bench_workloads::engine::LlmRequest::exact(
            text.params.prompt_tokens as usize,
            text.params.gen_tokens as usize,
            text.params.depth as usize,
        );
        let Some(outcome) = engine.own_benchmark(&request, case.repetitions) else {
            break;
        };
        if outcome.is_err() && cancel::is_requested() {
            break;
        }
        let run = ToolRun::of(case, outcome.map_err(|e| e.to_string()));
        ctx.store.append_tool_run(&run)?;
        if let Some(error) = &run.error {
            ctx.fail(case, error.clone());
        }
        ctx.observer.tool_finished(case, &run);
    }
    Ok(())
}

/// The weights of the GGUF a target names (`gguf`), or why they cannot be counted.
fn gguf_weights(path: &str) -> Result<GgufWeights, String> {
    let model = bench_workloads::gguf::read_model(std::path::Path::new(path))
        .map_err(|e| format!("`gguf`: {e}"))?;
    bench_workloads::cost::gguf_weights(&model).map_err(|e| format!("`gguf`: {e}"))
}

/// Load the diffusion engine of `setup` and run its `cases`.
fn run_image_engine(
    ctx: &mut Context<'_, '_>,
    setup: &EngineSetup,
    nodes: Option<u32>,
    config: &RunnerConfig,
    cases: &[(&Case, Vec<u32>)],
) -> Result<(), StoreError> {
    let mut engine = match engines::open_images(setup, nodes, &config.synth_cache) {
        Ok(engine) => engine,
        Err(_) if cancel::is_requested() => return Ok(()),
        Err(e) => return ctx.open_failed(e.to_string()),
    };
    ctx.engine_ready(engine.info(), setup, None)?;
    for (case, missing) in cases {
        if cancel::is_requested() {
            return Ok(());
        }
        ctx.pause_before(case, &config.pauses)?;
        if let Some(image) = case.image() {
            image::run_case(ctx, engine.as_mut(), case, image, missing)?;
        }
    }
    Ok(())
}

/// What a session runs: the suite's targets, its plan, and what earlier sessions stored.
#[derive(Debug, Clone, Copy)]
pub struct Todo<'a> {
    /// The suite, whose targets name the engines.
    pub suite: &'a Suite,
    /// The cases.
    pub plan: &'a Plan,
    /// (case, repetition) pairs already measured ([`done_set`]).
    pub done: &'a HashSet<(String, u32)>,
    /// Cases the engine's own benchmark tool has already run.
    pub tools_done: &'a HashSet<String>,
}

/// Where a session's measurements go, and what times and powers them.
pub struct Sinks<'a, 'p> {
    /// The run folder every measurement is appended to.
    pub store: &'a mut RunStore,
    /// The run's clock.
    pub clock: &'a RunClock,
    /// The energy of each measurement.
    pub power: &'a mut PowerTap<'p>,
    /// Told of each step (a progress bar, a log, or nothing).
    pub observer: &'a mut dyn Observer,
}

/// Run every missing measurement of `todo`, appending to the store of `sinks`, timing on its
/// clock and taking energy from its power tap. Returns the failures; an error only when the
/// store itself cannot be written. Returns early, with what it stored, once bench is
/// interrupted.
pub fn run(
    todo: Todo<'_>,
    config: &RunnerConfig,
    sinks: Sinks<'_, '_>,
) -> Result<Vec<Failure>, StoreError> {
    let Sinks {
        store,
        clock,
        power,
        observer,
    } = sinks;
    let mut failures = Vec::new();
    let mut cases_started = 0;
    // One group per target and node count: an exo target with a list of node counts runs
    // each on its own instance.
    for group in todo.plan.groups() {
        if cancel::is_requested() {
            return Ok(failures);
        }
        let Some(target) = todo.suite.targets.iter().find(|t| t.name.0 == group.target) else {
            continue;
        };
        let setup = target.engine_setup();
        let key = match group.nodes {
            Some(n) if target.nodes().is_some_and(|g| g.values().len() > 1) => {
                format!("{}/n{n}", group.target)
            }
            _ => group.target.to_string(),
        };
        let cases: Vec<(&Case, Vec<u32>)> = group
            .cases
            .iter()
            .map(|&c| (c, missing_repetitions(c, todo.done)))
            .filter(|(_, missing)| !missing.is_empty())
            .collect();
        // Cases whose work the engine's own benchmark tool still has to run (mlx-lm).
        let tool_cases: Vec<&Case> = group
            .cases
            .iter()
            .copied()
            // An engine's own tool runs prompts of one length.
            .filter(|c| {
                c.text()
                    .is_some_and(|t| t.load.is_none() && t.prompts.is_none() && t.params.turns == 0)
            })
            .filter(|c| !todo.tools_done.contains(&c.id))
            .filter(|_| setup.runs_own_benchmark())
            .collect();
        if cases.is_empty() && tool_cases.is_empty() {
            continue;
        }
        let mut ctx = Context {
            store: &mut *store,
            clock,
            power: &mut *power,
            observer: &mut *observer,
            failures: &mut failures,
            target: &key,
            cases_started: &mut cases_started,
            prompt_sets: &config.prompt_sets,
        };
        run_engine(
            &mut ctx,
            target,
            &setup,
            group.nodes,
            config,
            &cases,
            &tool_cases,
        )?;
    }
    Ok(failures)
}
