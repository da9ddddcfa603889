//! The built-in model presets: the exact hyper-parameters of the real models' `config.json`.

use super::tensors::{Init, TensorSpec};

/// Which Hugging Face architecture a preset follows. It decides the `config.json` layout and the
/// tensor list (Qwen2 has q/k/v biases; Qwen3 has per-head q/k RMS norms instead).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    /// `Qwen2ForCausalLM`, `model_type` "qwen2" (also used by Qwen2.5).
    Qwen2,
    /// `Qwen3ForCausalLM`, `model_type` "qwen3".
    Qwen3,
}

impl Arch {
    /// The `architectures[0]` entry of `config.json`.
    pub fn class_name(self) -> &'static str {
        match self {
            Arch::Qwen2 => "Qwen2ForCausalLM",
            Arch::Qwen3 => "Qwen3ForCausalLM",
        }
    }

    /// The `model_type` entry of `config.json`.
    pub fn model_type(self) -> &'static str {
        match self {
            Arch::Qwen2 => "qwen2",
            Arch::Qwen3 => "qwen3",
        }
    }
}

/// A model shape the synthesizer can write: the architecture hyper-parameters of a real model
/// (or of the small `tiny` test model) plus what the tokenizer builder needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    /// Preset name as used on the command line, e.g. `qwen3-0.6b`.
    pub name: &'static str,
    /// One-line human description.
    pub summary: &'static str,
    /// Architecture family.
    pub arch: Arch,
    /// `hidden_size`.
    pub hidden_size: usize,
    /// `intermediate_size` (MLP width).
    pub intermediate_size: usize,
    /// `num_hidden_layers`.
    pub num_hidden_layers: usize,
    /// `num_attention_heads`.
    pub num_attention_heads: usize,
    /// `num_key_value_heads`.
    pub num_key_value_heads: usize,
    /// Per-head dimension (`head_dim` for Qwen3; `hidden_size / num_attention_heads` for Qwen2,
    /// whose config has no such key).
    pub head_dim: usize,
    /// `vocab_size` (rows of the embedding matrix); the tokenizer covers every id below it.
    pub vocab_size: usize,
    /// `max_position_embeddings`.
    pub max_position_embeddings: usize,
    /// `max_window_layers`.
    pub max_window_layers: usize,
    /// `rope_theta`.
    pub rope_theta: f64,
    /// `rms_norm_eps`.
    pub rms_norm_eps: f64,
    /// `tie_word_embeddings`: when false the checkpoint has its own `lm_head.weight`.
    pub tie_word_embeddings: bool,
    /// `bos_token_id`.
    pub bos_token_id: u32,
    /// `eos_token_id`.
    pub eos_token_id: u32,
    /// `sliding_window` (`null` when `None`).
    pub sliding_window: Option<usize>,
    /// `transformers_version` recorded in `config.json`.
    pub transformers_version: &'static str,
    /// Id of `<|endoftext|>`; `<|im_start|>` and `<|im_end|>` follow at +1 and +2.
    pub special_token_base: u32,
    /// Upper bound on the trained BPE vocabulary (byte alphabet + merges).
    pub tokenizer_train_vocab: usize,
    /// `model_max_length` written to `tokenizer_config.json`.
    pub model_max_length: usize,
}

impl Preset {
    /// Every tensor of the checkpoint, sorted by name, with its shape and initializer.
    pub fn tensors(&self) -> Vec<TensorSpec> {
        tensor_specs(self)
    }

    /// Total number of parameters (elements over all tensors).
    pub fn parameters(&self) -> u64 {
        self.tensors().iter().map(|t| t.numel() as u64).sum()
    }

    /// Ids of `<|endoftext|>`, `<|im_start|>`, `<|im_end|>`.
    pub fn special_token_ids(&self) -> [u32; 3] {
        let b = self.special_token_base;
        [b, b + 1, b + 2]
    }
}

/// Qwen's special-token ids in the real 151936-row vocabularies.
const QWEN_SPECIAL_BASE: u32 = 151_643;
const QWEN_VOCAB: usize = 151_936;

