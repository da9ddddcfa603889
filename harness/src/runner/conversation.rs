//! Cases of conversations (`turns`): each repetition is one conversation whose every turn
//! resends the earlier messages and the answers the engine returned, then a new message;
//! each turn is a record of its own, stored the moment it ends.
//!
//! Turn `t` (from 0) of repetition `r` takes the prompt of place `r × turns + t`, so a prompt
//! file is sent in order through the conversations. A conversation cut short (an interrupt,
//! a failed turn) has no ok last turn: `--resume` runs it again whole, and its partial turns
//! are not summarized ([`crate::summary`]).

use bench_workloads::cancel;
use bench_workloads::engine::{Exchange, LlmEngine, LlmMeasurement, LlmRequest};

use super::prompts::{CasePrompts, Place};
use super::{Context, PowerTap};
use crate::plan::Case;
use crate::store::{Record, StoreError};

/// Run the `missing` repetitions (conversations) of a case with `turns`.
pub(super) fn run_case(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn LlmEngine,
    case: &Case,
    missing: &[u32],
) -> Result<(), StoreError> {
    let turns = case.text().map_or(1, |t| t.params.turns.max(1));
    let prompts = CasePrompts::of(case, ctx.prompt_sets);
    let warmup_error = match &prompts {
        Err(e) => Some(e.clone()),
        Ok(prompts) => {
            let mut warmup = 0;
            ctx.warm_up(case, || {
                let mut history = Vec::new();
                for turn in 0..turns {
                    let (request, _) = prompts.request(Place::Warmup(warmup * turns + turn));
                    let mut m = engine.generate(&turn_request(request, &history))?;
                    history.push(exchange(&mut m)?);
                }
                warmup += 1;
                Ok::<_, bench_workloads::Error>(())
            })
        }
    };
    for &repetition in missing {
        if cancel::is_requested() {
            break;
        }
        ctx.observer.starting(case, Some(repetition));
        let conversation_started_at = Context::now_utc();
        let mut history: Vec<Exchange> = Vec::new();
        let mut last = None;
        for turn in 0..turns {
            let started_at = Context::now_utc();
            let t_start_s = ctx.clock.now_s();
            let failed = |error: String| {
                Record::failed(case, repetition, started_at.clone(), t_start_s, error)
            };
            let (record, answer) = match (&prompts, &warmup_error) {
                (_, Some(e)) => (failed(e.clone()), None),
                (Err(e), None) => (failed(e.clone()), None),
                (Ok(prompts), None) => {
                    let place = u64::from(repetition) * u64::from(turns) + u64::from(turn);
                    let (request, draw) = prompts.request(Place::Measured(place));
                    let outcome = engine
                        .generate(&turn_request(request, &history))
                        .and_then(|mut m| Ok((exchange(&mut m)?, m)));
                    match outcome {
                        Ok((answer, m)) => {
                            let energy = ctx.energy(&PowerTap::llm_phases(ctx.clock, &m));
                            let record = Record::measured(
                                case,
                                repetition,
                                started_at.clone(),
                                ctx.clock.at(m.started),
                                &m,
                            )
                            .with_energy(energy);
                            (record.with_prompt(draw), Some(answer))
                        }
                        Err(e) => (failed(e.to_string()).with_prompt(draw), None),
                    }
                }
            };
            let record = record.with_turn(turn + 1, &conversation_started_at);
            // A turn the interrupt ended is not the engine's failure: nothing is stored, and
            // `--resume` runs the conversation again.
            if answer.is_none() && cancel::is_requested() {
                return Ok(());
            }
            ctx.store.append(&record)?;
            if let Some(error) = &record.error {
                ctx.fail(case, format!("turn {}: {error}", turn + 1));
            }
            last = Some(record);
            match answer {
                Some(answer) => history.push(answer),
                // The conversation cannot go on without the answer.
                None => break,
            }
            if cancel::is_requested() {
                return Ok(());
            }
        }
        ctx.observer.finished(case, last.as_ref());
    }
    Ok(())
}

/// `request` as the next turn of a conversation of `history`.
fn turn_request(request: LlmRequest, history: &[Exchange]) -> LlmRequest {
    LlmRequest {
        conversation: Some(history.to_vec()),
        ..request
    }
}

/// The exchange an engine returned for a turn; an engine that returns none cannot hold a
/// conversation.
fn exchange(m: &mut LlmMeasurement) -> Result<Exchange, bench_workloads::Error> {
    m.exchange.take().ok_or_else(|| {
        bench_workloads::Error::Engine(
            "the engine returned no answer text, so the conversation cannot go on".into(),
        )
    })
}
