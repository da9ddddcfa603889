//! The shapes of a decoder-only LLM read from `config.json`, and its parameter counts.
//!
//! Read the way [`crate::model::ArchConfig`] reads it (`head_dim` defaults to
//! `hidden_size / num_attention_heads`, `tie_word_embeddings` to false), but also for
//! `qwen3_moe`, which the candle engine does not run: costing a model needs only its shapes.

use std::path::Path;

use serde::Deserialize;

use crate::Error;

/// Mixture-of-experts MLP shapes: every layer's MLP is `experts` expert MLPs of width
/// `intermediate`, of which a router picks `active` per token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Experts {
    /// `num_experts`.
    pub experts: usize,
    /// `num_experts_per_tok`.
    pub active: usize,
    /// `moe_intermediate_size`.
    pub intermediate: usize,
}

/// What the cost arithmetic needs to know of a Qwen2 / Qwen3 / Qwen3-MoE model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmShape {
    /// `model_type` as written (`qwen2`, `qwen3`, `qwen3_moe`).
    pub model_type: String,
    /// `hidden_size`.
    pub hidden: usize,
    /// `num_hidden_layers`.
    pub layers: usize,
    /// `num_attention_heads`.
    pub heads: usize,
    /// `num_key_value_heads` (grouped-query attention shares each among several heads).
    pub kv_heads: usize,
    /// `head_dim`.
    pub head_dim: usize,
    /// `vocab_size`.
    pub vocab: usize,
    /// `intermediate_size`: the dense MLP width (unused by MoE layers).
    pub intermediate: usize,
    /// `tie_word_embeddings`: the LM head is the embedding table.
    pub tied_embeddings: bool,
    /// Expert shapes when the MLPs are a mixture of experts.
    pub experts: Option<Experts>,
    /// `torch_dtype` when given (`bfloat16`, `float32`): the dtype the weights are stored in.
    pub torch_dtype: Option<String>,
}

/// The keys of `config.json` this module reads.
#[derive(Deserialize)]
struct RawConfig {
    model_type: String,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    vocab_size: usize,
    intermediate_size: usize,
    tie_word_embeddings: Option<bool>,
    num_experts: Option<usize>,
    num_experts_per_tok: Option<usize>,
    moe_intermediate_size: Option<usize>,
    // MoE configs may keep some layers dense; Qwen3-MoE releases leave this empty.
    mlp_only_layers: Option<Vec<usize>>,
    decoder_sparse_step: Option<usize>,
    torch_dtype: Option<String>,
}

