//! Qwen2 and Qwen3 decoder-only transformers, written for measurement: weights stay in the
//! file's (or the requested) dtype, activations run in f32 on the CPU, and the linear layers
//! take a streaming matrix-vector path when decoding (see [`super::linear`]).
//!
//! The two architectures differ only in Qwen2's q/k/v biases and Qwen3's per-head RMS norm
//! of queries and keys.

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::attention::{flash_attn, AttnMask};
use candle_nn::kv_cache::KvCache;
use candle_nn::VarBuilder;
use candle_transformers::models::{qwen2, qwen3};

use super::causal_softmax::{self, CausalSoftmax};
use super::linear::Linear;
use crate::kernels::flash_attention::{self, FlashAttention};
use crate::model::ArchConfig;

/// The hyper-parameters both architectures share.
#[derive(Debug, Clone)]
pub struct Shape {
    vocab: usize,
    hidden: usize,
    intermediate: usize,
    layers: usize,
    heads: usize,
    kv_heads: usize,
    /// Width of one attention head.
    pub head_dim: usize,
    rope_theta: f64,
    eps: f64,
    tied: bool,
    qkv_bias: bool,
    qk_norm: bool,
    max_positions: usize,
}

impl Shape {
    /// Bytes a request of `prompt` + `generated` tokens needs beyond the weights, with
    /// activations of `act_bytes` each: the KV cache of every layer, plus the attention scores
    /// of the prefill (heads × prompt × prompt, one layer at a time; twice, since the softmax
    /// writes a second copy) and the logits.
    pub fn request_bytes(&self, prompt: usize, generated: usize, act_bytes: usize) -> u64 {
        let positions = (prompt + generated) as u64;
        let kv = 2 * self.layers as u64 * self.kv_heads as u64 * self.head_dim as u64 * positions;
        let scores = 2 * self.heads as u64 * (prompt as u64).pow(2);
        let activations = 4 * prompt as u64 * self.intermediate.max(self.hidden) as u64;
        (kv + scores + activations) * act_bytes as u64 + 4 * self.vocab as u64
    }

    /// The shape of a parsed config.json.
    pub fn of(config: &ArchConfig) -> Self {
        match config {
            ArchConfig::Qwen2(c) => Self::qwen2(c),
            ArchConfig::Qwen3(c) => Self::qwen3(c),
        }
    }

    fn qwen2(c: &qwen2::Config) -> Self {
        Self {
            vocab: c.vocab_size,
            hidden: c.hidden_size,
            intermediate: c.intermediate_size,
            layers: c.num_hidden_layers,
            heads: c.num_attention_heads,
            kv_heads: c.num_key_value_heads,
            head_dim: c.hidden_size / c.num_attention_heads.max(1),
            rope_theta: c.rope_theta,
            eps: c.rms_norm_eps,
            tied: c.tie_word_embeddings,
            qkv_bias: true,
            qk_norm: false,
            max_positions: c.max_position_embeddings,
        }
    }

    fn qwen3(c: &qwen3::Config) -> Self {
        Self {
            vocab: c.vocab_size,
            hidden: c.hidden_size,
            intermediate: c.intermediate_size,
            layers: c.num_hidden_layers,
            heads: c.num_attention_heads,
            kv_heads: c.num_key_value_heads,
            head_dim: c.head_dim,
            rope_theta: c.rope_theta,
            eps: c.rms_norm_eps,
            tied: c.tie_word_embeddings,
            qkv_bias: c.attention_bias,
            qk_norm: true,
            max_positions: c.max_position_embeddings,
        }
    }
}

struct RmsNorm {
    weight: Tensor,
    eps: f32,
}

