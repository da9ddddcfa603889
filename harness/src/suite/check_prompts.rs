//! Checks of an llm workload's prompt keys (`prompt_tokens`, `prompts`, `prompt_order`):
//! lengths or a file, not both nor neither, and an order only with a file.

use std::ops::Range;

use super::prompts::{PromptLengths, PromptOrder};
use super::types::Workload;

/// Problems of `workload`'s prompt keys.
pub(super) fn check_prompts(workload: &Workload, at: &mut impl FnMut(Range<usize>, String)) {
    match (&workload.prompts, &workload.prompt_tokens) {
        (Some(_), Some(lengths)) => at(
            lengths.span.clone(),
            "give either `prompt_tokens` (lengths bench builds prompts to) or `prompts` (a file of your own prompts), not both".into(),
        ),
        (Some(file), None) if file.value.trim().is_empty() => at(
            file.span.clone(),
            "`prompts` is empty; give the path of a JSONL or ShareGPT JSON file of prompts".into(),
        ),
        (None, None) => at(
            workload.name.span.clone(),
            "an llm workload needs `prompt_tokens` (a positive integer, a list of them, or a distribution) or `prompts` (a file of prompts)".into(),
        ),
        _ => {}
    }
    if let (Some(order), None) = (&workload.prompt_order, &workload.prompts) {
        at(
            order.span.clone(),
            "`prompt_order` is the order of a prompt file's prompts; add `prompts = \"file.jsonl\"` or leave it out".into(),
        );
    }
}

/// Whether `workload` draws something at random from its `seed` besides arrivals: prompts
/// from a file in random order, or lengths from a distribution.
pub(super) fn draws_prompts(workload: &Workload) -> bool {
    let random_order = workload.prompts.is_some()
        && workload
            .prompt_order
            .as_ref()
            .is_some_and(|o| o.value == PromptOrder::Random);
    let drawn = workload
        .prompt_tokens
        .as_ref()
        .is_some_and(|l| matches!(l.value, PromptLengths::Drawn(_)));
    random_order || drawn
}
