//! What a model served from a GGUF file reads per decoded token: each tensor's bytes at its
//! own ggml type (a Q4_K_M file mixes Q4_K, Q6_K and F32), counted from the header.
//!
//! Per tensor, by llama.cpp's tensor names: the expert tensors of a MoE layer (`*_exps`) are
//! read for `expert_used_count` of `expert_count` experts; the token embedding table is read
//! whole where it is also the LM head (no `output.weight`), else one row of it; every other
//! tensor is read whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::gguf::{Gguf, GgufError};

/// One ggml type's share of a GGUF's tensors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeShare {
    /// Tensors of this type.
    pub tensors: u64,
    /// Their weights (elements).
    pub weights: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// A GGUF model's weights, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GgufWeights {
    /// The file it was read from (the first shard of a split).
    pub file: String,
    /// Tensors in the model.
    pub tensors: u64,
    /// Weights (elements) of every tensor.
    pub weights: u64,
    /// Bytes of every tensor.
    pub bytes: u64,
    /// Bytes of weights one decoded token reads (see the module's rules); a batched decode
    /// step of a dense model reads them once for every sequence in it.
    pub decode_bytes: u64,
    /// Per ggml type (`Q4_K`, `F32`).
    pub by_type: BTreeMap<String, TypeShare>,
}

/// Count `gguf`'s weights; the error names a tensor that cannot be counted, or the missing
/// expert counts of a MoE model.
pub fn gguf_weights(gguf: &Gguf) -> Result<GgufWeights, GgufError> {
    let format = |reason: String| GgufError::Format {
        path: gguf.path.clone(),
        reason,
    };
    let tied = !gguf.tensors.iter().any(|t| t.name == "output.weight");
    let mut out = GgufWeights {
        file: gguf.path.display().to_string(),
        tensors: 0,
        weights: 0,
        bytes: 0,
        decode_bytes: 0,
        by_type: BTreeMap::new(),
    };
    let mut decode: u128 = 0;
    for t in &gguf.tensors {
        let (kind, bytes) = gguf.tensor_bytes(t)?;
        let weights = t.elements().unwrap_or(0);
        let share = out.by_type.entry(kind.name.to_string()).or_default();
        share.tensors += 1;
        share.weights = share.weights.saturating_add(weights);
        share.bytes = share.bytes.saturating_add(bytes);
        out.tensors += 1;
        out.weights = out.weights.saturating_add(weights);
        out.bytes = out.bytes.saturating_add(bytes);
        let read: u128 = if t.name.contains("_exps.") {
            let (Some(all), Some(used)) = (gguf.expert_count, gguf.expert_used_count) else {
                return Err(format(format!(
                    "tensor `{}` holds experts, but the header gives no expert_count and \
                     expert_used_count",
                    t.name
                )));
            };
            if all == 0 || used > all {
                return Err(format(format!(
                    "expert_used_count {used} of expert_count {all} is impossible"
                )));
            }
            u128::from(bytes) * u128::from(used) / u128::from(all)
        } else if t.name == "token_embd.weight" && !tied {
            // One row: ggml's second dimension counts the rows (the vocabulary).
            let rows = t.dims.get(1).copied().filter(|r| *r > 0).unwrap_or(1);
            u128::from(bytes) / u128::from(rows)
        } else {
            u128::from(bytes)
        };
        decode += read;
    }
    out.decode_bytes = u64::try_from(decode).unwrap_or(u64::MAX);
    Ok(out)
}

#[cfg(test)]
mod tests {
    //! Weights counted on GGUF headers written by candle's GGUF writer (built in `gguf`'s
    //! tests), against the block sizes by hand.

    use super::*;
    use crate::gguf::tests::{experts, six_types};

    #[test]
    fn each_tensor_counts_at_its_own_type() {
        let (_, g) = six_types();
        let w = gguf_weights(&g).expect("weights");
        // Q8_0 16,384 / 32 × 34 = 17,408; Q4_K 65,536 / 256 × 144 = 36,864; F16 131,072;
        // Q6_K 65,536 / 256 × 210 = 53,760; F32 1,024; Q4_0 16,384 / 32 × 18 = 9,216.
        assert_eq!(w.bytes, 249_344);
        assert_eq!(w.by_type["Q4_K"].bytes, 36_864);
        assert_eq!(w.by_type["Q6_K"].bytes, 53_760);
        assert_eq!(w.by_type["Q8_0"].weights, 16_384);
        // The LM head is `output.weight`, so a token reads one row of the embedding table:
        // 17,408 / 64 = 272 bytes instead of the whole table.
        assert_eq!(w.decode_bytes, 249_344 - 17_408 + 272);
    }

    #[test]
    fn experts_are_read_for_the_tokens_share_and_a_tied_table_whole() {
        let w = gguf_weights(&experts(true)).expect("weights");
        // Tied: the whole table 8,192 B; one expert of four 16,384 / 4; the shared expert 4,096.
        assert_eq!(w.decode_bytes, 8_192 + 4_096 + 4_096);
        // Without the counts the experts cannot be costed, and the error says so.
        let err = gguf_weights(&experts(false)).expect_err("no counts");
        assert!(err.to_string().contains("expert_count"), "{err}");
    }
}
