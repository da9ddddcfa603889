//! Checks of `turns` (conversations): a conversation is one request at a time on an engine
//! that can resend what it answered, so it takes no load pattern, rate search or depth.

use super::target::{EngineKind, Target};
use super::types::Workload;

/// Why `workload`'s `turns` cannot run as given, one message each (none when it can).
pub(super) fn refusals(workload: &Workload, targets: &[Target]) -> Vec<String> {
    let mut refusals = Vec::new();
    if workload.rate.as_ref().is_some_and(|r| r.value.is_search()) {
        refusals.push(
            "`turns` runs conversations one request at a time; a rate search (`rate = \"search\"`) sends many at once: leave one of them out".into(),
        );
    } else if workload.is_load() {
        refusals.push(
            "`turns` runs conversations one request at a time; load patterns (`concurrency` above 1, `rate`, `requests`, `duration_s`, `warmup_requests`) are not measured with conversations in this version: leave them out".into(),
        );
    }
    if workload
        .depth
        .as_ref()
        .is_some_and(|d| d.value.values().iter().any(|&v| v > 0))
    {
        refusals.push(
            "`turns` and `depth` both put context before the prompt; a conversation's context is its own history: leave `depth` out".into(),
        );
    }
    for target in targets.iter().filter(|t| {
        !matches!(
            t.engine_kind(),
            EngineKind::Candle | EngineKind::Openai | EngineKind::MlxLm
        ) && !t.makes_images()
            && workload.runs_on(&t.name.0)
    }) {
        refusals.push(format!(
            "`turns` (conversations) is measured by the candle, openai and mlx-lm engines in this version; target `{}` uses engine `{}` (leave it out with `targets = [...]`)",
            target.name.value, target.engine_kind()
        ));
    }
    refusals
}
