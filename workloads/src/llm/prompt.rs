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

    /// Tokenize enough corpus text to reach `tokens` ids and keep exactly the first `tokens`.
    pub fn build(&self, tokens: usize) -> Result<Prompt, Error> {
        let mut chars = tokens * 4 + 64;
        loop {
            let text = corpus_text(chars);
            let start = Instant::now();
            let encoding = self.tokenizer.encode(text.as_str(), false).map_err(|e| {
                Error::Request(format!("the tokenizer failed on the prompt text: {e}"))
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
                return Err(Error::Request(format!(
                    "the tokenizer made only {} tokens of {chars} characters; cannot build a prompt of {tokens} tokens",
                    ids.len()
                )));
            }
            chars *= 2;
        }
    }
}

/// At least `chars` characters of the corpus, repeated as needed, cut at a word boundary.
fn corpus_text(chars: usize) -> String {
    let corpus = crate::synth::corpus();
    let mut text = String::with_capacity(chars + corpus.len());
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
