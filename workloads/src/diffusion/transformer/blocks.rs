//! FLUX's transformer blocks: the double-stream blocks (text and image apart, one joint
//! attention), the single-stream blocks (one stream, attention and MLP side by side) and the
//! last layer, each modulated by the conditioning vector.

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::{Linear, VarBuilder};

use super::attention::{attend, join, AttentionPath, FusedHeads, SelfAttention};
use super::embed::Rotary;

/// Layer normalization without a learned scale or bias (FLUX's), as one fused kernel.
#[derive(Debug, Clone)]
pub struct PlainNorm {
    ones: Tensor,
    zeros: Tensor,
}

impl PlainNorm {
    /// A norm over `dim` features.
    pub fn new(dim: usize, dtype: DType, device: &Device) -> Result<Self> {
        Ok(Self {
            ones: Tensor::ones(dim, dtype, device)?,
            zeros: Tensor::zeros(dim, dtype, device)?,
        })
    }
}

impl Module for PlainNorm {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        candle_nn::ops::layer_norm(&xs.contiguous()?, &self.ones, &self.zeros, 1e-6)
    }
}

/// Shift, scale and gate from the conditioning vector, each (batch, 1, dim).
struct Modulation {
    shift: Tensor,
    scale: Tensor,
    gate: Tensor,
}

impl Modulation {
    /// `xs × (1 + scale) + shift`.
    fn scale_shift(&self, xs: &Tensor) -> Result<Tensor> {
        xs.broadcast_mul(&(&self.scale + 1.0)?)?
            .broadcast_add(&self.shift)
    }

    /// `gate × xs`.
    fn gate(&self, xs: &Tensor) -> Result<Tensor> {
        xs.broadcast_mul(&self.gate)
    }
}

/// SiLU then a linear layer to `count` modulations.
#[derive(Debug, Clone)]
struct Modulations {
    lin: Linear,
    count: usize,
}

impl Modulations {
    fn load(dim: usize, count: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            lin: candle_nn::linear(dim, 3 * count * dim, vb.pp("lin"))?,
            count,
        })
    }

    fn forward(&self, vec: &Tensor) -> Result<Vec<Modulation>> {
        let parts = vec
            .silu()?
            .apply(&self.lin)?
            .unsqueeze(1)?
            .chunk(3 * self.count, D::Minus1)?;
        Ok(parts
            .chunks_exact(3)
            .map(|p| Modulation {
                shift: p[0].clone(),
                scale: p[1].clone(),
                gate: p[2].clone(),
            })
            .collect())
    }
}

/// Linear, GELU (tanh approximation), linear.
#[derive(Debug, Clone)]
struct Mlp {
    lin1: Linear,
    lin2: Linear,
}

impl Mlp {
    fn load(dim: usize, hidden: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            lin1: candle_nn::linear(dim, hidden, vb.pp("0"))?,
            lin2: candle_nn::linear(hidden, dim, vb.pp("2"))?,
        })
    }
}

impl Module for Mlp {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        xs.apply(&self.lin1)?.gelu()?.apply(&self.lin2)
    }
}

/// One stream's half of a double block.
#[derive(Debug, Clone)]
struct Stream {
    modulation: Modulations,
    attention: SelfAttention,
    mlp: Mlp,
}

impl Stream {
    fn load(
        dim: usize,
        mlp: usize,
        heads: usize,
        qkv_bias: bool,
        name: &str,
        vb: &VarBuilder,
    ) -> Result<Self> {
        Ok(Self {
            modulation: Modulations::load(dim, 2, vb.pp(format!("{name}_mod")))?,
            attention: SelfAttention::load(dim, heads, qkv_bias, vb.pp(format!("{name}_attn")))?,
            mlp: Mlp::load(dim, mlp, vb.pp(format!("{name}_mlp")))?,
        })
    }

    /// The residual updates after attention: `xs + gate₁ proj(attn)`, then the MLP's.
    fn finish(
        &self,
        xs: &Tensor,
        attn: &Tensor,
        m: &[Modulation],
        norm: &PlainNorm,
    ) -> Result<Tensor> {
        let xs = (xs + m[0].gate(&attn.apply(&self.attention.proj)?)?)?;
        let mlp = m[1].scale_shift(&xs.apply(norm)?)?.apply(&self.mlp)?;
        xs + m[1].gate(&mlp)?
    }
}

/// Text and image tokens, each with its own weights, attending jointly.
#[derive(Debug, Clone)]
pub struct DoubleBlock {
    img: Stream,
    txt: Stream,
    norm: PlainNorm,
}

