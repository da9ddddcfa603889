//! Cases of one request per repetition: warmups, then each missing repetition, with its energy.

use bench_workloads::engine::{LlmEngine, LlmRequest};

use super::{Context, PowerTap};
use crate::plan::Case;
use crate::store::{Record, StoreError};

/// The request a case sends.
pub(super) fn request(case: &Case) -> LlmRequest {
    LlmRequest {
        prompt_tokens: case.params.prompt_tokens as usize,
        gen_tokens: case.params.gen_tokens as usize,
        depth: case.params.depth as usize,
    }
}

/// Run the `missing` repetitions of a single-request case.
pub(super) fn run_case(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn LlmEngine,
    case: &Case,
    missing: &[u32],
) -> Result<(), StoreError> {
    let request = request(case);
    let warmup_error = ctx.warm_up(case, || engine.generate(&request).map(drop));
    ctx.repetitions(
        case,
        missing,
        warmup_error,
        |ctx, repetition, started_at, t_start_s| {
            Ok(match engine.generate(&request) {
                Ok(m) => {
                    let energy = ctx.energy(&PowerTap::llm_phases(ctx.clock, &m));
                    Record::measured(case, repetition, started_at, ctx.clock.at(m.started), &m)
                        .with_energy(energy)
                }
                Err(e) => Record::failed(case, repetition, started_at, t_start_s, e.to_string()),
            })
        },
    )
}
