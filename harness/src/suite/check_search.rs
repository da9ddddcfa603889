//! Checks of `rate = "search"` and its keys: a search needs an `slo` to search against, a
//! target attainment that is a share of requests, budgets that can be spent, and keys of a
//! search appear only with one.

use std::ops::Range;

use super::types::Workload;

/// The keys that only mean something to a search, with their spans in `workload`.
fn search_keys(workload: &Workload) -> Vec<(&'static str, Range<usize>)> {
    [
        (
            "target_attainment",
            workload.target_attainment.as_ref().map(|v| v.span.clone()),
        ),
        (
            "search_max_requests",
            workload
                .search_max_requests
                .as_ref()
                .map(|v| v.span.clone()),
        ),
        (
            "search_max_s",
            workload.search_max_s.as_ref().map(|v| v.span.clone()),
        ),
        (
            "search_start_rps",
            workload.search_start_rps.as_ref().map(|v| v.span.clone()),
        ),
    ]
    .into_iter()
    .filter_map(|(key, span)| Some((key, span?)))
    .collect()
}

/// Problems of `workload`'s rate search, or of search keys given without one.
pub(super) fn check_search(workload: &Workload, at: &mut impl FnMut(Range<usize>, String)) {
    let search = workload.rate.as_ref().filter(|r| r.value.is_search());
    let Some(rate) = search else {
        for (key, span) in search_keys(workload) {
            at(
                span,
                format!("`{key}` only applies to a rate search; add `rate = \"search\"` (with an `slo`) or leave `{key}` out"),
            );
        }
        return;
    };
    if workload.slo.is_none() {
        at(
            rate.span.clone(),
            "`rate = \"search\"` looks for the highest rate whose requests meet the workload's `slo`; give one, e.g. slo = { ttft_s = 0.5 }".into(),
        );
    }
    if let Some(target) = &workload.target_attainment {
        if !(target.value > 0.0 && target.value <= 1.0) {
            at(
                target.span.clone(),
                format!(
                    "target_attainment = {}: it is the share of requests that must meet `slo`, above 0 and at most 1 (e.g. 0.9)",
                    target.value
                ),
            );
        }
    }
    if let Some(start) = &workload.search_start_rps {
        if !(start.value.is_finite() && start.value > 0.0) {
            at(
                start.span.clone(),
                format!(
                    "search_start_rps = {}: the first rate probed is a number of requests per second above 0",
                    start.value
                ),
            );
        }
    }
    if let Some(duration) = &workload.duration_s {
        at(
            duration.span.clone(),
            "a rate search sizes each probe by `requests` (default: 10 seconds' worth at the probe's rate, at least 10); leave `duration_s` out".into(),
        );
    }
}