impl RmsNorm {
    fn load(vb: &VarBuilder, dim: usize, eps: f64, act: DType) -> Result<Self> {
        Ok(Self {
            weight: vb.get(dim, "weight")?.to_dtype(act)?,
            eps: eps as f32,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        candle_nn::ops::rms_norm(&x.contiguous()?, &self.weight, self.eps)
    }
}

struct Rotary {
    cos: Tensor,
    sin: Tensor,
}

impl Rotary {
    fn new(shape: &Shape, act: DType, device: &Device) -> Result<Self> {
        let half = shape.head_dim / 2;
        let inv_freq: Vec<f32> = (0..half)
            .map(|i| {
                1.0 / shape
                    .rope_theta
                    .powf(2.0 * i as f64 / shape.head_dim as f64) as f32
            })
            .collect();
        let inv_freq = Tensor::from_vec(inv_freq, (1, half), device)?;
        let positions = Tensor::arange(0u32, shape.max_positions as u32, device)?
            .to_dtype(DType::F32)?
            .reshape((shape.max_positions, 1))?;
        let freqs = positions.matmul(&inv_freq)?;
        Ok(Self {
            cos: freqs.cos()?.to_dtype(act)?,
            sin: freqs.sin()?.to_dtype(act)?,
        })
    }

    /// Rotate `x` of shape (batch, seq, heads, head_dim) starting at position `offset`.
    fn apply(&self, x: &Tensor, offset: usize) -> Result<Tensor> {
        let seq = x.dim(1)?;
        let cos = self.cos.narrow(0, offset, seq)?;
        let sin = self.sin.narrow(0, offset, seq)?;
        candle_nn::rotary_emb::rope_thd(&x.contiguous()?, &cos, &sin)
    }
}

/// How attention computes, the same for every layer of a model: chosen from the device and
/// dtype at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct AttentionPath {
    /// Decode with candle's fused CPU kernel (f32 on the CPU); else the matrix-multiply path.
    fused_cpu_decode: bool,
    /// The cache holds (batch, kv_heads, seq, head_dim) instead of (batch, seq, kv_heads,
    /// head_dim) (GPUs): the matrix multiplies read it in place, where the other layout needs
    /// a copy of the whole cache per layer and token.
    heads_major_cache: bool,
    /// Mask and softmax in one kernel ([`CausalSoftmax`]) instead of a mask tensor added to
    /// the scores and candle's softmax.
    fused_softmax: bool,
    /// Prefill attention without the scores in memory ([`FlashAttention`]), with the kernel
    /// that passed its check at load; `None`: scores, softmax, values.
    flash: Option<flash_attention::Kernel>,
}

impl AttentionPath {
    fn of(device: &Device, act: DType) -> Self {
        Self {
            fused_cpu_decode: device.is_cpu() && act == DType::F32,
            heads_major_cache: !device.is_cpu(),
            fused_softmax: device.is_cuda() && causal_softmax::fused_on_gpu(act),
            flash: None,
        }
    }

    /// The cache's sequence dimension.
    fn seq_dim(self) -> usize {
        if self.heads_major_cache {
            2
        } else {
            1
        }
    }
}

struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    q_norm: Option<RmsNorm>,
    k_norm: Option<RmsNorm>,
    heads: usize,
    kv_heads: usize,
    head_dim: usize,
    /// Keys and values in the layout [`AttentionPath`] says, preallocated per request so a
    /// decode step writes one row instead of copying the whole cache.
    cache: KvCache,
}

impl Attention {
    fn load(vb: &VarBuilder, s: &Shape, act: DType) -> Result<Self> {
        let (q_dim, kv_dim) = (s.heads * s.head_dim, s.kv_heads * s.head_dim);
        let norm = |name: &str| -> Result<Option<RmsNorm>> {
            s.qk_norm
                .then(|| RmsNorm::load(&vb.pp(name), s.head_dim, s.eps, act))
                .transpose()
        };
        Ok(Self {
            q: Linear::load(&vb.pp("q_proj"), s.hidden, q_dim, s.qkv_bias, act)?,
            k: Linear::load(&vb.pp("k_proj"), s.hidden, kv_dim, s.qkv_bias, act)?,
            v: Linear::load(&vb.pp("v_proj"), s.hidden, kv_dim, s.qkv_bias, act)?,
            o: Linear::load(&vb.pp("o_proj"), q_dim, s.hidden, false, act)?,
            q_norm: norm("q_norm")?,
            k_norm: norm("k_norm")?,
            heads: s.heads,
            kv_heads: s.kv_heads,
            head_dim: s.head_dim,
            cache: KvCache::new(1, 1),
        })
    }

