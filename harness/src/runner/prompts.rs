//! Each request's prompt, by its place among its case's requests: the case's one length, a
//! prompt of its file (in order, or drawn with its seed), or a length drawn from its
//! distribution. The place alone decides, so a resumed run sends what the first session
//! would have.
//!
//! Places: measured repetition `r` of a one-request case is place `r`; request `i` (warmups
//! first) of repetition `r` of a load pattern is place `r × n + i`, with `n` the requests the
//! pattern sends (1024 for a pattern that runs for a duration), so each repetition carries on
//! through the file. The case's warmups take prompts from the file's end, apart from the
//! measured ones.

use std::sync::Arc;

use bench_workloads::engine::{LlmRequest, PromptInput};
use bench_workloads::load::LoadPattern;
use bench_workloads::prompts::{Dataset, LengthDist};
use bench_workloads::rng::SplitMix64;

use crate::plan::{Case, PromptSource};
use crate::prompt_sets::{drawn_length, stride, PromptSets};
use crate::store::PromptDraw;
use crate::suite::PromptOrder;

/// A request's place among its case's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    /// The case's `n`-th warmup (0-based).
    Warmup(u32),
    /// The `n`-th measured request.
    Measured(u64),
}

/// Where a case's prompts come from, resolved.
pub(super) enum CasePrompts {
    /// Bench builds every prompt to the case's length.
    Exact(LlmRequest),
    /// A file's prompts.
    File {
        set: Arc<Dataset>,
        order: PromptOrder,
        seed: u64,
        gen_tokens: u32,
        depth: usize,
    },
    /// Lengths drawn from a distribution.
    Drawn {
        lengths: LengthDist,
        seed: u64,
        gen_tokens: u32,
        depth: usize,
    },
}

impl CasePrompts {
    /// The prompts of `case`, with its file from `sets`; an error when the file was not read.
    pub(super) fn of(case: &Case, sets: &PromptSets) -> Result<Self, String> {
        let text = case
            .text()
            .ok_or_else(|| format!("{} makes images, not text", case.id))?;
        let (gen_tokens, depth) = (text.params.gen_tokens, text.params.depth as usize);
        Ok(match &text.prompts {
            None => CasePrompts::Exact(LlmRequest::exact(
                text.params.prompt_tokens as usize,
                gen_tokens as usize,
                depth,
            )),
            Some(PromptSource::File { path, order, seed }) => CasePrompts::File {
                set: sets
                    .get(path)
                    .cloned()
                    .ok_or_else(|| format!("the prompt file `{path}` was not read"))?,
                order: *order,
                seed: *seed,
                gen_tokens,
                depth,
            },
            Some(PromptSource::Drawn { lengths, seed }) => CasePrompts::Drawn {
                lengths: *lengths,
                seed: *seed,
                gen_tokens,
                depth,
            },
        })
    }

    /// The request at `place`, and what the record keeps of its prompt (none for a case of
    /// one length).
    pub(super) fn request(&self, place: Place) -> (LlmRequest, Option<PromptDraw>) {
        match self {
            CasePrompts::Exact(request) => (request.clone(), None),
            CasePrompts::File {
                set,
                order,
                seed,
                gen_tokens,
                depth,
            } => {
                let n = set.items.len();
                let index = match (order, place) {
                    (PromptOrder::InOrder, Place::Measured(p)) => (p % n as u64) as usize,
                    (PromptOrder::InOrder, Place::Warmup(w)) => n - 1 - (w as usize % n),
                    (PromptOrder::Random, place) => {
                        let (stream, p) = match place {
                            Place::Measured(p) => (0, p),
                            Place::Warmup(w) => (1, u64::from(w)),
                        };
                        SplitMix64(seed ^ p.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ stream).below(n)
                    }
                };
                let item = &set.items[index];
                let max_tokens = item.max_tokens.unwrap_or(*gen_tokens);
                let request = LlmRequest {
                    prompt: PromptInput::Text(item.prompt.clone()),
                    gen_tokens: max_tokens as usize,
                    depth: *depth,
                    conversation: None,
                };
                let draw = PromptDraw {
                    item: Some(index as u32),
                    line: Some(item.line),
                    tokens: None,
                    max_tokens,
                };
                (request, Some(draw))
            }
            CasePrompts::Drawn {
                lengths,
                seed,
                gen_tokens,
                depth,
            } => {
                let tokens = match place {
                    Place::Measured(p) => drawn_length(lengths, *seed, p),
                    Place::Warmup(w) => lengths.draw(*seed, u64::from(w) * 2 + 1),
                };
                let request = LlmRequest::exact(tokens as usize, *gen_tokens as usize, *depth);
                let draw = PromptDraw {
                    item: None,
                    line: None,
                    tokens: Some(tokens),
                    max_tokens: *gen_tokens,
                };
                (request, Some(draw))
            }
        }
    }

