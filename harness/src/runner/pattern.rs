//! Cases of an arrival pattern: each repetition runs the case's pattern; every measured
//! request is stored the moment it ends, and the pattern's summary (`loads.jsonl`) when the
//! pattern ends.
//!
//! A pattern an interrupt cuts short gets no summary, so `--resume` runs it again (as after a
//! crash); the requests it finished stay stored, those the interrupt ended are not stored.

use bench_workloads::cancel;
use bench_workloads::engine::LlmEngine;
use bench_workloads::engine::LlmPatternRequest;
use bench_workloads::load::LoadPattern;

use super::prompts::{CasePrompts, Place};
use super::Context;
use crate::plan::Case;
use crate::power::Phase;
use crate::store::{PatternRun, PatternSlot, Record, Status, StoreError};

/// Run the `missing` repetitions of a load case.
pub(super) fn run_case(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn LlmEngine,
    case: &Case,
    pattern: &LoadPattern,
    missing: &[u32],
) -> Result<(), StoreError> {
    let not_served = engine.pattern_server().is_none().then(|| {
        format!(
            "the {} engine runs one request at a time; it cannot run load patterns",
            engine.info().engine
        )
    });
    let warmup_error = match (not_served, CasePrompts::of(case, ctx.prompt_sets)) {
        (Some(e), _) | (None, Err(e)) => Some(e),
        (None, Ok(prompts)) => warm_up(ctx, engine, case, &prompts),
    };
    for &repetition in missing {
        if cancel::is_requested() {
            break;
        }
        ctx.observer.starting(case, Some(repetition));
        let started_at = Context::now_utc();
        let t_start_s = ctx.clock.now_s();
        let run = match &warmup_error {
            Some(e) => {
                PatternRun::failed(case, *pattern, repetition, started_at, t_start_s, e.clone())
            }
            None => {
                run_pattern(
                    ctx, engine, case, pattern, repetition, started_at, t_start_s,
                )?
                .0
            }
        };
        if cancel::is_requested() {
            break;
        }
        ctx.store.append_pattern_run(&run)?;
        if let Some(error) = &run.error {
            ctx.fail(case, error.clone());
        } else if let Some(first) = &run.first_error {
            let kinds: Vec<String> = run.errors.iter().map(|(k, n)| format!("{n} {k}")).collect();
            ctx.fail(
                case,
                format!(
                    "rep {}: {} of {} requests failed ({}; the first: {first}); each is in measurements.jsonl",
                    repetition + 1,
                    run.sent - run.ok,
                    run.sent,
                    kinds.join(", ")
                ),
            );
        }
        ctx.observer.pattern_finished(case, &run);
    }
    Ok(())
}

/// The case's warmups (one request each, before its first pattern), with their prompts.
pub(super) fn warm_up(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn LlmEngine,
    case: &Case,
    prompts: &CasePrompts,
) -> Option<String> {
    let mut warmup = 0;
    ctx.warm_up(case, || {
        let (request, _) = prompts.request(Place::Warmup(warmup));
        warmup += 1;
        engine.generate(&request).map(drop)
    })
}

/// One run of the pattern: stores each measured request as it ends, then summarizes; the
/// measured requests' records come back beside the summary.
pub(super) fn run_pattern(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn LlmEngine,
    case: &Case,
    pattern: &LoadPattern,
    repetition: u32,
    started_at: String,
    t_start_s: f64,
) -> Result<(PatternRun, Vec<Record>), StoreError> {
    let mut requests: Vec<Record> = Vec::new();
    let mut warmup_sent = 0u32;
    let mut store_error = None;
    let planned = pattern.planned_requests();
    let clock = ctx.clock;
    let prompts = match CasePrompts::of(case, ctx.prompt_sets) {
        Ok(prompts) => prompts,
        Err(e) => {
            let failed = PatternRun::failed(case, *pattern, repetition, started_at, t_start_s, e);
            return Ok((failed, Vec::new()));
        }
    };
    let result = {
        let (store, observer) = (&mut *ctx.store, &mut *ctx.observer);
        let mut sink = |done: LlmPatternRequest| {
            if done.warmup {
                warmup_sent += 1;
                return;
            }
            if done.result.is_err() && cancel::is_requested() {
                return;
            }
            let slot = PatternSlot {
                run_t_s: t_start_s,
                index: done.index,
                scheduled_s: done.scheduled_s,
                queue_s: done.queue_s,
                lag_s: done.lag_s,
            };
            let at = Context::now_utc();
            let mut record = match &done.result {
                Ok(m) => Record::measured(case, repetition, at, clock.at(m.started), m),
                Err(f) => {
                    let mut r = Record::failed(
                        case,
                        repetition,
                        at,
                        clock.at(done.sent),
                        f.message.clone(),
                    );
                    r.error_kind = Some(f.kind.clone());
                    r
                }
            };
            record.pattern_slot = Some(slot);
            record.prompt = prompts
                .request(CasePrompts::load_place(repetition, pattern, done.index))
                .1;
            record.metrics.load = Some(crate::store::LoadMetrics {
                queue_s: Some(done.queue_s),
                schedule_lag_s: Some(done.lag_s),
            });
            if store_error.is_none() {
                if let Err(e) = store.append(&record) {
                    store_error = Some(e);
                }
            }
            requests.push(record);
            observer.request_done(case, warmup_sent + requests.len() as u32, planned);
        };
        let name = engine.info().engine;
        match engine.pattern_server() {
            Some(server) => server.serve_pattern(
                &prompts.load_requests(repetition, pattern),
                pattern,
                &mut sink,
            ),
            None => Err(bench_workloads::Error::NotAvailable(format!(
                "the {name} engine runs one request at a time; it has no load patterns"
            ))),
        }
    };
    if let Some(e) = store_error {
        return Err(e);
    }
    let timeline = match result {
        Err(e) => {
            let failed = PatternRun::failed(
                case,
                *pattern,
                repetition,
                started_at,
                t_start_s,
                e.to_string(),
            );
            return Ok((failed, requests));
        }
        Ok(timeline) => timeline,
    };
    let output: u64 = requests
        .iter()
        .filter(|r| r.status == Status::Ok)
        .map(|r| r.output_tokens)
        .sum();
    let run = PatternRun::summarize(
        case,
        *pattern,
        repetition,
        started_at,
        t_start_s,
        warmup_sent,
        &requests,
    )
    .with_client_cost(&timeline, output);
    let Some((start_s, end_s)) = run.span(&requests) else {
        return Ok((run, requests));
    };
    let energy = ctx.energy(&[Phase {
        name: "total",
        start_s,
        end_s,
    }]);
    Ok((run.with_energy(energy, output), requests))
}