    fn forward(
        &mut self,
        x: &Tensor,
        rotary: &Rotary,
        offset: usize,
        path: AttentionPath,
        mask: Option<&Tensor>,
    ) -> Result<Tensor> {
        let (b, l, _) = x.dims3()?;
        // Everything stays (batch, seq, heads, dim): the layout the projections produce and
        // the CPU attention kernel reads, so no per-step transpose of the cache is needed.
        let heads = |t: Tensor, n: usize, norm: &Option<RmsNorm>| -> Result<Tensor> {
            let t = t.reshape((b, l, n, self.head_dim))?;
            match norm {
                Some(norm) => norm.forward(&t),
                None => Ok(t),
            }
        };
        let q = heads(self.q.forward(x)?, self.heads, &self.q_norm)?;
        let k = heads(self.k.forward(x)?, self.kv_heads, &self.k_norm)?;
        let v = heads(self.v.forward(x)?, self.kv_heads, &None)?;
        let q = rotary.apply(&q, offset)?;
        let k = rotary.apply(&k, offset)?;
        let (k, v) = if path.heads_major_cache {
            let t = |t: &Tensor| t.transpose(1, 2)?.contiguous();
            self.cache.append(&t(&k)?, &t(&v)?)?
        } else {
            self.cache.append(&k.contiguous()?, &v.contiguous()?)?
        };
        let scale = 1.0 / (self.head_dim as f32).sqrt();
        if let (Some(kernel), true) = (path.flash, l > 1) {
            // Prefill: keys and values as (batch, kv_heads, seq, head_dim), the heads-major
            // cache read in place; the result comes back as (batch, seq, heads, head_dim).
            let op = FlashAttention {
                scale,
                causal: Some(offset),
                kernel,
            };
            let ctx = op.apply(&q.transpose(1, 2)?, &k, &v)?;
            return self
                .o
                .forward(&ctx.reshape((b, l, self.heads * self.head_dim))?);
        }
        let ctx = if l == 1 && path.fused_cpu_decode {
            // Decoding: candle's fused CPU kernel takes (batch, seq, heads, dim), handles
            // grouped heads, and returns (batch, heads, seq, dim). For prefill the plain
            // matrix-multiply attention below is faster on the CPU (measured on 2 cores: a
            // 2048-token prefill of Qwen3-0.6B shapes took 80 s with the kernel, 59 s without).
            flash_attn::<f32>(
                &q,
                &k.contiguous()?,
                &v.contiguous()?,
                scale,
                AttnMask::causal_with_offset(offset),
                None,
                None,
            )?
        } else {
            // Keys and values as (batch, kv_heads, seq, head_dim): the heads-major cache is
            // read in place (its rows are contiguous, its heads a fixed stride apart, which
            // cuBLAS takes as a strided batch); the other layout is copied into it.
            let (k, v) = if path.heads_major_cache {
                (k, v)
            } else {
                let t = |t: &Tensor| t.transpose(1, 2)?.contiguous();
                (t(&k)?, t(&v)?)
            };
            let q = q.transpose(1, 2)?;
            let causal = path
                .fused_softmax
                .then_some(CausalSoftmax { queries: l, offset });
            attention_by_matmul(&q, &k, &v, scale, causal, mask)?
        };
        let ctx = ctx
            .transpose(1, 2)?
            .reshape((b, l, self.heads * self.head_dim))?;
        self.o.forward(&ctx)
    }
}

/// Plain attention for GPUs: scores, causal mask, softmax, weighted values; `k` and `v` as
/// (batch, kv_heads, seq, head_dim). The mask is `causal` (one fused kernel) where given,
/// else the additive `mask`.
///
/// Grouped heads are never repeated: query head `h` reads key/value head `h / groups`, so the
/// queries of one key/value head are stacked into one (groups × seq) matrix and multiplied
/// against that head's keys once. Repeating K and V instead copies the whole cache `groups`
/// times per layer and token (at 2,048 tokens of Qwen3-8B, 1.2 GB per decoded token). The
/// scale is applied to `q` (seq × dim) rather than to the scores (seq × seq): one pass less
/// over the largest tensor.
fn attention_by_matmul(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f32,
    causal: Option<CausalSoftmax>,
    mask: Option<&Tensor>,
) -> Result<Tensor> {
    let (b, heads, l, d) = q.dims4()?;
    let kv_heads = k.dim(1)?;
    let groups = heads / kv_heads.max(1);
    let q = (q * f64::from(scale))?
        .contiguous()?
        .reshape((b, kv_heads, groups * l, d))?;
    let scores = q.matmul(&k.t()?)?;
    let probabilities = match (causal, mask) {
        (Some(causal), _) => causal.apply(&scores)?,
        (None, Some(mask)) => {
            let total = scores.dim(3)?;
            let masked = scores
                .reshape((b, kv_heads, groups, l, total))?
                .broadcast_add(mask)?
                .reshape((b, kv_heads, groups * l, total))?;
            candle_nn::ops::softmax_last_dim(&masked)?
        }
        (None, None) => candle_nn::ops::softmax_last_dim(&scores)?,
    };
    probabilities.matmul(v)?.reshape((b, heads, l, d))
}

