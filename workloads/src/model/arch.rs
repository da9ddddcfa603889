//! Reading `config.json` into the architecture candle runs, filling the defaults that
//! `transformers` fills when a key is absent.

use std::path::Path;

use candle_transformers::models::{qwen2, qwen3};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::Error;

/// The architectures the candle engines run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// `Qwen2ForCausalLM` (Qwen2, Qwen2.5).
    Qwen2,
    /// `Qwen3ForCausalLM`.
    Qwen3,
    /// FLUX.1 (`FluxPipeline`): transformer, autoencoder, T5 and CLIP.
    Flux,
}

/// A parsed `config.json`.
#[derive(Debug, Clone)]
pub enum ArchConfig {
    /// Qwen2 hyper-parameters.
    Qwen2(qwen2::Config),
    /// Qwen3 hyper-parameters.
    Qwen3(qwen3::Config),
}

impl ArchConfig {
    /// Read `dir/config.json`.
    pub fn read(dir: &Path) -> Result<Self, Error> {
        let path = dir.join("config.json");
        let bad = |reason: String| Error::ModelFile {
            path: path.clone(),
            reason,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| bad(format!("cannot read: {e}")))?;
        let value: Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let Value::Object(mut map) = value else {
            return Err(bad("expected a JSON object".into()));
        };
        let model_type = map
            .get("model_type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match model_type.as_str() {
            "qwen3" => {
                fill_common(&mut map);
                let cfg = serde_json::from_value(Value::Object(map))
                    .map_err(|e| bad(format!("not a valid Qwen3 config: {e}")))?;
                Ok(Self::Qwen3(cfg))
            }
            "qwen2" => {
                fill_common(&mut map);
                let max_pos = map.get("max_position_embeddings").cloned().unwrap_or(json!(32768));
                if map.get("sliding_window").is_none_or(Value::is_null) {
                    map.insert("sliding_window".into(), max_pos);
                }
                let cfg = serde_json::from_value(Value::Object(map))
                    .map_err(|e| bad(format!("not a valid Qwen2 config: {e}")))?;
                Ok(Self::Qwen2(cfg))
            }
            other => Err(bad(format!(
                "model_type `{other}` is not supported by the candle LLM engine; supported: \"qwen2\", \"qwen3\""
            ))),
        }
    }

    /// Which architecture.
    pub fn architecture(&self) -> Architecture {
        match self {
            Self::Qwen2(_) => Architecture::Qwen2,
            Self::Qwen3(_) => Architecture::Qwen3,
        }
    }

    /// Longest sequence (prompt + generated) the model accepts.
    pub fn max_positions(&self) -> usize {
        match self {
            Self::Qwen2(c) => c.max_position_embeddings,
            Self::Qwen3(c) => c.max_position_embeddings,
        }
    }

    /// Size of the output vocabulary.
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Qwen2(c) => c.vocab_size,
            Self::Qwen3(c) => c.vocab_size,
        }
    }
}

/// Defaults `transformers` applies to keys a config may leave out.
fn fill_common(map: &mut Map<String, Value>) {
    let layers = map.get("num_hidden_layers").cloned().unwrap_or(Value::Null);
    let defaults = [
        ("hidden_act", json!("silu")),
        ("attention_bias", json!(false)),
        ("tie_word_embeddings", json!(false)),
        ("use_sliding_window", json!(false)),
        ("rope_theta", json!(10000.0)),
        ("rms_norm_eps", json!(1e-6)),
        ("max_window_layers", layers),
    ];
    for (key, value) in defaults {
        if map.get(key).is_none_or(Value::is_null) {
            map.insert(key.into(), value);
        }
    }
    if map.get("head_dim").is_none_or(Value::is_null) {
        let hidden = map.get("hidden_size").and_then(Value::as_u64);
        let heads = map.get("num_attention_heads").and_then(Value::as_u64);
        if let (Some(h), Some(n)) = (hidden, heads.filter(|n| *n > 0)) {
            map.insert("head_dim".into(), json!(h / n));
        }
    }
}
