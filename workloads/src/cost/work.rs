//! FLOPs of a prefill and bytes read per decoded token, from an [`LlmShape`].

use serde::Serialize;

use super::LlmShape;

/// Which query-key pairs attention scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Masking {
    /// Every query against every key: N² pairs (what a kernel that computes the whole score
    /// matrix and then masks it does).
    Full,
    /// Each query against itself and the keys before it: N(N+1)/2 pairs (what a causal
    /// flash-attention kernel does).
    Causal,
}

impl Masking {
    /// Query-key pairs scored for `tokens` tokens.
    pub fn pairs(self, tokens: u64) -> u128 {
        let n = u128::from(tokens);
        match self {
            Self::Full => n * n,
            Self::Causal => n * (n + 1) / 2,
        }
    }
}

/// FLOPs of a prefill of N tokens into an empty KV cache, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PrefillFlops {
    /// The layers' linears (attention projections, MLP or active experts and router):
    /// 2 × their weights × N.
    pub linear: u128,
    /// The LM head on every position: 2 × hidden × vocab × N. Engines that compute logits for
    /// the last prompt position only (candle's Qwen models do) spend 1/N of this.
    pub lm_head: u128,
    /// QKᵀ and AV: 2 × 2 × pairs × heads × head_dim per layer (pairs from [`Masking`]).
    pub attention: u128,
}

impl PrefillFlops {
    /// Count for `tokens` prompt tokens.
    pub fn new(shape: &LlmShape, tokens: u64, masking: Masking) -> Self {
        let n = u128::from(tokens);
        let layers = shape.layers as u128;
        let layer_linear = u128::from(shape.attention_weights() + shape.active_mlp_weights());
        Self {
            linear: 2 * layers * layer_linear * n,
            lm_head: 2 * u128::from(shape.embedding_weights()) * n,
            attention: 4 * masking.pairs(tokens) * (shape.heads * shape.head_dim) as u128 * layers,
        }
    }

    /// All parts together.
    pub fn total(&self) -> u128 {
        self.linear + self.lm_head + self.attention
    }
}

/// How weights are stored: whole bytes per weight, or blocks of quantized weights with their
/// scales (GGUF's layouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightFormat {
    /// 4 bytes.
    F32,
    /// 2 bytes.
    F16,
    /// 2 bytes.
    Bf16,
    /// 32 weights in 34 bytes (an f16 scale and 32 int8): 8.5 bits a weight.
    Q8_0,
    /// 256 weights in 210 bytes: 6.5625 bits a weight.
    Q6K,
    /// 256 weights in 144 bytes: 4.5 bits a weight.
    Q4K,
    /// 32 weights in 18 bytes (an f16 scale and 32 nibbles): 4.5 bits a weight.
    Q4_0,
}

impl WeightFormat {
    /// Read a name: a `torch_dtype` (`bfloat16`, `float16`, `float32`) or a GGUF type
    /// (`q8_0`, `q6_k`, `q4_k`, `q4_0`), any case.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "float32" | "f32" => Self::F32,
            "float16" | "f16" => Self::F16,
            "bfloat16" | "bf16" => Self::Bf16,
            "q8_0" => Self::Q8_0,
            "q6_k" => Self::Q6K,
            "q4_k" | "q4_k_m" | "q4_k_s" => Self::Q4K,
            "q4_0" => Self::Q4_0,
            _ => return None,
        })
    }

    /// (bytes, weights) of one block.
    fn block(self) -> (u64, u64) {
        match self {
            Self::F32 => (4, 1),
            Self::F16 | Self::Bf16 => (2, 1),
            Self::Q8_0 => (34, 32),
            Self::Q6K => (210, 256),
            Self::Q4K => (144, 256),
            Self::Q4_0 => (18, 32),
        }
    }

    /// Bytes `weights` weights take, rounded up.
    pub fn bytes(self, weights: u64) -> u64 {
        let (bytes, per) = self.block();
        (u128::from(weights) * u128::from(bytes)).div_ceil(u128::from(per)) as u64
    }
}

/// Bytes of K and V one token adds to the cache: 2 × layers × kv_heads × head_dim ×
/// `element_bytes`.
pub fn kv_cache_bytes_per_token(shape: &LlmShape, element_bytes: u64) -> u64 {
    2 * (shape.layers * shape.kv_heads * shape.head_dim) as u64 * element_bytes
}

/// Bytes read to decode one token, by part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DecodeBytes {
    /// Every active weight once: the linears, the LM head (the embedding table when tied),
    /// norms and biases, and the new token's row of an untied embedding table.
    pub weights: u64,
    /// K and V of the `context` positions attended to.
    pub kv_cache: u64,
}

impl DecodeBytes {
    /// Both parts.
    pub fn total(&self) -> u64 {
        self.weights + self.kv_cache
    }
}

/// Bytes read to decode one token that attends to `context` positions (the prompt and the
/// tokens generated so far, itself included), weights stored as `format`, the KV cache in
/// elements of `kv_element_bytes`. Activations and the writes of the new K and V are left
/// out: they are O(hidden) against O(hidden²).
pub fn decode_bytes(
    shape: &LlmShape,
    format: WeightFormat,
    kv_element_bytes: u64,
    context: u64,
) -> DecodeBytes {
    let embedding_row = if shape.tied_embeddings {
        0
    } else {
        shape.hidden as u64
    };
    let weights = shape.active_linear_weights() + shape.norm_and_bias_weights() + embedding_row;
    DecodeBytes {
        weights: format.bytes(weights),
        kv_cache: kv_cache_bytes_per_token(shape, kv_element_bytes) * context,
    }
}
