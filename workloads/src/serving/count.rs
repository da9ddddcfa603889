//! How many tokens a server generated for one streamed request, counted from what it said and
//! what arrived, in this order of trust (docs/metrics.md):
//!
//! 1. the server's usage report (`usage.completion_tokens`);
//! 2. `finish_reason = "length"`: the server stopped at exactly the `max_tokens` bench asked for;
//! 3. one token per chunk that carried one, where the same server was seen, earlier in the
//!    run, to stream exactly one token per chunk and never several, and the chunks stay below
//!    `max_tokens` (a server that stopped early by itself);
//! 4. the model's tokenizer over the streamed text, an estimate only: decoded text, tokenized
//!    again, is not the sequence the server generated (held-back bytes, replacement
//!    characters and merges across chunks change it), so the result is flagged as such.
//!
//! Where two counts exist and disagree, each is kept with its figures.

use std::sync::atomic::{AtomicBool, Ordering};

use super::stream::StreamOutcome;
use crate::engine::TokenCountSource;

/// What one server has shown of how it streams, over the requests of a run: whether a request
/// with an exact count had exactly one chunk per token, and whether one had fewer chunks than
/// tokens (several tokens in a chunk).
#[derive(Debug, Default)]
pub struct ChunkEvidence {
    single: AtomicBool,
    batched: AtomicBool,
}

impl ChunkEvidence {
    /// Learn from a request whose exact count is `tokens`, carried by `chunks` chunks.
    fn learn(&self, tokens: usize, chunks: usize) {
        if tokens > chunks {
            self.batched.store(true, Ordering::Relaxed);
        } else if tokens == chunks && tokens >= 2 {
            // One token in one chunk shows nothing about how tokens are grouped.
            self.single.store(true, Ordering::Relaxed);
        }
    }

    /// Whether the server is known to stream one token per chunk: a request showed it, and
    /// none showed a chunk of several tokens.
    pub fn one_per_chunk(&self) -> bool {
        self.single.load(Ordering::Relaxed) && !self.batched.load(Ordering::Relaxed)
    }
}

/// The count of one request's generated tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenCount {
    /// Tokens generated, by the most trusted count there is.
    pub output_tokens: usize,
    /// Which count it is.
    pub source: TokenCountSource,
    /// Counts that disagree, each with its figures (empty when they agree).
    pub mismatch: Vec<String>,
}

