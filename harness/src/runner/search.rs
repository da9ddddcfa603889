//! Rate-search cases (`rate = "search"`): each repetition is one search, whose probes are
//! load patterns run and stored exactly like a fixed-rate case's, each at the rate
//! [`crate::rate_search::next`] chooses.
//!
//! Every finished probe is stored the moment it ends (its requests as they end), marked with
//! its place in the search; the probe after which the search ended is marked `last`, and only
//! that makes the repetition done. A search cut short carries on, on `--resume`, from the
//! probes it stored.

use bench_workloads::cancel;
use bench_workloads::engine::LlmEngine;
use bench_workloads::load::{Arrival, LoadPattern, Stop};

use super::pattern::{run_pattern, warm_up};
use super::prompts::CasePrompts;
use super::Context;
use crate::plan::{Case, Work};
use crate::rate_search::{self, Probe, SearchSpec, Step};
use crate::store::{self, PatternRun, Record, SearchMark, Status, StoreError};
use crate::summary::slo;

/// Run the `missing` repetitions (searches) of a search case.
pub(super) fn run_case(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn LlmEngine,
    case: &Case,
    spec: &SearchSpec,
    template: &LoadPattern,
    missing: &[u32],
) -> Result<(), StoreError> {
    let warmup_error = if engine.pattern_server().is_some() {
        match CasePrompts::of(case, ctx.prompt_sets) {
            Ok(prompts) => warm_up(ctx, engine, case, &prompts),
            Err(e) => Some(e),
        }
    } else {
        Some(format!(
            "the {} engine runs one request at a time; it cannot be searched for a rate",
            engine.info().engine
        ))
    };
    let stored = store::read_pattern_runs(ctx.store.dir())?;
    for &repetition in missing {
        if cancel::is_requested() {
            break;
        }
        if let Some(error) = &warmup_error {
            ctx.observer.starting(case, Some(repetition));
            let run = PatternRun::failed(
                case,
                *template,
                repetition,
                Context::now_utc(),
                ctx.clock.now_s(),
                error.clone(),
            );
            ctx.store.append_pattern_run(&run)?;
            ctx.fail(case, error.clone());
            ctx.observer.pattern_finished(case, &run);
            continue;
        }
        let probes = stored_probes(&stored, case, repetition);
        search(ctx, engine, case, spec, template, repetition, probes)?;
    }
    Ok(())
}

/// The probes of `case`'s search `repetition` already stored, in the order measured.
fn stored_probes(stored: &[PatternRun], case: &Case, repetition: u32) -> Vec<Probe> {
    let mut mine: Vec<(&PatternRun, SearchMark)> = stored
        .iter()
        .filter(|l| {
            l.header.case == case.id && l.header.repetition == repetition && l.status == Status::Ok
        })
        .filter_map(|l| Some((l, l.search?)))
        .collect();
    mine.sort_by_key(|(_, mark)| mark.probe);
    mine.into_iter()
        .filter_map(|(l, mark)| {
            Some(Probe {
                rate_rps: l.offered_rate_rps?,
                attainment: mark.attainment,
                requests: l.sent.saturating_add(l.warmup_sent),
                duration_s: l.duration_s,
            })
        })
        .collect()
}

/// The pattern of a probe at `rate`: the case's pattern with the probe's rate and size.
fn probe_pattern(spec: &SearchSpec, template: &LoadPattern, rate: f64) -> LoadPattern {
    let arrival = match template.arrival {
        Arrival::Constant { .. } => Arrival::Constant { rate },
        Arrival::Poisson { seed, .. } => Arrival::Poisson { rate, seed },
        // A search is planned with a rate; should one come without, poisson is the default.
        Arrival::Closed => Arrival::Poisson { rate, seed: 0 },
    };
    LoadPattern {
        arrival,
        stop: Stop::Requests(spec.probe_requests(rate)),
        ..*template
    }
}

