//! Roofline figures of a load case (a load pattern, any concurrency), from the requests each
//! pattern run stored. Definitions (docs/metrics.md):
//!
//! - **aggregate decode MBU**: bytes a batched decode reads / the time some request was
//!   decoding / bandwidth. A batched step reads every weight once for all the sequences in it,
//!   and each sequence's own K and V, so the bytes are weights × steps + Σ over generated
//!   tokens of their KV reads. The steps are counted from the requests' own token times
//!   ([`decode_steps`]).
//! - **aggregate MFU**: every model FLOP the pattern's finished requests needed (prefill
//!   less what the server took from its prefix cache, and each generated token) / the
//!   pattern's duration / compute peak. FLOPs do not share across a batch, so this needs no
//!   step count.
//!
//! Each pattern run (repetition) gives one rate; the figure holds their median.

use crate::store::{PatternRun, Record, Status};

use super::work::LlmWork;

/// One request's decode on the run clock: from its first token to its last.
#[derive(Debug, Clone, PartialEq)]
pub struct Decode {
    /// When its first token arrived, seconds on the run clock.
    pub start_s: f64,
    /// When its last token arrived.
    pub end_s: f64,
    /// Tokens it decoded after the first (output tokens − 1): one per step it was in.
    pub tokens: f64,
    /// When each of those tokens arrived, where every token came in a chunk of its own (one
    /// inter-token gap per token); else none, and its steps are spread evenly.
    pub arrivals: Option<Vec<f64>>,
}

impl Decode {
    /// The decode of a finished request with two or more tokens and its times.
    pub fn of(r: &Record) -> Option<Self> {
        let text = r.metrics.text.as_ref()?;
        let (ttft, e2e) = (text.ttft_s?, text.e2e_s?);
        let tokens = r.output_tokens.checked_sub(1).filter(|t| *t > 0)?;
        let (start_s, end_s) = (r.header.t_start_s + ttft, r.header.t_start_s + e2e);
        if !(start_s.is_finite() && end_s.is_finite() && end_s > start_s) {
            return None;
        }
        let arrivals = (r.itl_s.len() as u64 == tokens).then(|| {
            r.itl_s
                .iter()
                .scan(start_s, |t, gap| {
                    *t += gap;
                    Some(*t)
                })
                .collect()
        });
        Some(Self {
            start_s,
            end_s,
            tokens: tokens as f64,
            arrivals,
        })
    }

    /// Steps it was in within (`from`, `to`]: its tokens that arrived then, or, without
    /// arrival times, its mean step rate over that span. Its first token (at `start_s`) came
    /// from its prefill and is no decode step: a span that starts there leaves it out.
    fn steps_in(&self, from: f64, to: f64) -> f64 {
        // Summed gaps may end a rounding error past the last token's time: a span reaching
        // the end takes every token left.
        let to_arrival = if to >= self.end_s { f64::INFINITY } else { to };
        match &self.arrivals {
            Some(arrivals) => arrivals
                .iter()
                .filter(|t| **t > from && **t <= to_arrival)
                .count() as f64,
            None => (to - from) * self.tokens / (self.end_s - self.start_s),
        }
    }
}

/// Decode steps the server ran and the seconds some request was decoding, from the requests'
/// decodes. Assumes what continuous batching does: every sequence that is decoding is in
/// every step, one token each. Then the steps in any span are the tokens one request decoding
/// throughout it received, so the union of the decodes is walked left to right, each piece
/// counted on the request that covers it longest. A server that runs one request at a time
/// has decodes that do not overlap: every token is its own step, as it should be.
pub fn decode_steps(decodes: &[Decode]) -> (f64, f64) {
    let mut sorted: Vec<&Decode> = decodes.iter().collect();
    sorted.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
    let (mut steps, mut busy) = (0.0, 0.0);
    let mut next = 0;
    while next < sorted.len() {
        // A stretch of time in which some request is always decoding.
        let mut t = sorted[next].start_s;
        let mut cover: Option<&Decode> = None;
        loop {
            while next < sorted.len() && sorted[next].start_s <= t {
                if cover.is_none_or(|c| sorted[next].end_s > c.end_s) {
                    cover = Some(sorted[next]);
                }
                next += 1;
            }
            let Some(c) = cover.filter(|c| c.end_s > t) else {
                break;
            };
            steps += c.steps_in(t, c.end_s);
            busy += c.end_s - t;
            t = c.end_s;
        }
    }
    (steps, busy)
}

