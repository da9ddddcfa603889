//! `config.json` and `generation_config.json`, key for key as in the real models' files.
//!
//! Keys are inserted in alphabetical order (as `transformers` writes them with `sort_keys`), so
//! the output is sorted whether or not serde_json's `preserve_order` feature is enabled.

use serde_json::{json, Map, Value};

use super::presets::{Arch, Preset};
use super::WeightDType;

fn object(pairs: Vec<(&str, Value)>) -> Value {
    debug_assert!(
        pairs.windows(2).all(|w| w[0].0 < w[1].0),
        "keys must be sorted"
    );
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<Map<_, _>>(),
    )
}

/// The `config.json` object of `preset` for weights stored as `dtype`.
pub(crate) fn config_json(p: &Preset, dtype: WeightDType) -> Value {
    match p.arch {
        Arch::Qwen3 => object(vec![
            ("architectures", json!([p.arch.class_name()])),
            ("attention_bias", json!(false)),
            ("attention_dropout", json!(0.0)),
            ("bos_token_id", json!(p.bos_token_id)),
            ("eos_token_id", json!(p.eos_token_id)),
            ("head_dim", json!(p.head_dim)),
            ("hidden_act", json!("silu")),
            ("hidden_size", json!(p.hidden_size)),
            ("initializer_range", json!(super::tensors::INIT_STD)),
            ("intermediate_size", json!(p.intermediate_size)),
            ("max_position_embeddings", json!(p.max_position_embeddings)),
            ("max_window_layers", json!(p.max_window_layers)),
            ("model_type", json!(p.arch.model_type())),
            ("num_attention_heads", json!(p.num_attention_heads)),
            ("num_hidden_layers", json!(p.num_hidden_layers)),
            ("num_key_value_heads", json!(p.num_key_value_heads)),
            ("rms_norm_eps", json!(p.rms_norm_eps)),
            ("rope_scaling", Value::Null),
            // Qwen3's file has the integer `1000000`.
            ("rope_theta", integral_number(p.rope_theta)),
            ("sliding_window", json!(p.sliding_window)),
            ("tie_word_embeddings", json!(p.tie_word_embeddings)),
            ("torch_dtype", json!(dtype.torch_name())),
            ("transformers_version", json!(p.transformers_version)),
            ("use_cache", json!(true)),
            ("use_sliding_window", json!(false)),
            ("vocab_size", json!(p.vocab_size)),
        ]),
        Arch::Qwen2 => object(vec![
            ("architectures", json!([p.arch.class_name()])),
            ("attention_dropout", json!(0.0)),
            ("bos_token_id", json!(p.bos_token_id)),
            ("eos_token_id", json!(p.eos_token_id)),
            ("hidden_act", json!("silu")),
            ("hidden_size", json!(p.hidden_size)),
            ("initializer_range", json!(super::tensors::INIT_STD)),
            ("intermediate_size", json!(p.intermediate_size)),
            ("max_position_embeddings", json!(p.max_position_embeddings)),
            ("max_window_layers", json!(p.max_window_layers)),
            ("model_type", json!(p.arch.model_type())),
            ("num_attention_heads", json!(p.num_attention_heads)),
            ("num_hidden_layers", json!(p.num_hidden_layers)),
            ("num_key_value_heads", json!(p.num_key_value_heads)),
            ("rms_norm_eps", json!(p.rms_norm_eps)),
            // Qwen2.5's file has the float `1000000.0`.
            ("rope_theta", json!(p.rope_theta)),
            ("sliding_window", json!(p.sliding_window)),
            ("tie_word_embeddings", json!(p.tie_word_embeddings)),
            ("torch_dtype", json!(dtype.torch_name())),
            ("transformers_version", json!(p.transformers_version)),
            ("use_cache", json!(true)),
            ("use_mrope", json!(false)),
            ("use_sliding_window", json!(false)),
            ("vocab_size", json!(p.vocab_size)),
        ]),
    }
}

/// `x` as a JSON integer when it is a whole number that fits, else as a float.
fn integral_number(x: f64) -> Value {
    if x.fract() == 0.0 && x >= 0.0 && x < u64::MAX as f64 {
        json!(x as u64)
    } else {
        json!(x)
    }
}

/// The `generation_config.json` object: Qwen3's sampling defaults, or Qwen2.5 base's greedy one.
pub(crate) fn generation_config_json(p: &Preset) -> Value {
    let [endoftext, _, im_end] = p.special_token_ids();
    match p.arch {
        Arch::Qwen3 => object(vec![
            ("bos_token_id", json!(p.bos_token_id)),
            ("do_sample", json!(true)),
            ("eos_token_id", json!([im_end, endoftext])),
            ("pad_token_id", json!(endoftext)),
            ("temperature", json!(0.6)),
            ("top_k", json!(20)),
            ("top_p", json!(0.95)),
            ("transformers_version", json!(p.transformers_version)),
        ]),
        Arch::Qwen2 => object(vec![
            ("bos_token_id", json!(p.bos_token_id)),
            ("do_sample", json!(false)),
            ("eos_token_id", json!(p.eos_token_id)),
            ("max_new_tokens", json!(2048)),
            ("transformers_version", json!("4.37.0")),
        ]),
    }
}