    /// The place of request `index` of repetition `repetition` of `pattern`.
    pub(super) fn load_place(repetition: u32, pattern: &LoadPattern, index: u32) -> Place {
        Place::Measured(
            u64::from(repetition)
                .saturating_mul(stride(pattern))
                .saturating_add(u64::from(index)),
        )
    }

    /// The requests of repetition `repetition` of `pattern`, for
    /// [`LlmEngine::serve_pattern`](bench_workloads::engine::LlmEngine::serve_pattern): one for a
    /// case of one length (the engine gives each request a text of its own), else one per
    /// request the pattern sends (1024, in turn, for a duration).
    pub(super) fn load_requests(&self, repetition: u32, pattern: &LoadPattern) -> Vec<LlmRequest> {
        if let CasePrompts::Exact(request) = self {
            return vec![request.clone()];
        }
        let count = u32::try_from(stride(pattern)).unwrap_or(u32::MAX);
        (0..count)
            .map(|i| self.request(Self::load_place(repetition, pattern, i)).0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bench_workloads::prompts::DatasetItem;

    fn file(order: PromptOrder) -> CasePrompts {
        let items = (0..4)
            .map(|i| DatasetItem {
                line: i + 1,
                prompt: format!("prompt {i}").into(),
                max_tokens: (i % 2 == 0).then_some(10 + i),
            })
            .collect();
        CasePrompts::File {
            set: Arc::new(Dataset {
                path: "p.jsonl".into(),
                sha256: String::new(),
                format: bench_workloads::prompts::DatasetFormat::Jsonl,
                items,
                skipped_lines: Vec::new(),
            }),
            order,
            seed: 3,
            gen_tokens: 5,
            depth: 0,
        }
    }

    #[test]
    fn in_order_places_walk_the_file_and_warmups_take_its_end() {
        let prompts = file(PromptOrder::InOrder);
        let lines: Vec<u32> = (0..6)
            .map(|p| prompts.request(Place::Measured(p)).1.unwrap().line.unwrap())
            .collect();
        assert_eq!(lines, [1, 2, 3, 4, 1, 2]);
        let (request, draw) = prompts.request(Place::Measured(1));
        assert_eq!((request.gen_tokens, draw.unwrap().max_tokens), (5, 5));
        assert_eq!(prompts.request(Place::Measured(2)).0.gen_tokens, 12);
        assert_eq!(prompts.request(Place::Warmup(0)).1.unwrap().line, Some(4));
    }

    #[test]
    fn random_places_repeat_with_the_seed_and_reach_every_prompt() {
        let prompts = file(PromptOrder::Random);
        let items: Vec<u32> = (0..64)
            .map(|p| prompts.request(Place::Measured(p)).1.unwrap().item.unwrap())
            .collect();
        let again: Vec<u32> = (0..64)
            .map(|p| prompts.request(Place::Measured(p)).1.unwrap().item.unwrap())
            .collect();
        assert_eq!(items, again);
        for i in 0..4 {
            assert!(items.contains(&i));
        }
        assert_ne!(items[..8], [0, 1, 2, 3, 0, 1, 2, 3]);
    }

    #[test]
    fn load_repetitions_carry_on_through_the_places() {
        let pattern = LoadPattern {
            arrival: bench_workloads::load::Arrival::Closed,
            concurrency: Some(1),
            stop: bench_workloads::load::Stop::Requests(3),
            warmup_requests: 0,
        };
        assert_eq!(CasePrompts::load_place(2, &pattern, 1), Place::Measured(7));
        let requests = file(PromptOrder::InOrder).load_requests(1, &pattern);
        let texts: Vec<String> = requests
            .iter()
            .map(|r| match &r.prompt {
                PromptInput::Text(t) => t.to_string(),
                PromptInput::Tokens(_) => unreachable!(),
            })
            .collect();
        assert_eq!(texts, ["prompt 3", "prompt 0", "prompt 1"]);
    }
}