impl DoubleBlock {
    /// Load block `vb` (`img_mod`, `img_attn`, `img_mlp`, and the same for `txt`).
    pub fn load(
        dim: usize,
        mlp: usize,
        heads: usize,
        qkv_bias: bool,
        vb: VarBuilder,
    ) -> Result<Self> {
        Ok(Self {
            img: Stream::load(dim, mlp, heads, qkv_bias, "img", &vb)?,
            txt: Stream::load(dim, mlp, heads, qkv_bias, "txt", &vb)?,
            norm: PlainNorm::new(dim, vb.dtype(), vb.device())?,
        })
    }

    /// The updated (image, text) tokens.
    pub fn forward(
        &self,
        img: &Tensor,
        txt: &Tensor,
        vec: &Tensor,
        rotary: &Rotary,
        path: AttentionPath,
    ) -> Result<(Tensor, Tensor)> {
        let img_m = self.img.modulation.forward(vec)?;
        let txt_m = self.txt.modulation.forward(vec)?;
        let img_heads = self
            .img
            .attention
            .heads(&img_m[0].scale_shift(&img.apply(&self.norm)?)?)?;
        let txt_heads = self
            .txt
            .attention
            .heads(&txt_m[0].scale_shift(&txt.apply(&self.norm)?)?)?;
        let attn = attend(&join(&txt_heads, &img_heads)?, rotary, path)?;
        let text_tokens = txt.dim(1)?;
        let txt_attn = attn.narrow(1, 0, text_tokens)?;
        let img_attn = attn.narrow(1, text_tokens, attn.dim(1)? - text_tokens)?;
        Ok((
            self.img.finish(img, &img_attn, &img_m, &self.norm)?,
            self.txt.finish(txt, &txt_attn, &txt_m, &self.norm)?,
        ))
    }
}

/// One stream of text and image tokens: one projection to queries, keys, values and the
/// MLP's input, one projection back from attention and MLP together.
#[derive(Debug, Clone)]
pub struct SingleBlock {
    linear1: Linear,
    linear2: Linear,
    heads: FusedHeads,
    modulation: Modulations,
    norm: PlainNorm,
    dim: usize,
    mlp: usize,
}

impl SingleBlock {
    /// Load block `vb` (`linear1`, `linear2`, `norm`, `modulation`).
    pub fn load(dim: usize, mlp: usize, heads: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            linear1: candle_nn::linear(dim, dim * 3 + mlp, vb.pp("linear1"))?,
            linear2: candle_nn::linear(dim + mlp, dim, vb.pp("linear2"))?,
            heads: FusedHeads::load(dim / heads, heads, &vb)?,
            modulation: Modulations::load(dim, 1, vb.pp("modulation"))?,
            norm: PlainNorm::new(dim, vb.dtype(), vb.device())?,
            dim,
            mlp,
        })
    }

    /// The updated tokens.
    pub fn forward(
        &self,
        xs: &Tensor,
        vec: &Tensor,
        rotary: &Rotary,
        path: AttentionPath,
    ) -> Result<Tensor> {
        let m = self.modulation.forward(vec)?;
        let projected = m[0]
            .scale_shift(&xs.apply(&self.norm)?)?
            .apply(&self.linear1)?;
        let heads = self
            .heads
            .heads(&projected.narrow(D::Minus1, 0, 3 * self.dim)?)?;
        let mlp = projected
            .narrow(D::Minus1, 3 * self.dim, self.mlp)?
            .gelu()?;
        let attn = attend(&heads, rotary, path)?;
        let out = Tensor::cat(&[attn, mlp], 2)?.apply(&self.linear2)?;
        xs + m[0].gate(&out)?
    }
}

/// Norm, modulation by shift and scale, and the projection to latent channels.
#[derive(Debug, Clone)]
pub struct LastLayer {
    norm: PlainNorm,
    linear: Linear,
    modulation: Linear,
}

impl LastLayer {
    /// Load `final_layer` (`linear`, `adaLN_modulation.1`).
    pub fn load(dim: usize, out: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm: PlainNorm::new(dim, vb.dtype(), vb.device())?,
            linear: candle_nn::linear(dim, out, vb.pp("linear"))?,
            modulation: candle_nn::linear(dim, 2 * dim, vb.pp("adaLN_modulation.1"))?,
        })
    }

    /// The latent prediction of each image token.
    pub fn forward(&self, xs: &Tensor, vec: &Tensor) -> Result<Tensor> {
        let parts = vec.silu()?.apply(&self.modulation)?.chunk(2, 1)?;
        let (shift, scale) = (parts[0].unsqueeze(1)?, parts[1].unsqueeze(1)?);
        xs.apply(&self.norm)?
            .broadcast_mul(&(scale + 1.0)?)?
            .broadcast_add(&shift)?
            .apply(&self.linear)
    }
}