/// What one pattern run did, in the units of its two figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PatternRates {
    /// Bytes its decode read per second some request was decoding; none for a mixture of
    /// experts or without decodes.
    pub decode_bytes_per_s: Option<f64>,
    /// FLOPs per byte of that decode (the roofline plot's intensity).
    pub decode_intensity: Option<f64>,
    /// Model FLOPs of its finished requests per second of the pattern.
    pub flops_per_s: Option<f64>,
}

/// The rates of one pattern run from its finished requests; `prompt` is the case's prompt
/// length, used where a record has no count of its own.
pub fn pattern_rates(
    cost: &LlmWork,
    run: &PatternRun,
    requests: &[&Record],
    prompt: u64,
) -> PatternRates {
    let mut decodes = Vec::new();
    let (mut kv_bytes, mut decode_flops, mut model_flops) = (0.0, 0.0, 0.0);
    for r in requests.iter().filter(|r| r.status == Status::Ok) {
        let prompt = if r.prompt_tokens > 0 {
            r.prompt_tokens
        } else {
            prompt
        };
        let text = r.metrics.text.as_ref();
        let cached = text
            .and_then(|m| m.cached_prompt_tokens)
            .unwrap_or(0.0)
            .max(0.0) as u64;
        model_flops += cost.prefill_flops_after(prompt, cached);
        let tokens = r.output_tokens.saturating_sub(1) as f64;
        // Token j (2..=G) attends to prompt + j − 1 positions: the mean is prompt + G/2, and
        // both the bytes and the FLOPs are linear in the context.
        let context = prompt as f64 + r.output_tokens as f64 / 2.0;
        let flops = tokens * linear_decode_flops(cost, context);
        model_flops += flops;
        if let Some(d) = Decode::of(r) {
            kv_bytes += tokens * cost.kv_bytes_per_position() * context;
            decode_flops += flops;
            decodes.push(d);
        }
    }
    let (steps, busy) = decode_steps(&decodes);
    let bytes = cost.weight_bytes() * steps + kv_bytes;
    let moe = cost.shape.experts.is_some();
    let decode = (!moe && bytes > 0.0).then_some(bytes);
    PatternRates {
        decode_bytes_per_s: decode.and_then(|b| super::rate(b, busy)),
        decode_intensity: decode.map(|b| decode_flops / b),
        flops_per_s: super::rate(model_flops, run.duration_s),
    }
}

/// [`LlmWork::decode_flops`] at a fractional context: linear in the context from 1 on (at 0
/// there is no prompt, whose last position's LM head the prefill would otherwise count).
pub fn linear_decode_flops(cost: &LlmWork, context: f64) -> f64 {
    let at1 = cost.decode_flops(1);
    at1 + (cost.decode_flops(2) - at1) * (context - 1.0)
}

/// The finished pattern runs of `case` with their requests, in repetition order (requests of
/// a pattern cut short are left out, as the summaries leave them).
pub fn pattern_runs<'a>(
    case: &str,
    records: &'a [Record],
    pattern_runs: &'a [PatternRun],
) -> Vec<(&'a PatternRun, Vec<&'a Record>)> {
    let mut runs: Vec<&PatternRun> = pattern_runs
        .iter()
        .filter(|l| l.header.case == case && l.status == Status::Ok && l.search.is_none())
        .collect();
    runs.sort_by_key(|l| l.header.repetition);
    runs.into_iter()
        .map(|l| {
            let mine = records
                .iter()
                .filter(|r| {
                    r.header.case == case
                        && r.header.repetition == l.header.repetition
                        && r.pattern_slot
                            .as_ref()
                            .is_some_and(|x| x.run_t_s == l.header.t_start_s)
                })
                .collect();
            (l, mine)
        })
        .collect()
}

/// The median of `values` (none when empty).
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    values.sort_by(f64::total_cmp);
    (!values.is_empty()).then(|| crate::stats::quantile_sorted(&values, 0.5))
}