/// Count the tokens of `out`, a request that asked for `max_tokens`. `evidence` is the
/// server's history in this run (updated here from exact counts); `estimate` tokenizes the
/// streamed text and is called only when nothing better exists.
pub fn count(
    out: &StreamOutcome,
    max_tokens: usize,
    evidence: &ChunkEvidence,
    estimate: impl FnOnce(&str) -> usize,
) -> TokenCount {
    let chunks = out.arrivals.len();
    let usage = out.usage.map(|u| u.completion_tokens as usize);
    let length = out.finish_reason.as_deref() == Some("length");
    let mut mismatch = Vec::new();
    if let Some(u) = usage.filter(|&u| length && u != max_tokens) {
        mismatch.push(format!(
            "usage says {u} tokens, finish_reason \"length\" says max_tokens = {max_tokens}"
        ));
    }
    let exact = match usage {
        Some(u) => Some((u, TokenCountSource::ServerUsage)),
        None => length.then_some((max_tokens, TokenCountSource::FinishReason)),
    };
    let (output_tokens, source) = match exact {
        Some((n, source)) => {
            if mismatch.is_empty() {
                evidence.learn(n, chunks);
            }
            (n, source)
        }
        None if chunks > 0 && chunks < max_tokens && evidence.one_per_chunk() => {
            (chunks, TokenCountSource::Chunks)
        }
        None => {
            let text: String = out
                .arrivals
                .iter()
                .flat_map(|a| [a.reasoning.as_str(), a.text.as_str()])
                .collect();
            // Every chunk that carried a token carried at least one.
            (estimate(&text).max(chunks), TokenCountSource::Tokenizer)
        }
    };
    if chunks > output_tokens {
        mismatch.push(format!(
            "{chunks} chunks carried tokens, more than the {output_tokens} counted by {}",
            source.as_str()
        ));
    }
    TokenCount {
        output_tokens,
        source,
        mismatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serving::chunk::Usage;
    use crate::serving::stream::Arrival;

    fn outcome(texts: &[&str], finish: Option<&str>, usage: Option<u64>) -> StreamOutcome {
        StreamOutcome {
            arrivals: texts
                .iter()
                .enumerate()
                .map(|(i, t)| Arrival {
                    t_s: 0.1 * (i + 1) as f64,
                    text: t.to_string(),
                    reasoning: String::new(),
                    thinking: false,
                })
                .collect(),
            finish_reason: finish.map(str::to_string),
            usage: usage.map(|completion_tokens| Usage {
                prompt_tokens: 7,
                completion_tokens,
                reasoning_tokens: None,
                cached_tokens: None,
            }),
            ..StreamOutcome::default()
        }
    }

    /// A tokenizer estimate that must not be asked for.
    fn unused(_: &str) -> usize {
        panic!("the tokenizer was asked although a better count exists")
    }

    #[test]
    fn without_usage_a_length_finish_counts_max_tokens() {
        // Four chunks, one of them three tokens' text, and one with no text: 8 tokens asked,
        // the server stopped for length, so it made 8 whatever the text tokenizes to.
        let out = outcome(&["a", "", "b c d", "e"], Some("length"), None);
        let c = count(&out, 8, &ChunkEvidence::default(), unused);
        assert_eq!(
            c,
            TokenCount {
                output_tokens: 8,
                source: TokenCountSource::FinishReason,
                mismatch: vec![],
            }
        );
    }

    #[test]
    fn usage_comes_first_and_a_disagreement_is_kept_with_its_figures() {
        let out = outcome(&["a", "b", "c"], Some("length"), Some(2));
        let c = count(&out, 4, &ChunkEvidence::default(), unused);
        assert_eq!(
            (c.output_tokens, c.source),
            (2, TokenCountSource::ServerUsage)
        );
        assert_eq!(
            c.mismatch,
            [
                "usage says 2 tokens, finish_reason \"length\" says max_tokens = 4",
                "3 chunks carried tokens, more than the 2 counted by server-usage",
            ]
        );
        // Usage above the chunk count is a server that batches tokens, not a disagreement.
        let out = outcome(&["a b", "c"], Some("stop"), Some(3));
        let c = count(&out, 4, &ChunkEvidence::default(), unused);
        assert_eq!((c.output_tokens, c.mismatch.len()), (3, 0));
    }

    #[test]
    fn chunks_count_only_for_a_server_seen_to_stream_one_token_per_chunk() {
        let evidence = ChunkEvidence::default();
        let stopped = outcome(&["a", "", "b"], Some("stop"), None);
        // Nothing known yet: the tokenizer's estimate, never below the chunks.
        let c = count(&stopped, 8, &evidence, |text| {
            assert_eq!(text, "ab");
            1
        });
        assert_eq!(
            (c.output_tokens, c.source),
            (3, TokenCountSource::Tokenizer)
        );
        // A length finish with one chunk per asked token shows one token per chunk.
        count(
            &outcome(&["x"; 8], Some("length"), None),
            8,
            &evidence,
            unused,
        );
        let c = count(&stopped, 8, &evidence, unused);
        assert_eq!((c.output_tokens, c.source), (3, TokenCountSource::Chunks));
        // Once a chunk of several tokens is seen, chunks no longer count.
        count(
            &outcome(&["x"; 5], Some("length"), None),
            8,
            &evidence,
            unused,
        );
        let c = count(&stopped, 8, &evidence, |_| 5);
        assert_eq!(
            (c.output_tokens, c.source),
            (5, TokenCountSource::Tokenizer)
        );
    }

    #[test]
    fn more_chunks_than_a_length_finish_allows_is_a_mismatch() {
        let out = outcome(&["a"; 5], Some("length"), None);
        let c = count(&out, 4, &ChunkEvidence::default(), unused);
        assert_eq!(
            (c.output_tokens, c.source),
            (4, TokenCountSource::FinishReason)
        );
        assert_eq!(
            c.mismatch,
            ["5 chunks carried tokens, more than the 4 counted by finish-reason"]
        );
    }
}