/// Pretty JSON with two-space indent and a trailing newline, like `transformers` writes it.
pub(crate) fn to_pretty(v: &Value) -> Result<String, serde_json::Error> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::preset;

    #[test]
    fn qwen3_0_6b_config_is_exact() {
        let p = preset("qwen3-0.6b").unwrap();
        let text = to_pretty(&config_json(p, WeightDType::BF16)).unwrap();
        let got: Value = serde_json::from_str(&text).unwrap();
        let want = json!({
            "architectures": ["Qwen3ForCausalLM"],
            "attention_bias": false,
            "attention_dropout": 0.0,
            "bos_token_id": 151643,
            "eos_token_id": 151645,
            "head_dim": 128,
            "hidden_act": "silu",
            "hidden_size": 1024,
            "initializer_range": 0.02,
            "intermediate_size": 3072,
            "max_position_embeddings": 40960,
            "max_window_layers": 28,
            "model_type": "qwen3",
            "num_attention_heads": 16,
            "num_hidden_layers": 28,
            "num_key_value_heads": 8,
            "rms_norm_eps": 1e-06,
            "rope_scaling": null,
            "rope_theta": 1000000,
            "sliding_window": null,
            "tie_word_embeddings": true,
            "torch_dtype": "bfloat16",
            "transformers_version": "4.51.0",
            "use_cache": true,
            "use_sliding_window": false,
            "vocab_size": 151936
        });
        assert_eq!(got, want);
        assert!(
            text.contains("\"rope_theta\": 1000000,"),
            "integer rope_theta"
        );
        // Keys come out sorted.
        let keys: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("  \"").and_then(|l| l.split('"').next()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn torch_dtype_follows_weights() {
        let p = preset("qwen3-0.6b").unwrap();
        for (d, name) in [
            (WeightDType::F32, "float32"),
            (WeightDType::F16, "float16"),
            (WeightDType::BF16, "bfloat16"),
        ] {
            assert_eq!(config_json(p, d)["torch_dtype"], json!(name));
        }
    }

    #[test]
    fn big_presets_configs() {
        let c = config_json(preset("qwen3-8b").unwrap(), WeightDType::BF16);
        assert_eq!(c["hidden_size"], json!(4096));
        assert_eq!(c["intermediate_size"], json!(12288));
        assert_eq!(c["num_hidden_layers"], json!(36));
        assert_eq!(c["num_attention_heads"], json!(32));
        assert_eq!(c["num_key_value_heads"], json!(8));
        assert_eq!(c["max_window_layers"], json!(36));
        assert_eq!(c["tie_word_embeddings"], json!(false));

        let c = config_json(preset("qwen3-1.7b").unwrap(), WeightDType::BF16);
        assert_eq!(c["hidden_size"], json!(2048));
        assert_eq!(c["intermediate_size"], json!(6144));
        assert_eq!(c["tie_word_embeddings"], json!(true));

        let c = config_json(preset("qwen2.5-0.5b").unwrap(), WeightDType::BF16);
        assert_eq!(c["architectures"], json!(["Qwen2ForCausalLM"]));
        assert_eq!(c["model_type"], json!("qwen2"));
        assert_eq!(c["hidden_size"], json!(896));
        assert_eq!(c["intermediate_size"], json!(4864));
        assert_eq!(c["num_hidden_layers"], json!(24));
        assert_eq!(c["num_attention_heads"], json!(14));
        assert_eq!(c["num_key_value_heads"], json!(2));
        assert_eq!(c["max_position_embeddings"], json!(32768));
        assert_eq!(c["max_window_layers"], json!(24));
        assert_eq!(c["sliding_window"], json!(32768));
        assert_eq!(c["use_sliding_window"], json!(false));
        assert_eq!(c["rope_theta"], json!(1000000.0));
        assert_eq!(c["bos_token_id"], json!(151643));
        assert_eq!(c["eos_token_id"], json!(151643));
        assert_eq!(c["tie_word_embeddings"], json!(true));
        assert!(c.get("head_dim").is_none());
    }

    #[test]
    fn generation_config_eos() {
        let g = generation_config_json(preset("qwen3-0.6b").unwrap());
        assert_eq!(g["eos_token_id"], json!([151645, 151643]));
        let g = generation_config_json(preset("tiny").unwrap());
        assert_eq!(g["eos_token_id"], json!([2047, 2045]));
        assert_eq!(g["bos_token_id"], json!(2045));
    }
}
