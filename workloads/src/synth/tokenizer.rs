//! A working Qwen2-style byte-level BPE tokenizer, trained here on an embedded corpus.
//!
//! The trained vocabulary (256 byte symbols + merges) takes the low ids; every other id below the
//! model's `vocab_size` is a plain filler entry `<|fill_N|>` (never produced by merges, but
//! decodable, so a random model can emit any id), and the three Qwen chat specials sit at the
//! preset's ids, both in the BPE vocabulary and in `added_tokens`.

use std::collections::HashSet;

use serde_json::{json, Map, Value};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BpeTrainerBuilder, Vocab, BPE};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::byte_level::ByteLevel as ByteLevelProcessor;
use tokenizers::{
    AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper,
    SplitDelimiterBehavior, Tokenizer, TokenizerImpl,
};

use super::presets::Preset;
use super::SynthError;

/// Training text shipped with the crate (plain English prose on varied topics).
static CORPUS: &str = include_str!("corpus.txt");

/// Qwen2's pre-tokenization regex.
pub(crate) const QWEN2_SPLIT_REGEX: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Contents of the three chat specials, in id order.
pub(crate) const SPECIAL_TOKENS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// The Qwen chat template written to `tokenizer_config.json`.
pub(crate) const CHAT_TEMPLATE: &str = "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

/// The embedded training corpus (about 18 KB of plain English prose); engines can build prompts
/// from it.
pub fn corpus() -> &'static str {
    CORPUS
}

fn tok_err(what: &str, e: impl std::fmt::Display) -> SynthError {
    SynthError::Tokenizer(format!("{what}: {e}"))
}

