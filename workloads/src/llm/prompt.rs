//! Prompts of an exact token length for a given tokenizer.

use std::time::Instant;

use tokenizers::Tokenizer;

use crate::Error;

/// Builds prompts of exactly N tokens from bench's embedded English corpus.
pub struct PromptBuilder {
    tokenizer: Tokenizer,
}

/// A prompt as token ids, and how long tokenizing its text took.
pub struct Prompt {
    /// Exactly the requested number of ids.
    pub ids: Vec<u32>,
    /// Seconds spent in the tokenizer.
    pub tokenize_s: f64,
}

impl PromptBuilder {
    /// A builder for this tokenizer.
    pub fn new(tokenizer: Tokenizer) -> Self {
        Self { tokenizer }
    }

    /// The ids of `text` as given, and how long the tokenizer took.
    pub fn encode(&self, text: &str) -> Result<Prompt, Error> {
        let start = Instant::now();
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| Error::Engine(format!("the tokenizer failed on the prompt: {e}")))?;
        Ok(Prompt {
            ids: encoding.get_ids().to_vec(),
            tokenize_s: start.elapsed().as_secs_f64(),
        })
    }

    /// The text of `ids`.
    pub fn decode(&self, ids: &[u32]) -> Result<String, Error> {
        self.tokenizer
            .decode(ids, false)
            .map_err(|e| Error::Engine(format!("cannot turn token ids into text: {e}")))
    }

    /// The number of tokens of `text`.
    pub fn count(&self, text: &str) -> Result<usize, Error> {
        self.encode(text).map(|p| p.ids.len())
    }

    /// Tokenize enough corpus text to reach `tokens` ids and keep exactly the first `tokens`.
    pub fn build(&self, tokens: usize) -> Result<Prompt, Error> {
        self.build_variant(tokens, 0)
    }

    /// Like [`build`](Self::build), but variant `v` starts at another place in the corpus, so
    /// prompts of different variants differ from their first token on: a server's prefix
    /// cache cannot serve one request from another's prompt.
    pub fn build_variant(&self, tokens: usize, variant: u64) -> Result<Prompt, Error> {
        let mut chars = tokens * 4 + 64;
        loop {
            let text = corpus_text(chars, variant);
            let start = Instant::now();
            let encoding = self.tokenizer.encode(text.as_str(), false).map_err(|e| {
                Error::Engine(format!("the tokenizer failed on the prompt text: {e}"))
            })?;
            let tokenize_s = start.elapsed().as_secs_f64();
            let ids = encoding.get_ids();
            if ids.len() >= tokens {
                return Ok(Prompt {
                    ids: ids[..tokens].to_vec(),
                    tokenize_s,
                });
            }
            if chars > tokens * 64 + (1 << 20) {
                return Err(Error::Engine(format!(
                    "the tokenizer made only {} tokens of {chars} characters; cannot build a prompt of {tokens} tokens",
                    ids.len()
                )));
            }
            chars *= 2;
        }
    }
}

/// At least `chars` characters of the corpus, repeated as needed, starting at the word that
/// `variant` picks and cut at a character boundary.
fn corpus_text(chars: usize, variant: u64) -> String {
    let corpus = crate::synth::corpus();
    let words: Vec<usize> = std::iter::once(0)
        .chain(corpus.match_indices(' ').map(|(i, _)| i + 1))
        .collect();
    // A large odd stride spreads neighbouring variants over the corpus.
    let start = words[(variant.wrapping_mul(7919) % words.len() as u64) as usize];
    let mut text = String::with_capacity(chars + corpus.len());
    text.push_str(&corpus[start..]);
    text.push('\n');
    while text.len() < chars {
        text.push_str(corpus);
        text.push('\n');
    }
    let mut cut = chars.min(text.len());
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    text.truncate(cut);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_start_at_different_words_and_variant_zero_at_the_corpus_start() {
        let corpus = crate::synth::corpus();
        assert!(corpus_text(100, 0).starts_with(&corpus[..50]));
        let a = corpus_text(100, 1);
        let b = corpus_text(100, 2);
        assert_ne!(a[..20], b[..20]);
        assert!(a.len() >= 100 && b.len() >= 100);
        assert_eq!(corpus_text(100, 5), corpus_text(100, 5));
    }
}
