//! FLUX's embeddings: the rotary angles of each token's 3-axis position, the sinusoidal
//! embedding of a timestep (or guidance strength), and the two-layer embedder after it.

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::{Linear, VarBuilder};

/// Cosines and sines of the rotary angles, one row per (token, head) pair and one column per
/// pair of head dimensions: the layout [`candle_nn::rotary_emb::rope_i`] takes when the
/// queries are kept as (batch, tokens, heads, head_dim) and seen as (batch, 1, tokens × heads,
/// head_dim).
#[derive(Debug, Clone)]
pub struct Rotary {
    /// (tokens × heads, head_dim / 2).
    pub cos: Tensor,
    /// (tokens × heads, head_dim / 2).
    pub sin: Tensor,
}

impl Rotary {
    /// The angles for position `ids` (batch, tokens, axes; the same for every batch entry):
    /// axis `a` fills `axes_dim[a] / 2` pairs with `position × theta^(-2i / axes_dim[a])`.
    /// Computed in f32, then converted to `dtype`.
    pub fn new(
        ids: &Tensor,
        axes_dim: &[usize],
        theta: f64,
        heads: usize,
        dtype: DType,
    ) -> Result<Self> {
        let ids = ids.get(0)?.to_dtype(DType::F32)?;
        let tokens = ids.dim(0)?;
        let mut angles = Vec::with_capacity(axes_dim.len());
        for (axis, &dim) in axes_dim.iter().enumerate() {
            let inv_freq: Vec<f32> = (0..dim)
                .step_by(2)
                .map(|i| (1.0 / theta.powf(i as f64 / dim as f64)) as f32)
                .collect();
            let pairs = inv_freq.len();
            let inv_freq = Tensor::from_vec(inv_freq, (1, pairs), ids.device())?;
            let position = ids.narrow(D::Minus1, axis, 1)?;
            angles.push(position.broadcast_mul(&inv_freq)?);
        }
        let angles = Tensor::cat(&angles, D::Minus1)?;
        let pairs = angles.dim(D::Minus1)?;
        let per_head = |t: Tensor| -> Result<Tensor> {
            t.unsqueeze(1)?
                .broadcast_as((tokens, heads, pairs))?
                .reshape((tokens * heads, pairs))?
                .to_dtype(dtype)?
                .contiguous()
        };
        Ok(Self {
            cos: per_head(angles.cos()?)?,
            sin: per_head(angles.sin()?)?,
        })
    }
}

/// The sinusoidal embedding of `t` (batch) scaled by 1000, `dim` wide: cosines then sines of
/// `1000 t × 10000^(-i / (dim / 2))`.
pub fn timestep_embedding(t: &Tensor, dim: usize, dtype: DType) -> Result<Tensor> {
    let half = dim / 2;
    let freqs = (Tensor::arange(0, half as u32, t.device())?.to_dtype(DType::F32)?
        * (-(10_000f64.ln()) / half as f64))?
        .exp()?;
    let args = (t.to_dtype(DType::F32)? * 1000.0)?
        .unsqueeze(1)?
        .broadcast_mul(&freqs.unsqueeze(0)?)?;
    Tensor::cat(&[args.cos()?, args.sin()?], D::Minus1)?.to_dtype(dtype)
}

/// Linear, SiLU, linear: how FLUX embeds timesteps, guidance and the pooled text vector.
#[derive(Debug, Clone)]
pub struct MlpEmbedder {
    input: Linear,
    output: Linear,
}

impl MlpEmbedder {
    /// Load `in_layer` and `out_layer` under `vb`.
    pub fn load(in_dim: usize, hidden: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            input: candle_nn::linear(in_dim, hidden, vb.pp("in_layer"))?,
            output: candle_nn::linear(hidden, hidden, vb.pp("out_layer"))?,
        })
    }
}

impl Module for MlpEmbedder {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        xs.apply(&self.input)?.silu()?.apply(&self.output)
    }
}