fn pre_tokenizer() -> Result<PreTokenizerWrapper, SynthError> {
    let split = Split::new(
        SplitPattern::Regex(QWEN2_SPLIT_REGEX.to_string()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(|e| tok_err("split regex", e))?;
    Ok(Sequence::new(vec![
        split.into(),
        ByteLevel::new(false, false, false).into(),
    ])
    .into())
}

/// The result of BPE training: tokens by id (contiguous from 0) and merges in rank order.
struct Trained {
    tokens: Vec<String>,
    merges: Vec<(String, String)>,
}

/// Train a byte-level BPE on the corpus with at most `vocab_cap` entries.
fn train(vocab_cap: usize) -> Result<Trained, SynthError> {
    let mut tok: TokenizerImpl<
        BPE,
        NormalizerWrapper,
        PreTokenizerWrapper,
        PostProcessorWrapper,
        DecoderWrapper,
    > = TokenizerImpl::new(BPE::default());
    tok.with_normalizer(Some(NFC))
        .map_err(|e| tok_err("normalizer", e))?;
    tok.with_pre_tokenizer(Some(pre_tokenizer()?));
    let alphabet: HashSet<char> = ByteLevel::alphabet().into_iter().collect();
    let mut trainer = BpeTrainerBuilder::new()
        .show_progress(false)
        .vocab_size(vocab_cap)
        .min_frequency(2)
        .initial_alphabet(alphabet)
        .build();
    tok.train(&mut trainer, CORPUS.split_inclusive('\n'))
        .map_err(|e| tok_err("BPE training", e))?;

    let model = tok.get_model();
    let vocab = model.get_vocab();
    let mut tokens = vec![None; vocab.len()];
    for (token, id) in vocab {
        let slot = tokens
            .get_mut(id as usize)
            .ok_or_else(|| tok_err("trained vocab", format!("id {id} out of range")))?;
        *slot = Some(token);
    }
    let tokens = tokens
        .into_iter()
        .collect::<Option<Vec<String>>>()
        .ok_or_else(|| tok_err("trained vocab", "ids are not contiguous"))?;

    let serialized = serde_json::to_value(model).map_err(SynthError::Json)?;
    let merges = serialized
        .get("merges")
        .and_then(Value::as_array)
        .ok_or_else(|| tok_err("trained merges", "missing"))?
        .iter()
        .map(|m| match m.as_array().map(Vec::as_slice) {
            Some([Value::String(a), Value::String(b)]) => Ok((a.clone(), b.clone())),
            _ => match m.as_str().and_then(|s| s.split_once(' ')) {
                Some((a, b)) => Ok((a.to_string(), b.to_string())),
                None => Err(tok_err("trained merges", format!("bad entry {m}"))),
            },
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Trained { tokens, merges })
}

/// Build the in-memory tokenizer for `preset`.
pub(crate) fn build_tokenizer(preset: &Preset) -> Result<Tokenizer, SynthError> {
    let vocab_size = preset.vocab_size;
    let specials = preset.special_token_ids();
    let special_base = specials[0] as usize;
    if specials[2] as usize >= vocab_size {
        return Err(tok_err("preset", "special token ids exceed vocab_size"));
    }
    let trained = train(preset.tokenizer_train_vocab.min(special_base))?;
    if trained.tokens.len() > special_base {
        return Err(tok_err("trained vocab", "overlaps the special token ids"));
    }

    let mut vocab: Vocab = Vocab::default();
    for id in 0..vocab_size {
        let token = if let Some(t) = trained.tokens.get(id) {
            t.clone()
        } else if let Some(k) = specials.iter().position(|&s| s as usize == id) {
            SPECIAL_TOKENS[k].to_string()
        } else {
            format!("<|fill_{id}|>")
        };
        vocab.insert(token, id as u32);
    }
    if vocab.len() != vocab_size {
        return Err(tok_err("vocab", "duplicate token strings"));
    }
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, trained.merges)
        .build()
        .map_err(|e| tok_err("BPE model", e))?;

    let mut tok = Tokenizer::new(bpe);
    tok.with_normalizer(Some(NFC))
        .map_err(|e| tok_err("normalizer", e))?;
    tok.with_pre_tokenizer(Some(pre_tokenizer()?));
    tok.with_post_processor(Some(ByteLevelProcessor::new(false, false, false)));
    tok.with_decoder(Some(ByteLevelDecoder::new(false, false, false)));
    let added: Vec<AddedToken> = SPECIAL_TOKENS
        .iter()
        .map(|s| AddedToken::from(*s, true))
        .collect();
    tok.add_special_tokens(added.iter().cloned())
        .map_err(|e| tok_err("special tokens", e))?;
    for (content, id) in SPECIAL_TOKENS.iter().zip(specials) {
        if tok.token_to_id(content) != Some(id) {
            return Err(tok_err(
                "special tokens",
                format!("{content} is not at id {id}"),
            ));
        }
    }
    Ok(tok)
}

/// `tokenizer.json` text for `preset` (pretty-printed, like the real file).
pub(crate) fn tokenizer_json(preset: &Preset) -> Result<String, SynthError> {
    let tok = build_tokenizer(preset)?;
    let mut s = tok
        .to_string(true)
        .map_err(|e| tok_err("serialize tokenizer", e))?;
    s.push('\n');
    Ok(s)
}

/// `tokenizer_config.json` object for `preset`, in the layout of Qwen's file.
pub(crate) fn tokenizer_config_json(preset: &Preset) -> Value {
    let specials = preset.special_token_ids();
    let decoder: Map<String, Value> = SPECIAL_TOKENS
        .iter()
        .zip(specials)
        .map(|(content, id)| {
            (
                id.to_string(),
                json!({
                    "content": content,
                    "lstrip": false,
                    "normalized": false,
                    "rstrip": false,
                    "single_word": false,
                    "special": true
                }),
            )
        })
        .collect();
    let eos = SPECIAL_TOKENS
        .iter()
        .zip(specials)
        .find(|(_, id)| *id == preset.eos_token_id)
        .map_or(SPECIAL_TOKENS[2], |(c, _)| *c);
    json!({
        "add_bos_token": false,
        "add_prefix_space": false,
        "added_tokens_decoder": decoder,
        "additional_special_tokens": [SPECIAL_TOKENS[1], SPECIAL_TOKENS[2]],
        "bos_token": null,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": false,
        "eos_token": eos,
        "errors": "replace",
        "model_max_length": preset.model_max_length,
        "pad_token": SPECIAL_TOKENS[0],
        "split_special_tokens": false,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": null
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::preset;

    fn tiny_tokenizer() -> Tokenizer {
        let text = tokenizer_json(preset("tiny").unwrap()).unwrap();
        text.parse::<Tokenizer>().unwrap()
    }

    #[test]
    fn round_trips_and_merges_work() {
        let tok = tiny_tokenizer();
        for text in [
            "The weather along the coast changes quickly in spring.",
            "Hello, world!\n\n  Indented line\twith tab; numbers 12345 and ünïcödé — ok?",
            "",
            " leading space and trailing  ",
        ] {
            let enc = tok.encode(text, false).unwrap();
            assert_eq!(tok.decode(enc.get_ids(), false).unwrap(), text);
        }
        let sentence = "The engineers measured the processors and the memory of the computers.";
        let n = tok.encode(sentence, false).unwrap().get_ids().len();
        assert!(
            n * 3 < sentence.len(),
            "{n} tokens for {} bytes",
            sentence.len()
        );
    }

    #[test]
    fn every_id_decodes_and_specials_are_in_place() {
        let p = preset("tiny").unwrap();
        let tok = tiny_tokenizer();
        assert_eq!(tok.get_vocab_size(true), p.vocab_size);
        for id in 0..p.vocab_size as u32 {
            assert!(tok.id_to_token(id).is_some(), "id {id}");
            tok.decode(&[id], false).unwrap();
        }
        let all: Vec<u32> = (0..p.vocab_size as u32).collect();
        tok.decode(&all, true).unwrap();
        assert_eq!(tok.token_to_id("<|endoftext|>"), Some(2045));
        assert_eq!(tok.token_to_id("<|im_start|>"), Some(2046));
        assert_eq!(tok.token_to_id("<|im_end|>"), Some(2047));
        let enc = tok.encode("<|im_start|>user\nhi<|im_end|>", false).unwrap();
        assert_eq!(enc.get_ids().first(), Some(&2046));
        assert_eq!(enc.get_ids().last(), Some(&2047));
    }

    #[test]
    fn real_presets_put_specials_at_qwen_ids() {
        let p = preset("qwen3-0.6b").unwrap();
        let tok = build_tokenizer(p).unwrap();
        assert_eq!(tok.get_vocab_size(true), 151_936);
        assert_eq!(tok.token_to_id("<|endoftext|>"), Some(151_643));
        assert_eq!(tok.token_to_id("<|im_start|>"), Some(151_644));
        assert_eq!(tok.token_to_id("<|im_end|>"), Some(151_645));
        for id in [0, 255, 256, 3999, 4000, 151_642, 151_646, 151_935] {
            tok.decode(&[id], false).unwrap();
        }
        assert!(tok.id_to_token(151_936).is_none());
    }

    #[test]
    fn deterministic() {
        let p = preset("tiny").unwrap();
        assert_eq!(tokenizer_json(p).unwrap(), tokenizer_json(p).unwrap());
    }

    #[test]
    fn layout_matches_qwen2() {
        let v: Value =
            serde_json::from_str(&tokenizer_json(preset("tiny").unwrap()).unwrap()).unwrap();
        assert_eq!(v["normalizer"], json!({"type": "NFC"}));
        assert_eq!(v["pre_tokenizer"]["type"], json!("Sequence"));
        assert_eq!(
            v["pre_tokenizer"]["pretokenizers"][0],
            json!({"type": "Split", "pattern": {"Regex": QWEN2_SPLIT_REGEX},
                   "behavior": "Isolated", "invert": false})
        );
        let bl = json!({"type": "ByteLevel", "add_prefix_space": false,
                        "trim_offsets": false, "use_regex": false});
        assert_eq!(v["pre_tokenizer"]["pretokenizers"][1], bl);
        assert_eq!(v["post_processor"], bl);
        assert_eq!(v["decoder"], bl);
        assert_eq!(v["model"]["type"], json!("BPE"));
        assert_eq!(v["model"]["unk_token"], Value::Null);
        assert_eq!(v["model"]["byte_fallback"], json!(false));
        let merges = v["model"]["merges"].as_array().unwrap().len();
        assert!(merges > 1000, "{merges} merges");
        let added = v["added_tokens"].as_array().unwrap();
        assert_eq!(added.len(), 3);
        assert!(added.iter().all(|t| t["special"] == json!(true)));

        let c = tokenizer_config_json(preset("tiny").unwrap());
        assert_eq!(c["tokenizer_class"], json!("Qwen2Tokenizer"));
        assert_eq!(c["eos_token"], json!("<|im_end|>"));
        assert_eq!(c["bos_token"], Value::Null);
        assert_eq!(c["pad_token"], json!("<|endoftext|>"));
        assert_eq!(
            c["added_tokens_decoder"]["2047"]["content"],
            json!("<|im_end|>")
        );
        let c = tokenizer_config_json(preset("qwen2.5-0.5b").unwrap());
        assert_eq!(c["eos_token"], json!("<|endoftext|>"));
    }
}