static PRESETS: [Preset; 5] = [
    Preset {
        name: "tiny",
        summary: "Qwen3-architecture toy model for tests (64 hidden, 2 layers, 2048 vocab)",
        arch: Arch::Qwen3,
        hidden_size: 64,
        intermediate_size: 128,
        num_hidden_layers: 2,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 16,
        vocab_size: 2048,
        max_position_embeddings: 4096,
        max_window_layers: 2,
        rope_theta: 1_000_000.0,
        rms_norm_eps: 1e-6,
        tie_word_embeddings: true,
        bos_token_id: 2045,
        eos_token_id: 2047,
        sliding_window: None,
        transformers_version: "4.51.0",
        special_token_base: 2045,
        tokenizer_train_vocab: 1500,
        model_max_length: 4096,
    },
    Preset {
        name: "qwen3-0.6b",
        summary: "Qwen/Qwen3-0.6B shape (0.6B params, tied embeddings)",
        arch: Arch::Qwen3,
        hidden_size: 1024,
        intermediate_size: 3072,
        num_hidden_layers: 28,
        num_attention_heads: 16,
        num_key_value_heads: 8,
        head_dim: 128,
        vocab_size: QWEN_VOCAB,
        max_position_embeddings: 40960,
        max_window_layers: 28,
        rope_theta: 1_000_000.0,
        rms_norm_eps: 1e-6,
        tie_word_embeddings: true,
        bos_token_id: 151_643,
        eos_token_id: 151_645,
        sliding_window: None,
        transformers_version: "4.51.0",
        special_token_base: QWEN_SPECIAL_BASE,
        tokenizer_train_vocab: 4000,
        model_max_length: 131_072,
    },
    Preset {
        name: "qwen3-1.7b",
        summary: "Qwen/Qwen3-1.7B shape (1.7B params, tied embeddings)",
        arch: Arch::Qwen3,
        hidden_size: 2048,
        intermediate_size: 6144,
        num_hidden_layers: 28,
        num_attention_heads: 16,
        num_key_value_heads: 8,
        head_dim: 128,
        vocab_size: QWEN_VOCAB,
        max_position_embeddings: 40960,
        max_window_layers: 28,
        rope_theta: 1_000_000.0,
        rms_norm_eps: 1e-6,
        tie_word_embeddings: true,
        bos_token_id: 151_643,
        eos_token_id: 151_645,
        sliding_window: None,
        transformers_version: "4.51.0",
        special_token_base: QWEN_SPECIAL_BASE,
        tokenizer_train_vocab: 4000,
        model_max_length: 131_072,
    },
    Preset {
        name: "qwen3-8b",
        summary: "Qwen/Qwen3-8B shape (8.2B params, separate lm_head)",
        arch: Arch::Qwen3,
        hidden_size: 4096,
        intermediate_size: 12288,
        num_hidden_layers: 36,
        num_attention_heads: 32,
        num_key_value_heads: 8,
        head_dim: 128,
        vocab_size: QWEN_VOCAB,
        max_position_embeddings: 40960,
        max_window_layers: 36,
        rope_theta: 1_000_000.0,
        rms_norm_eps: 1e-6,
        tie_word_embeddings: false,
        bos_token_id: 151_643,
        eos_token_id: 151_645,
        sliding_window: None,
        transformers_version: "4.51.0",
        special_token_base: QWEN_SPECIAL_BASE,
        tokenizer_train_vocab: 4000,
        model_max_length: 131_072,
    },
    Preset {
        name: "qwen2.5-0.5b",
        summary: "Qwen/Qwen2.5-0.5B shape (0.5B params, q/k/v biases, tied embeddings)",
        arch: Arch::Qwen2,
        hidden_size: 896,
        intermediate_size: 4864,
        num_hidden_layers: 24,
        num_attention_heads: 14,
        num_key_value_heads: 2,
        head_dim: 64,
        vocab_size: QWEN_VOCAB,
        max_position_embeddings: 32768,
        max_window_layers: 24,
        rope_theta: 1_000_000.0,
        rms_norm_eps: 1e-6,
        tie_word_embeddings: true,
        bos_token_id: 151_643,
        eos_token_id: 151_643,
        sliding_window: Some(32768),
        transformers_version: "4.40.1",
        special_token_base: QWEN_SPECIAL_BASE,
        tokenizer_train_vocab: 4000,
        model_max_length: 131_072,
    },
];

/// All built-in presets.
pub fn presets() -> &'static [Preset] {
    &PRESETS
}

