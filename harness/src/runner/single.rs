//! Cases of one request per repetition: warmups, then each missing repetition, with its energy.

use bench_workloads::engine::LlmEngine;

use super::prompts::{CasePrompts, Place};
use super::{Context, PowerTap};
use crate::plan::Case;
use crate::store::{Record, StoreError};

/// Run the `missing` repetitions of a single-request case.
pub(super) fn run_case(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn LlmEngine,
    case: &Case,
    missing: &[u32],
) -> Result<(), StoreError> {
    let prompts = CasePrompts::of(case, ctx.prompt_sets);
    let warmup_error = match &prompts {
        Err(e) => Some(e.clone()),
        Ok(prompts) => {
            let mut warmup = 0;
            ctx.warm_up(case, || {
                let (request, _) = prompts.request(Place::Warmup(warmup));
                warmup += 1;
                engine.generate(&request).map(drop)
            })
        }
    };
    ctx.repetitions(
        case,
        missing,
        warmup_error,
        |ctx, repetition, started_at, t_start_s| {
            let (request, draw) = match &prompts {
                Ok(prompts) => prompts.request(Place::Measured(u64::from(repetition))),
                Err(e) => {
                    return Ok(Record::failed(
                        case,
                        repetition,
                        started_at,
                        t_start_s,
                        e.clone(),
                    ))
                }
            };
            Ok(match engine.generate(&request) {
                Ok(m) => {
                    let energy = ctx.energy(&PowerTap::llm_phases(ctx.clock, &m));
                    Record::measured(case, repetition, started_at, ctx.clock.at(m.started), &m)
                        .with_energy(energy)
                }
                Err(e) => Record::failed(case, repetition, started_at, t_start_s, e.to_string()),
            }
            .with_prompt(draw))
        },
    )
}
