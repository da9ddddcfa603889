//! The work of an LLM case, counted from the model folder its engine loaded: FLOPs of the
//! prefill and bytes read per decoded token (`bench_workloads::cost`).

use std::path::PathBuf;

use bench_workloads::cost::{
    decode_bytes, kv_cache_bytes_per_token, GgufWeights, LlmShape, Masking, PrefillFlops,
    WeightFormat,
};
use serde::Deserialize;

/// The fields of a manifest's engine description (`EngineInfo`) the roofline reads.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct EngineView {
    /// The engine (`candle`, `openai`, `mlx-lm`, `exo`).
    #[serde(default)]
    pub engine: String,
    /// A server's device on this machine, as the target's `server_device` named it (`cpu`,
    /// `metal:0`, `cuda:0`).
    #[serde(default)]
    pub roofline_device: Option<String>,
    /// The device it computes on (`cpu`, `cuda:0`, `metal:0`; servers: in words).
    #[serde(default)]
    pub device: String,
    /// The compute dtype (`bf16`; servers: `as served`).
    #[serde(default)]
    pub dtype: String,
    /// The model it loaded.
    #[serde(default)]
    pub model: Option<ModelView>,
    /// The weights of the GGUF a server serves, where its target named one.
    #[serde(default)]
    pub gguf: Option<GgufWeights>,
}

impl EngineView {
    /// The device the figures are held against: a server's `roofline_device`, else the
    /// engine's own device; none for a server whose device was not named (bench cannot tell
    /// where a server computes).
    pub fn ceiling_device(&self) -> Option<&str> {
        match (&self.roofline_device, self.is_server()) {
            (Some(device), _) => Some(device),
            (None, true) => None,
            (None, false) => Some(&self.device),
        }
    }

    /// Whether the engine is a server bench talks to over HTTP.
    pub fn is_server(&self) -> bool {
        matches!(self.engine.as_str(), "openai" | "mlx-lm" | "exo")
    }
}

/// The model of an [`EngineView`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ModelView {
    /// The folder the model's files came from.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// The model as the suite named it (`synth:qwen3-8b`, a folder, a hub id).
    #[serde(default)]
    pub spec: Option<String>,
}

/// A model's shape and the dtype its weights are read in.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmWork {
    /// The shapes from `config.json`.
    pub shape: LlmShape,
    /// The compute dtype (`f32`, `bf16`, `f16`): the engine's, else the config's `torch_dtype`.
    pub dtype: String,
    /// A GGUF model's weight bytes one decoded token reads, each tensor at its own
    /// quantization; the KV cache is then f16, llama.cpp's default (`cache_type_k` and
    /// `cache_type_v` in its `common/common.h`).
    pub gguf_decode_bytes: Option<u64>,
}

/// Bytes of one KV cache element of a llama.cpp server: its default cache type is f16.
const GGUF_KV_ELEMENT_BYTES: u64 = 2;

impl LlmWork {
    /// The work of the model `engine` loaded; the error says why there is none.
    pub fn of(engine: &EngineView) -> Result<Self, String> {
        let model = engine.model.as_ref().ok_or("the engine names no model")?;
        let dir = model
            .dir
            .as_ref()
            .ok_or("the engine names no model folder")?;
        let shape = match LlmShape::read(dir) {
            Ok(shape) => shape,
            // A synthesized model's folder stays on the machine that ran it; its preset has
            // the same config.json anywhere.
            Err(e) => match model.spec.as_deref().and_then(|s| s.strip_prefix("synth:")) {
                Some(preset) => bench_workloads::synth::preset_config_json(preset)
                    .map_err(|e| e.to_string())
                    .and_then(|text| LlmShape::parse(&text))?,
                None => return Err(e.to_string()),
            },
        };
        let mut work = Self::new(shape, &engine.dtype)?;
        work.gguf_decode_bytes = engine.gguf.as_ref().map(|g| g.decode_bytes);
        Ok(work)
    }

