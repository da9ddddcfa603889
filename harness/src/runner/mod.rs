//! The runner: drives each target's engine through its cases (warmups, then measured
//! repetitions), storing every measurement the moment it finishes.

mod engines;
mod power;

use std::collections::HashSet;
use std::path::PathBuf;

use bench_workloads::engine::LlmRequest;

pub use power::PowerTap;

use crate::clock::RunClock;
use crate::plan::{Case, Plan};
use crate::store::{Record, RunStore, Status, StoreError};
use crate::suite::Suite;

/// What the runner reports while it works (to a progress bar, a log, or nothing).
pub trait Observer {
    /// A target's model is being resolved (maybe synthesized) and loaded.
    fn loading(&mut self, target: &str, model: &str);
    /// A target's engine is ready.
    fn loaded(&mut self, target: &str, load_s: f64);
    /// A target could not be loaded; its cases are skipped.
    fn load_failed(&mut self, target: &str, error: &str);
    /// A run of `case` starts; `repetition` is `None` for a warmup.
    fn starting(&mut self, case: &Case, repetition: Option<u32>);
    /// A run finished; `record` is `None` for a warmup.
    fn finished(&mut self, case: &Case, record: Option<&Record>);
    /// The power sampler stopped working; measurements go on without energy figures.
    fn power_lost(&mut self, error: &str);
}

/// Where runs find their inputs.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Cache of synthesized model folders.
    pub synth_cache: PathBuf,
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

/// (case, repetition) pairs already measured.
pub fn done_set(records: &[Record]) -> HashSet<(String, u32)> {
    records
        .iter()
        .filter(|r| r.status == Status::Ok)
        .map(|r| (r.case.clone(), r.repetition))
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

/// Run every missing measurement of `plan`, appending to `store`, timing on `clock` and
/// taking energy from `power`. Returns the failures; an error only when the store itself
/// cannot be written.
#[allow(clippy::too_many_arguments)]
pub fn run(
    suite: &Suite,
    plan: &Plan,
    store: &mut RunStore,
    done: &HashSet<(String, u32)>,
    config: &RunnerConfig,
    clock: &RunClock,
    power: &mut PowerTap<'_>,
    observer: &mut dyn Observer,
) -> Result<Vec<Failure>, StoreError> {
    let mut failures = Vec::new();
    for target in &suite.targets {
        let name = target.name.value.to_string();
        let cases: Vec<(&Case, Vec<u32>)> = plan
            .cases
            .iter()
            .filter(|c| c.target == name)
            .map(|c| (c, missing_repetitions(c, done)))
            .filter(|(_, missing)| !missing.is_empty())
            .collect();
        if cases.is_empty() {
            continue;
        }
        observer.loading(&name, &target.model);
        let mut engine = match engines::open(target, &config.synth_cache) {
            Ok(engine) => engine,
            Err(e) => {
                let error = e.to_string();
                observer.load_failed(&name, &error);
                store.update_manifest(|m| {
                    m.engines
                        .insert(name.clone(), serde_json::json!({ "error": error }));
                })?;
                failures.push(Failure {
                    target: name.clone(),
                    case: None,
                    error,
                });
                continue;
            }
        };
        let info = serde_json::to_value(engine.info()).unwrap_or_default();
        store.update_manifest(|m| {
            m.engines.insert(name.clone(), info);
        })?;
        observer.loaded(&name, engine.info().load_s);

        for (case, missing) in cases {
            let request = LlmRequest {
                prompt_tokens: case.params.prompt_tokens as usize,
                gen_tokens: case.params.gen_tokens as usize,
            };
            let mut warmup_error = None;
            for _ in 0..case.warmup {
                observer.starting(case, None);
                let result = engine.generate(&request);
                observer.finished(case, None);
                if let Err(e) = result {
                    warmup_error = Some(format!("warmup failed: {e}"));
                    break;
                }
            }
            for repetition in missing {
                observer.starting(case, Some(repetition));
                let started_at =
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let t_start_s = clock.now_s();
                let record = match &warmup_error {
                    Some(e) => Record::failed(case, repetition, started_at, t_start_s, e.clone()),
                    None => match engine.generate(&request) {
                        Ok(m) => {
                            let (energy, lost) = power.measure(&PowerTap::llm_phases(clock, &m));
                            if let Some(error) = lost {
                                observer.power_lost(&error);
                            }
                            Record::measured(case, repetition, started_at, clock.at(m.started), &m)
                                .with_energy(energy)
                        }
                        Err(e) => {
                            Record::failed(case, repetition, started_at, t_start_s, e.to_string())
                        }
                    },
                };
                store.append(&record)?;
                if let Some(error) = &record.error {
                    failures.push(Failure {
                        target: name.clone(),
                        case: Some(case.id.clone()),
                        error: error.clone(),
                    });
                }
                observer.finished(case, Some(&record));
            }
        }
    }
    Ok(failures)
}
