//! CLIP's tokenizer from `vocab.json` and `merges.txt`, for FLUX folders as black-forest-labs
//! publishes them (their `tokenizer/` holds the slow tokenizer's files, no `tokenizer.json`).
//! Built the way Hugging Face converts CLIP's slow tokenizer to a fast one
//! (`convert_slow_tokenizer.CLIPConverter`): NFC, whitespace runs to one space, lowercase;
//! split into letters, digits, contractions and other runs; byte-level BPE with a `</w>`
//! end-of-word suffix; `<|startoftext|>` before and `<|endoftext|>` after.

use std::path::Path;

use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::normalizers::replace::{Replace, ReplacePattern};
use tokenizers::normalizers::unicode::NFC;
use tokenizers::normalizers::utils::{Lowercase, Sequence as NormalizerSequence};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{SplitDelimiterBehavior, Tokenizer};

/// CLIP's pre-tokenization pattern.
const CLIP_SPLIT: &str = r"'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";
const BOS: &str = "<|startoftext|>";
const EOS: &str = "<|endoftext|>";

/// The tokenizer of a CLIP `tokenizer/` folder holding `vocab.json` and `merges.txt`.
pub fn from_vocab_and_merges(vocab: &Path, merges: &Path) -> Result<Tokenizer, String> {
    let path = |p: &Path| {
        p.to_str()
            .map(str::to_string)
            .ok_or("a path that is not UTF-8")
    };
    let bpe = BPE::from_file(&path(vocab)?, &path(merges)?)
        .end_of_word_suffix("</w>".into())
        .unk_token(EOS.into())
        .build()
        .map_err(|e| format!("cannot read the BPE vocabulary: {e}"))?;
    let id = |token: &str| {
        bpe_token_id(&bpe, token).ok_or_else(|| format!("`{token}` is not in {}", vocab.display()))
    };
    let (bos, eos) = (id(BOS)?, id(EOS)?);
    let mut tokenizer = Tokenizer::new(bpe);
    let whitespace = Replace::new(ReplacePattern::Regex(r"\s+".into()), " ")
        .map_err(|e| format!("normalizer: {e}"))?;
    tokenizer
        .with_normalizer(Some(NormalizerSequence::new(vec![
            NFC.into(),
            whitespace.into(),
            Lowercase.into(),
        ])))
        .map_err(|e| format!("normalizer: {e}"))?;
    let split = Split::new(
        SplitPattern::Regex(CLIP_SPLIT.into()),
        SplitDelimiterBehavior::Removed,
        true,
    )
    .map_err(|e| format!("pre-tokenizer: {e}"))?;
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![
        split.into(),
        ByteLevel::new(false, true, false).into(),
    ])));
    tokenizer.with_decoder(Some(ByteLevelDecoder::default()));
    let template = TemplateProcessing::builder()
        .try_single(format!("{BOS} $A {EOS}"))
        .and_then(|t| t.try_pair(format!("{BOS} $A {EOS} $B {EOS}")))
        .map_err(|e| format!("post-processor: {e}"))?
        .special_tokens(vec![(BOS, bos), (EOS, eos)])
        .build()
        .map_err(|e| format!("post-processor: {e}"))?;
    tokenizer.with_post_processor(Some(template));
    Ok(tokenizer)
}

fn bpe_token_id(bpe: &BPE, token: &str) -> Option<u32> {
    use tokenizers::Model;
    bpe.token_to_id(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clip_vocabulary_tokenizes_lowercased_words_between_start_and_end() {
        let dir = tempfile::tempdir().unwrap();
        // A tiny CLIP-style vocabulary: bytes as ByteLevel maps them, merges ending in `</w>`.
        let vocab = serde_json::json!({
            "a": 0, "c": 1, "t": 2, "a</w>": 3, "t</w>": 4, "ca": 5, "cat</w>": 6,
            "<|startoftext|>": 7, "<|endoftext|>": 8
        });
        std::fs::write(dir.path().join("vocab.json"), vocab.to_string()).unwrap();
        std::fs::write(
            dir.path().join("merges.txt"),
            "#version: 0.2\nc a\nca t</w>\n",
        )
        .unwrap();
        let tokenizer = from_vocab_and_merges(
            &dir.path().join("vocab.json"),
            &dir.path().join("merges.txt"),
        )
        .unwrap();
        let ids = tokenizer.encode("A  CAT", true).unwrap().get_ids().to_vec();
        assert_eq!(ids, vec![7, 3, 6, 8]);
    }
}