/// Comma-separated preset names, for error messages.
pub(crate) fn preset_names() -> String {
    PRESETS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every tensor of `preset`'s checkpoint, sorted by name, exactly as Hugging Face names them.
pub(crate) fn tensor_specs(p: &Preset) -> Vec<TensorSpec> {
    let spec = |name: String, shape: Vec<usize>, init: Init| TensorSpec { name, shape, init };
    let (h, q, kv) = (
        p.hidden_size,
        p.num_attention_heads * p.head_dim,
        p.num_key_value_heads * p.head_dim,
    );
    let mut out = vec![
        spec(
            "model.embed_tokens.weight".into(),
            vec![p.vocab_size, h],
            Init::Normal,
        ),
        spec("model.norm.weight".into(), vec![h], Init::Ones),
    ];
    if !p.tie_word_embeddings {
        out.push(spec(
            "lm_head.weight".into(),
            vec![p.vocab_size, h],
            Init::Normal,
        ));
    }
    for i in 0..p.num_hidden_layers {
        let l = format!("model.layers.{i}");
        out.push(spec(
            format!("{l}.input_layernorm.weight"),
            vec![h],
            Init::Ones,
        ));
        out.push(spec(
            format!("{l}.post_attention_layernorm.weight"),
            vec![h],
            Init::Ones,
        ));
        out.push(spec(
            format!("{l}.self_attn.q_proj.weight"),
            vec![q, h],
            Init::Normal,
        ));
        out.push(spec(
            format!("{l}.self_attn.k_proj.weight"),
            vec![kv, h],
            Init::Normal,
        ));
        out.push(spec(
            format!("{l}.self_attn.v_proj.weight"),
            vec![kv, h],
            Init::Normal,
        ));
        out.push(spec(
            format!("{l}.self_attn.o_proj.weight"),
            vec![h, q],
            Init::Normal,
        ));
        match p.arch {
            Arch::Qwen3 => {
                out.push(spec(
                    format!("{l}.self_attn.q_norm.weight"),
                    vec![p.head_dim],
                    Init::Ones,
                ));
                out.push(spec(
                    format!("{l}.self_attn.k_norm.weight"),
                    vec![p.head_dim],
                    Init::Ones,
                ));
            }
            Arch::Qwen2 => {
                out.push(spec(
                    format!("{l}.self_attn.q_proj.bias"),
                    vec![q],
                    Init::Zeros,
                ));
                out.push(spec(
                    format!("{l}.self_attn.k_proj.bias"),
                    vec![kv],
                    Init::Zeros,
                ));
                out.push(spec(
                    format!("{l}.self_attn.v_proj.bias"),
                    vec![kv],
                    Init::Zeros,
                ));
            }
        }
        let m = p.intermediate_size;
        out.push(spec(
            format!("{l}.mlp.gate_proj.weight"),
            vec![m, h],
            Init::Normal,
        ));
        out.push(spec(
            format!("{l}.mlp.up_proj.weight"),
            vec![m, h],
            Init::Normal,
        ));
        out.push(spec(
            format!("{l}.mlp.down_proj.weight"),
            vec![h, m],
            Init::Normal,
        ));
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_consistent() {
        for p in presets() {
            assert_eq!(
                p.num_attention_heads % p.num_key_value_heads,
                0,
                "{}",
                p.name
            );
            if p.arch == Arch::Qwen2 {
                assert_eq!(
                    p.head_dim * p.num_attention_heads,
                    p.hidden_size,
                    "{}",
                    p.name
                );
            }
            let [a, b, c] = p.special_token_ids();
            assert!(c < p.vocab_size as u32, "{}", p.name);
            assert!(p.tokenizer_train_vocab <= a as usize, "{}", p.name);
            assert!(
                p.special_token_ids().contains(&p.bos_token_id),
                "{}",
                p.name
            );
            assert!([a, b, c].contains(&p.eos_token_id), "{}", p.name);
        }
    }

    #[test]
    fn parameter_counts_match_the_real_models() {
        let count = |n: &str| {
            presets()
                .iter()
                .find(|p| p.name == n)
                .map(|p| p.parameters())
                .unwrap_or(0)
        };
        // Published sizes: 0.6B (596M incl. tied embedding), 1.7B, 8.2B, 0.49B.
        assert_eq!(count("qwen3-0.6b"), 596_049_920);
        assert_eq!(count("qwen3-1.7b"), 1_720_574_976);
        assert_eq!(count("qwen3-8b"), 8_190_735_360);
        assert_eq!(count("qwen2.5-0.5b"), 494_032_768);
    }
}