    /// The work of `shape` computed in `engine_dtype` (or, when that is no dtype, such as a
    /// server's `as served`, in the config's `torch_dtype`).
    pub fn new(shape: LlmShape, engine_dtype: &str) -> Result<Self, String> {
        let dtype = canonical_dtype(engine_dtype)
            .or_else(|| shape.torch_dtype.as_deref().and_then(canonical_dtype))
            .ok_or_else(|| format!("unknown compute dtype `{engine_dtype}`"))?;
        Ok(Self {
            shape,
            dtype: dtype.to_string(),
            gguf_decode_bytes: None,
        })
    }

    /// FLOPs of a prefill of `prompt` tokens: the linears and causal attention over every
    /// position, the LM head on the last position only (the engines compute no other logits).
    pub fn prefill_flops(&self, prompt: u64) -> f64 {
        let f = PrefillFlops::new(&self.shape, prompt, Masking::Causal);
        let lm_head_one = if prompt == 0 {
            0
        } else {
            f.lm_head / u128::from(prompt)
        };
        (f.linear + f.attention + lm_head_one) as f64
    }

    /// FLOPs of a prefill of `prompt` tokens whose first `cached` came from the server's
    /// prefix cache: the linears and attention of the new positions only (each attending to
    /// every position up to itself), and the LM head on the last. A prompt cached whole still
    /// computes its last position, whose logits give the first token.
    pub fn prefill_flops_after(&self, prompt: u64, cached: u64) -> f64 {
        let cached = cached.min(prompt.saturating_sub(1));
        if cached == 0 {
            return self.prefill_flops(prompt);
        }
        let lm_head_one = PrefillFlops::new(&self.shape, 1, Masking::Causal).lm_head as f64;
        self.prefill_flops(prompt) - self.prefill_flops(cached) + lm_head_one
    }

    /// FLOPs of decoding one token after `context` positions: what a prefill one position
    /// longer adds (the linears, attention over the context), plus the LM head.
    pub fn decode_flops(&self, context: u64) -> f64 {
        let lm_head = PrefillFlops::new(&self.shape, 1, Masking::Causal).lm_head as f64;
        self.prefill_flops(context + 1) - self.prefill_flops(context) + lm_head
    }

    /// Bytes read to decode one token attending to `context` positions (fractional: a mean
    /// over the decode): every active weight once in the compute dtype, and K and V of each
    /// position in the same dtype.
    pub fn decode_bytes(&self, context: f64) -> f64 {
        self.weight_bytes() + self.kv_bytes_per_position() * context
    }

    /// Bytes of every active weight read once (one decode step, of one sequence or a batch):
    /// at the compute dtype, or a GGUF's tensors at their own types.
    pub fn weight_bytes(&self) -> f64 {
        match self.gguf_decode_bytes {
            Some(bytes) => bytes as f64,
            None => decode_bytes(&self.shape, self.format(), 0, 0).weights as f64,
        }
    }

    /// Bytes of K and V one attended position adds to a decoded token's reads.
    pub fn kv_bytes_per_position(&self) -> f64 {
        let element = match self.gguf_decode_bytes {
            Some(_) => GGUF_KV_ELEMENT_BYTES,
            None => self.format().bytes(1),
        };
        kv_cache_bytes_per_token(&self.shape, element) as f64
    }

    fn format(&self) -> WeightFormat {
        WeightFormat::from_name(&self.dtype).unwrap_or(WeightFormat::F32)
    }
}

/// The mean context a decoded token attends to over a decode of `gen` tokens after a
/// `prompt`-token prompt: output token j (2..=gen) attends to prompt + j − 1 positions, whose
/// mean is prompt + gen / 2.
pub fn mean_decode_context(prompt: u64, gen: u64) -> f64 {
    prompt as f64 + gen as f64 / 2.0
}

/// A dtype name as calibration stores it (`f32`, `bf16`, `f16`), from an engine's dtype or a
/// `torch_dtype`; none for quantized or unknown formats.
pub fn canonical_dtype(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "f32" | "float32" => Some("f32"),
        "bf16" | "bfloat16" => Some("bf16"),
        "f16" | "float16" => Some("f16"),
        _ => None,
    }
}