/// The share of `requests` (the probe's measured ones) that met `case`'s SLO.
fn attainment(case: &Case, requests: &[Record]) -> f64 {
    if requests.is_empty() {
        return 0.0;
    }
    let objectives = case.text().and_then(|t| t.slo).unwrap_or_default();
    let passing = requests
        .iter()
        .filter(|r| r.status == Status::Ok && slo::meets(&objectives, r))
        .count();
    passing as f64 / requests.len() as f64
}

/// One search: probe until [`rate_search::next`] says it is done, storing each probe.
fn search(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn LlmEngine,
    case: &Case,
    spec: &SearchSpec,
    template: &LoadPattern,
    repetition: u32,
    mut probes: Vec<Probe>,
) -> Result<(), StoreError> {
    while let Step::Probe(rate) = rate_search::next(spec, &probes) {
        if cancel::is_requested() {
            return Ok(());
        }
        let pattern = probe_pattern(spec, template, rate);
        // The probe's requests and summary carry its rate, as a fixed-rate case's do.
        let mut probe_case = case.clone();
        if let Work::Text(text) = &mut probe_case.work {
            text.params.rate_rps = Some(rate);
            text.load = Some(pattern);
        }
        ctx.observer.starting(case, Some(repetition));
        let started_at = Context::now_utc();
        let t_start_s = ctx.clock.now_s();
        let (mut run, requests) = run_pattern(
            ctx,
            engine,
            &probe_case,
            &pattern,
            repetition,
            started_at,
            t_start_s,
        )?;
        if cancel::is_requested() {
            // Not stored: the interrupt, not the server, ended it; resume measures it again.
            return Ok(());
        }
        let index = probes.len() as u32;
        if let Some(error) = run.error.clone() {
            run.search = Some(SearchMark {
                probe: index,
                attainment: 0.0,
                last: false,
            });
            ctx.store.append_pattern_run(&run)?;
            ctx.fail(
                case,
                format!(
                    "rep {}: the search's probe at {rate:.3} req/s could not run: {error}",
                    repetition + 1
                ),
            );
            ctx.observer.pattern_finished(case, &run);
            return Ok(());
        }
        let attained = attainment(case, &requests);
        probes.push(Probe {
            rate_rps: rate,
            attainment: attained,
            requests: run.sent.saturating_add(run.warmup_sent),
            duration_s: run.duration_s,
        });
        // Requests that failed under overload are what a search looks for: they count against
        // the attainment, and are not failures of the run.
        run.search = Some(SearchMark {
            probe: index,
            attainment: attained,
            last: matches!(rate_search::next(spec, &probes), Step::Done(_)),
        });
        ctx.store.append_pattern_run(&run)?;
        ctx.observer.pattern_finished(case, &run);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SearchSpec {
        SearchSpec {
            target_attainment: 0.9,
            start_rps: 1.0,
            max_requests: 1000,
            max_s: 100.0,
            requests: None,
            warmup_requests: 2,
        }
    }

    #[test]
    fn a_probe_keeps_the_arrival_seed_and_cap_and_takes_its_rate_and_size() {
        let template = LoadPattern {
            arrival: Arrival::Poisson { rate: 1.0, seed: 7 },
            concurrency: Some(3),
            stop: Stop::Requests(10),
            warmup_requests: 2,
        };
        let p = probe_pattern(&spec(), &template, 4.5);
        assert_eq!(p.arrival, Arrival::Poisson { rate: 4.5, seed: 7 });
        assert_eq!((p.concurrency, p.warmup_requests), (Some(3), 2));
        assert_eq!(p.stop, Stop::Requests(45));
        let constant = LoadPattern {
            arrival: Arrival::Constant { rate: 1.0 },
            ..template
        };
        assert_eq!(
            probe_pattern(&spec(), &constant, 3.0).arrival,
            Arrival::Constant { rate: 3.0 }
        );
    }
}