/// The additive causal mask of `queries` new positions after `offset` cached ones: 0 where
/// a query may attend, -inf where the key lies in its future; shape (queries, offset +
/// queries). Built on the device once per forward pass (not per layer, and not on the host:
/// at 8,192 tokens an f32 mask is 256 MiB). `None` for a single query, which sees everything.
fn causal_mask(
    queries: usize,
    offset: usize,
    dtype: DType,
    device: &Device,
) -> Result<Option<Tensor>> {
    if queries <= 1 {
        return Ok(None);
    }
    let total = offset + queries;
    let query_positions =
        Tensor::arange(offset as u32, total as u32, device)?.reshape((queries, 1))?;
    let key_positions = Tensor::arange(0u32, total as u32, device)?.reshape((1, total))?;
    let future = key_positions.broadcast_gt(&query_positions)?;
    let blocked = Tensor::full(f32::NEG_INFINITY, (queries, total), device)?.to_dtype(dtype)?;
    let open = Tensor::zeros((queries, total), dtype, device)?;
    Ok(Some(future.where_cond(&blocked, &open)?))
}

struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

impl Mlp {
    fn load(vb: &VarBuilder, s: &Shape, act: DType) -> Result<Self> {
        Ok(Self {
            gate: Linear::load(&vb.pp("gate_proj"), s.hidden, s.intermediate, false, act)?,
            up: Linear::load(&vb.pp("up_proj"), s.hidden, s.intermediate, false, act)?,
            down: Linear::load(&vb.pp("down_proj"), s.intermediate, s.hidden, false, act)?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let gate = candle_nn::ops::silu(&self.gate.forward(x)?)?;
        self.down.forward(&(gate * self.up.forward(x)?)?)
    }
}

struct Layer {
    input_norm: RmsNorm,
    attention: Attention,
    post_norm: RmsNorm,
    mlp: Mlp,
}

/// A Qwen2 or Qwen3 causal language model.
pub struct Qwen {
    embed: Tensor,
    layers: Vec<Layer>,
    norm: RmsNorm,
    lm_head: Linear,
    rotary: Rotary,
    act: DType,
    path: AttentionPath,
}

impl Qwen {
    /// Load from `vb` (weights converted to its dtype) with activations in `act`.
    pub fn load(shape: &Shape, vb: VarBuilder, act: DType) -> Result<Self> {
        let embed = vb
            .pp("model.embed_tokens")
            .get((shape.vocab, shape.hidden), "weight")?;
        let mut layers = Vec::with_capacity(shape.layers);
        for i in 0..shape.layers {
            let vb = vb.pp(format!("model.layers.{i}"));
            layers.push(Layer {
                input_norm: RmsNorm::load(&vb.pp("input_layernorm"), shape.hidden, shape.eps, act)?,
                attention: Attention::load(&vb.pp("self_attn"), shape, act)?,
                post_norm: RmsNorm::load(
                    &vb.pp("post_attention_layernorm"),
                    shape.hidden,
                    shape.eps,
                    act,
                )?,
                mlp: Mlp::load(&vb.pp("mlp"), shape, act)?,
            });
        }
        let lm_head = if shape.tied {
            Linear::from_weight(embed.clone())
        } else {
            Linear::load(&vb.pp("lm_head"), shape.hidden, shape.vocab, false, act)?
        };
        Ok(Self {
            norm: RmsNorm::load(&vb.pp("model.norm"), shape.hidden, shape.eps, act)?,
            rotary: Rotary::new(shape, act, vb.device())?,
            path: AttentionPath::of(vb.device(), act),
            embed,
            layers,
            lm_head,
            act,
        })
    }

    /// Run `ids` (batch, seq) at positions `offset..`, appending to the KV cache; returns the
    /// logits of the last position, (batch, 1, vocab).
    pub fn forward(&mut self, ids: &Tensor, offset: usize) -> Result<Tensor> {
        let (b, l) = ids.dims2()?;
        let mut h = self
            .embed
            .index_select(&ids.flatten_all()?, 0)?
            .to_dtype(self.act)?
            .reshape((b, l, ()))?;
        let mask = if self.path.fused_softmax {
            None
        } else {
            causal_mask(l, offset, self.act, ids.device())?
        };
        for layer in &mut self.layers {
            let a = layer.attention.forward(
                &layer.input_norm.forward(&h)?,
                &self.rotary,
                offset,
                self.path,
                mask.as_ref(),
            )?;
            h = (h + a)?;
            let m = layer.mlp.forward(&layer.post_norm.forward(&h)?)?;
            h = (h + m)?;
        }
        let last = h.narrow(1, l - 1, 1)?;
        self.lm_head
            .forward(&self.norm.forward(&last)?)?
            .to_dtype(DType::F32)
    }

    /// Forget every cached key and value, and make room for `positions` new ones.
    pub fn reset_kv_cache(&mut self, positions: usize) {
        for layer in &mut self.layers {
            layer.attention.cache = KvCache::new(self.path.seq_dim(), positions.max(1));
        }
    }

    /// Use the fused causal softmax (`true`) or a mask and candle's softmax.
    pub fn set_fused_softmax(&mut self, fused: bool) {
        self.path.fused_softmax = fused;
    }

    /// Use flash attention for prefills (on a GPU with a heads-major cache), with `kernel`.
    pub fn set_flash_attention(&mut self, kernel: Option<flash_attention::Kernel>) {
        self.path.flash = kernel.filter(|_| self.path.heads_major_cache);
    }

    /// How prefills compute attention, in words (for the run manifest).
    pub fn prefill_attention(&self) -> String {
        match (self.path.flash, self.path.fused_softmax) {
            (Some(kernel), _) => format!("flash attention, kernel {}", kernel.name()),
            (None, true) => "scores in memory, fused causal softmax".into(),
            (None, false) => "scores in memory, causal mask then softmax".into(),
        }
    }

    /// Whether the fused causal softmax is in use.
    pub fn fused_softmax(&self) -> bool {
        self.path.fused_softmax
    }
}

/// The activation dtype for a weight dtype on a device: f32 on the CPU (its kernels widen
/// half types anyway), the weight dtype on GPUs.
pub fn activation_dtype(weights: DType, device: &Device) -> DType {
    if device.is_cpu() {
        DType::F32
    } else {
        weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{self, Arch, SynthOptions, WeightDType};
    use candle_core::IndexOp;

    fn folder(arch: Arch) -> tempfile::TempDir {
        let mut preset = synth::preset("tiny").unwrap().clone();
        preset.arch = arch;
        let dir = tempfile::tempdir().unwrap();
        let opts = SynthOptions {
            dtype: WeightDType::F32,
            seed: 3,
        };
        synth::synthesize(&preset, &opts, dir.path()).unwrap();
        dir
    }

    fn var_builder(dir: &std::path::Path, dtype: DType) -> VarBuilder<'static> {
        let files = vec![dir.join("model.safetensors")];
        // SAFETY: the test's own temporary file, not modified while mapped.
        unsafe { VarBuilder::from_mmaped_safetensors(&files, dtype, &Device::Cpu).unwrap() }
    }

    fn max_abs(t: &Tensor) -> f32 {
        let max = t.abs().and_then(|a| a.flatten_all()).and_then(|a| a.max(0));
        max.and_then(|m| m.to_scalar::<f32>()).unwrap()
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        max_abs(&(a - b).unwrap())
    }

    /// Our model over the folder's weights read as `weights`, cache sized for the test.
    fn load_ours(dir: &std::path::Path, config: &ArchConfig, weights: DType) -> Qwen {
        let mut model =
            Qwen::load(&Shape::of(config), var_builder(dir, weights), DType::F32).unwrap();
        model.reset_kv_cache(8);
        model
    }

    /// The model agrees with candle-transformers' reference implementation, in prefill and
    /// in decode steps (which take the matrix-vector path and the KV cache).
    #[test]
    fn matches_the_reference_implementation_in_prefill_and_decode() {
        for arch in [Arch::Qwen2, Arch::Qwen3] {
            let dir = folder(arch);
            let config = ArchConfig::read(dir.path()).unwrap();
            let ids: Vec<u32> = vec![5, 17, 300, 2, 1999, 44, 8];
            let all = Tensor::new(ids.as_slice(), &Device::Cpu)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let reference = match &config {
                ArchConfig::Qwen2(c) => {
                    let mut m =
                        qwen2::ModelForCausalLM::new(c, var_builder(dir.path(), DType::F32))
                            .unwrap();
                    m.forward(&all, 0).unwrap()
                }
                ArchConfig::Qwen3(c) => {
                    let mut m =
                        qwen3::ModelForCausalLM::new(c, var_builder(dir.path(), DType::F32))
                            .unwrap();
                    m.forward(&all, 0).unwrap()
                }
            };
            let scale = max_abs(&reference);
            assert!(
                scale > 1e-3,
                "{arch:?}: logits too small to compare: {scale}"
            );
            let mut ours = load_ours(dir.path(), &config, DType::F32);
            let prefill = ours.forward(&all, 0).unwrap();
            assert!(
                max_diff(&prefill, &reference) < 1e-4 * scale,
                "{arch:?} prefill"
            );

            ours.reset_kv_cache(8);
            let head = all.i((.., ..6)).unwrap();
            ours.forward(&head, 0).unwrap();
            let step = ours.forward(&all.i((.., 6..)).unwrap(), 6).unwrap();
            assert!(
                max_diff(&step, &reference) < 1e-4 * scale,
                "{arch:?} decode step"
            );

            // The GPUs' matrix-multiply attention (grouped heads unrepeated, causal mask after
            // cached positions) agrees too, in decode and in a prefill that extends a cache.
            // With the GPUs' heads-major cache and fused causal softmax as well.
            for gpu_layout in [false, true] {
                let mut plain = load_ours(dir.path(), &config, DType::F32);
                plain.path = AttentionPath {
                    fused_cpu_decode: false,
                    heads_major_cache: gpu_layout,
                    fused_softmax: gpu_layout,
                    flash: None,
                };
                plain.reset_kv_cache(8);
                plain.forward(&all.i((.., ..3)).unwrap(), 0).unwrap();
                plain.forward(&all.i((.., 3..6)).unwrap(), 3).unwrap();
                let step = plain.forward(&all.i((.., 6..)).unwrap(), 6).unwrap();
                assert!(
                    max_diff(&step, &reference) < 1e-4 * scale,
                    "{arch:?} matrix-multiply attention, GPU layout {gpu_layout}"
                );
            }

            // Flash attention in the prefills (the CPU reference of the GPU kernels), matrix
            // multiplies in the decode step.
            let mut flash = load_ours(dir.path(), &config, DType::F32);
            flash.path = AttentionPath {
                fused_cpu_decode: false,
                heads_major_cache: true,
                fused_softmax: true,
                flash: Some(flash_attention::Kernel::Pipelined),
            };
            flash.reset_kv_cache(8);
            flash.forward(&all.i((.., ..3)).unwrap(), 0).unwrap();
            flash.forward(&all.i((.., 3..6)).unwrap(), 3).unwrap();
            let step = flash.forward(&all.i((.., 6..)).unwrap(), 6).unwrap();
            assert!(
                max_diff(&step, &reference) < 1e-4 * scale,
                "{arch:?} flash attention"
            );
            let mut flash_prefill = load_ours(dir.path(), &config, DType::F32);
            flash_prefill.path = flash.path;
            let prefill = flash_prefill.forward(&all, 0).unwrap();
            assert!(
                max_diff(&prefill, &reference) < 1e-4 * scale,
                "{arch:?} flash-attention prefill"
            );

            // bf16 weights with f32 activations stay close to the f32 reference.
            let mut half = load_ours(dir.path(), &config, DType::BF16);
            let logits = half.forward(&all, 0).unwrap();
            assert!(
                max_diff(&logits, &reference) < 0.05 * scale,
                "{arch:?} bf16"
            );
        }
    }
}
