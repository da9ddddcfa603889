//! FLUX's transformer blocks: the double-stream blocks (text and image apart, one joint
//! attention), the single-stream blocks (one stream, attention and MLP side by side) and the
//! last layer, each modulated by the conditioning vector.

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::VarBuilder;

use super::attention::{attend, join, HeadSplit, SelfAttention};
use super::dense::Dense;
use super::embed::Rotary;
use super::Kernels;
use crate::kernels::rowwise;

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
    fn scale_shift(&self, xs: &Tensor, fused: bool) -> Result<Tensor> {
        rowwise::modulate(xs, &self.scale, &self.shift, fused)
    }

    /// `residual + gate × xs`.
    fn gated(&self, residual: &Tensor, xs: &Tensor, fused: bool) -> Result<Tensor> {
        rowwise::gated_residual(residual, &self.gate, xs, fused)
    }
}

/// SiLU then a linear layer to `count` modulations.
#[derive(Debug, Clone)]
struct Modulations {
    lin: Dense,
    count: usize,
}

impl Modulations {
    fn load(dim: usize, count: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            lin: Dense::load(dim, 3 * count * dim, true, vb.pp("lin"))?,
            count,
        })
    }

    fn forward(&self, vec: &Tensor, fused: bool) -> Result<Vec<Modulation>> {
        let parts = self
            .lin
            .forward(&vec.silu()?, fused)?
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
    lin1: Dense,
    lin2: Dense,
}

impl Mlp {
    fn load(dim: usize, hidden: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            lin1: Dense::load(dim, hidden, true, vb.pp("0"))?,
            lin2: Dense::load(hidden, dim, true, vb.pp("2"))?,
        })
    }
}

impl Mlp {
    fn forward(&self, xs: &Tensor, fused: bool) -> Result<Tensor> {
        self.lin2
            .forward(&self.lin1.forward_gelu(xs, fused)?, fused)
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
        fused: bool,
    ) -> Result<Tensor> {
        let xs = m[0].gated(xs, &self.attention.proj.forward(attn, fused)?, fused)?;
        let mlp = self
            .mlp
            .forward(&m[1].scale_shift(&xs.apply(norm)?, fused)?, fused)?;
        m[1].gated(&xs, &mlp, fused)
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
        kernels: Kernels,
    ) -> Result<(Tensor, Tensor)> {
        let fused = kernels.rowwise;
        let img_m = self.img.modulation.forward(vec, fused)?;
        let txt_m = self.txt.modulation.forward(vec, fused)?;
        let text_tokens = txt.dim(1)?;
        let img_heads = self.img.attention.heads(
            &img_m[0].scale_shift(&img.apply(&self.norm)?, fused)?,
            rotary,
            text_tokens,
            kernels,
        )?;
        let txt_heads = self.txt.attention.heads(
            &txt_m[0].scale_shift(&txt.apply(&self.norm)?, fused)?,
            rotary,
            0,
            kernels,
        )?;
        let attn = attend(
            &join(&txt_heads, &img_heads, kernels.heads)?,
            kernels.attention,
        )?;
        let txt_attn = attn.narrow(1, 0, text_tokens)?;
        let img_attn = attn.narrow(1, text_tokens, attn.dim(1)? - text_tokens)?;
        Ok((
            self.img.finish(img, &img_attn, &img_m, &self.norm, fused)?,
            self.txt.finish(txt, &txt_attn, &txt_m, &self.norm, fused)?,
        ))
    }
}

/// One stream of text and image tokens: one projection to queries, keys, values and the
/// MLP's input, one projection back from attention and MLP together.
///
/// The first projection (`linear1`) is computed as its two parts, queries-keys-values and MLP,
/// each a view of the stored weights: each product is then contiguous, where slicing one product
/// made candle copy the attention's part and apply GELU through strides.
#[derive(Debug, Clone)]
pub struct SingleBlock {
    linear1_qkv: Dense,
    linear1_mlp: Dense,
    linear2: Dense,
    split: HeadSplit,
    modulation: Modulations,
    norm: PlainNorm,
}

impl SingleBlock {
    /// Load block `vb` (`linear1`, `linear2`, `norm`, `modulation`).
    pub fn load(dim: usize, mlp: usize, heads: usize, vb: VarBuilder) -> Result<Self> {
        let (linear1_qkv, linear1_mlp) =
            Dense::load(dim, dim * 3 + mlp, true, vb.pp("linear1"))?.split_outputs(dim * 3)?;
        Ok(Self {
            linear1_qkv,
            linear1_mlp,
            linear2: Dense::load(dim + mlp, dim, true, vb.pp("linear2"))?,
            split: HeadSplit::load(dim / heads, heads, &vb)?,
            modulation: Modulations::load(dim, 1, vb.pp("modulation"))?,
            norm: PlainNorm::new(dim, vb.dtype(), vb.device())?,
        })
    }

    /// The updated tokens.
    pub fn forward(
        &self,
        xs: &Tensor,
        vec: &Tensor,
        rotary: &Rotary,
        kernels: Kernels,
    ) -> Result<Tensor> {
        let fused = kernels.rowwise;
        let m = self.modulation.forward(vec, fused)?;
        let modulated = m[0].scale_shift(&xs.apply(&self.norm)?, fused)?;
        let qkv = self.linear1_qkv.forward(&modulated, fused)?;
        let heads = self.split.heads(&qkv, rotary, 0, kernels.heads)?;
        let mlp = self.linear1_mlp.forward_gelu(&modulated, fused)?;
        let attn = attend(&heads, kernels.attention)?;
        let out = self
            .linear2
            .forward(&Tensor::cat(&[attn, mlp], 2)?, fused)?;
        m[0].gated(xs, &out, fused)
    }
}

/// Norm, modulation by shift and scale, and the projection to latent channels.
#[derive(Debug, Clone)]
pub struct LastLayer {
    norm: PlainNorm,
    linear: Dense,
    modulation: Dense,
}

impl LastLayer {
    /// Load `final_layer` (`linear`, `adaLN_modulation.1`).
    pub fn load(dim: usize, out: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm: PlainNorm::new(dim, vb.dtype(), vb.device())?,
            linear: Dense::load(dim, out, true, vb.pp("linear"))?,
            modulation: Dense::load(dim, 2 * dim, true, vb.pp("adaLN_modulation.1"))?,
        })
    }

    /// The latent prediction of each image token.
    pub fn forward(&self, xs: &Tensor, vec: &Tensor, fused: bool) -> Result<Tensor> {
        let parts = self.modulation.forward(&vec.silu()?, fused)?.chunk(2, 1)?;
        let (shift, scale) = (parts[0].unsqueeze(1)?, parts[1].unsqueeze(1)?);
        let modulated = rowwise::modulate(&xs.apply(&self.norm)?, &scale, &shift, fused)?;
        self.linear.forward(&modulated, fused)
    }
}