impl LlmShape {
    /// Read `dir/config.json`.
    pub fn read(dir: &Path) -> Result<Self, Error> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::ModelFile {
            path: path.clone(),
            reason: format!("cannot read: {e}"),
        })?;
        Self::parse(&text).map_err(|reason| Error::ModelFile { path, reason })
    }

    /// Parse the text of a `config.json`; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let raw: RawConfig =
            serde_json::from_str(text).map_err(|e| format!("not a Qwen-style config: {e}"))?;
        if !matches!(raw.model_type.as_str(), "qwen2" | "qwen3" | "qwen3_moe") {
            return Err(format!(
                "model_type `{}` cannot be costed; supported: qwen2, qwen3, qwen3_moe",
                raw.model_type
            ));
        }
        if raw.num_attention_heads == 0 || raw.hidden_size == 0 || raw.num_hidden_layers == 0 {
            return Err(
                "hidden_size, num_hidden_layers and num_attention_heads must be > 0".into(),
            );
        }
        let experts = match (
            raw.num_experts,
            raw.num_experts_per_tok,
            raw.moe_intermediate_size,
        ) {
            (Some(experts), Some(active), Some(intermediate)) if experts > 0 => {
                // Costing every layer as sparse is only right when no layer is dense.
                let dense_layers = raw.mlp_only_layers.as_ref().is_some_and(|l| !l.is_empty())
                    || raw.decoder_sparse_step.is_some_and(|s| s > 1);
                if dense_layers {
                    return Err("MoE configs with dense layers (mlp_only_layers, decoder_sparse_step > 1) are not supported".into());
                }
                if active > experts {
                    return Err(format!(
                        "num_experts_per_tok {active} > num_experts {experts}"
                    ));
                }
                Some(Experts {
                    experts,
                    active,
                    intermediate,
                })
            }
            _ => None,
        };
        Ok(Self {
            hidden: raw.hidden_size,
            layers: raw.num_hidden_layers,
            heads: raw.num_attention_heads,
            kv_heads: raw.num_key_value_heads.unwrap_or(raw.num_attention_heads),
            head_dim: raw
                .head_dim
                .unwrap_or(raw.hidden_size / raw.num_attention_heads),
            vocab: raw.vocab_size,
            intermediate: raw.intermediate_size,
            tied_embeddings: raw.tie_word_embeddings.unwrap_or(false),
            experts,
            torch_dtype: raw.torch_dtype,
            model_type: raw.model_type,
        })
    }

    /// Weights of one layer's attention projections (q, k, v, o), biases left out.
    pub fn attention_weights(&self) -> u64 {
        let (h, q, kv) = (
            self.hidden as u64,
            (self.heads * self.head_dim) as u64,
            (self.kv_heads * self.head_dim) as u64,
        );
        h * q + 2 * h * kv + q * h
    }

    /// Weights of one layer's MLP a token passes through: the dense MLP, or the router and
    /// the active experts.
    pub fn active_mlp_weights(&self) -> u64 {
        let h = self.hidden as u64;
        match self.experts {
            // gate, up and down projections of each active expert, and the router.
            Some(e) => e.active as u64 * 3 * h * e.intermediate as u64 + h * e.experts as u64,
            None => 3 * h * self.intermediate as u64,
        }
    }

    /// Weights of one layer's MLP, all experts included.
    pub fn mlp_weights(&self) -> u64 {
        let h = self.hidden as u64;
        match self.experts {
            Some(e) => e.experts as u64 * 3 * h * e.intermediate as u64 + h * e.experts as u64,
            None => 3 * h * self.intermediate as u64,
        }
    }

    /// Weights that are added or scaled, not multiplied by: two RMSNorms per layer, Qwen3's
    /// q and k norms or Qwen2's q, k and v biases, and the final norm.
    pub fn norm_and_bias_weights(&self) -> u64 {
        let per_layer = 2 * self.hidden as u64
            + if self.model_type == "qwen2" {
                ((self.heads + 2 * self.kv_heads) * self.head_dim) as u64
            } else {
                2 * self.head_dim as u64
            };
        self.layers as u64 * per_layer + self.hidden as u64
    }

    /// Rows × columns of the embedding table (and of an untied LM head).
    pub fn embedding_weights(&self) -> u64 {
        (self.vocab * self.hidden) as u64
    }

    /// All stored weights: embeddings (once when tied), layers, norms, and the LM head.
    pub fn parameters(&self) -> u64 {
        self.with_embeddings(self.layers as u64 * (self.attention_weights() + self.mlp_weights()))
    }

    /// Weights one token touches: as [`Self::parameters`] with only the active experts.
    pub fn active_parameters(&self) -> u64 {
        self.with_embeddings(
            self.layers as u64 * (self.attention_weights() + self.active_mlp_weights()),
        )
    }

    /// Weights one token multiplies by: the active layers' linears and the LM head (the
    /// embedding table when tied). Norms and the embedding lookup are left out.
    pub fn active_linear_weights(&self) -> u64 {
        self.layers as u64 * (self.attention_weights() + self.active_mlp_weights())
            + self.embedding_weights()
    }

    fn with_embeddings(&self, layer_weights: u64) -> u64 {
        let tables = if self.tied_embeddings { 1 } else { 2 };
        layer_weights + self.norm_and_bias_weights() + tables * self.embedding_weights()
    }
}
