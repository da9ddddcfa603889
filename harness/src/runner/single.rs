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
    }
}

/// Send `case.warmup` unmeasured requests; the first failure is returned as the reason every
/// measured repetition fails.
pub(super) fn warm_up(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn LlmEngine,
    case: &Case,
) -> Option<String> {
    let request = request(case);
    for _ in 0..case.warmup {
        ctx.observer.starting(case, None);
        let result = engine.generate(&request);
        ctx.observer.finished(case, None);
        if let Err(e) = result {
            return Some(format!("warmup failed: {e}"));
        }
    }
    None
}

/// Run the `missing` repetitions of a single-request case.
pub(super) fn run_case(
    ctx: &mut Context<'_, '_>,
    engine: &mut dyn LlmEngine,
    case: &Case,
    missing: &[u32],
) -> Result<(), StoreError> {
    let request = request(case);
    let warmup_error = warm_up(ctx, engine, case);
    for &repetition in missing {
        ctx.observer.starting(case, Some(repetition));
        let started_at = Context::now_utc();
        let t_start_s = ctx.clock.now_s();
        let record = match &warmup_error {
            Some(e) => Record::failed(case, repetition, started_at, t_start_s, e.clone()),
            None => match engine.generate(&request) {
                Ok(m) => {
                    let (energy, lost) = ctx.power.measure(&PowerTap::llm_phases(ctx.clock, &m));
                    if let Some(error) = lost {
                        ctx.observer.power_lost(&error);
                    }
                    Record::measured(case, repetition, started_at, ctx.clock.at(m.started), &m)
                        .with_energy(energy)
                }
                Err(e) => Record::failed(case, repetition, started_at, t_start_s, e.to_string()),
            },
        };
        ctx.store.append(&record)?;
        if let Some(error) = &record.error {
            ctx.fail(case, error.clone());
        }
        ctx.observer.finished(case, Some(&record));
    }
    Ok(())
}
