//! FLUX's transformer blocks: the double-stream blocks (text and image apart, one joint
//! attention), the single-stream blocks (one stream, attention and MLP side by side) and the
//! last layer, each modulated by the conditioning vector.

use candle_core::{Result, Tensor, D};
use candle_nn::VarBuilder;

use super::attention::{attend, HeadSplit, SelfAttention};
use super::dense::Dense;
use super::embed::Rotary;
use super::Kernels;
use crate::kernels::rowwise;

/// The epsilon of FLUX's layer norms (no learned scale or bias; each is followed by a
/// modulation, and computed with it by [`rowwise::norm_modulate`]).
const NORM_EPS: f32 = 1e-6;

/// Shift, scale and gate from the conditioning vector, each (batch, 1, dim).
struct Modulation {
    shift: Tensor,
    scale: Tensor,
    gate: Tensor,
}

impl Modulation {
    /// `norm(xs) × (1 + scale) + shift`, `norm` FLUX's layer norm without a learned scale or
    /// bias.
    fn norm_scale_shift(&self, xs: &Tensor, fused: bool) -> Result<Tensor> {
        rowwise::norm_modulate(xs, &self.scale, &self.shift, NORM_EPS, fused)
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
    fn finish(&self, xs: &Tensor, attn: &Tensor, m: &[Modulation], fused: bool) -> Result<Tensor> {
        let xs = m[0].gated(xs, &self.attention.proj.forward(attn, fused)?, fused)?;
        let mlp = self
            .mlp
            .forward(&m[1].norm_scale_shift(&xs, fused)?, fused)?;
        m[1].gated(&xs, &mlp, fused)
    }
}

/// Text and image tokens, each with its own weights, attending jointly.
#[derive(Debug, Clone)]
pub struct DoubleBlock {
    img: Stream,
    txt: Stream,
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
        let img_qkv = self
            .img
            .attention
            .qkv(&img_m[0].norm_scale_shift(img, fused)?, kernels)?;
        let txt_qkv = self
            .txt
            .attention
            .qkv(&txt_m[0].norm_scale_shift(txt, fused)?, kernels)?;
        let heads = HeadSplit::joined(
            (self.txt.attention.split(), &txt_qkv),
            (self.img.attention.split(), &img_qkv),
            rotary,
            kernels.heads,
        )?;
        let attn = attend(&heads, kernels.attention)?;
        let txt_attn = attn.narrow(1, 0, text_tokens)?;
        let img_attn = attn.narrow(1, text_tokens, attn.dim(1)? - text_tokens)?;
        Ok((
            self.img.finish(img, &img_attn, &img_m, fused)?,
            self.txt.finish(txt, &txt_attn, &txt_m, fused)?,
        ))
    }
}

/// One stream of text and image tokens: one projection to queries, keys, values and the
/// MLP's input, one projection back from attention and MLP together.
///
/// The first projection (`linear1`) is computed as its two parts, queries-keys-values and MLP,
/// each a view of the stored weights: each product is then contiguous, where slicing one product
/// made candle copy the attention's part and apply GELU through strides. The projection back
/// (`linear2`) is likewise the sum of its two parts' products, where concatenating attention
/// and MLP (tokens × 15,360 values for FLUX.1-dev) cost a copy as large as both.
#[derive(Debug, Clone)]
pub struct SingleBlock {
    linear1_qkv: Dense,
    linear1_mlp: Dense,
    linear2_attention: Dense,
    linear2_mlp: Dense,
    split: HeadSplit,
    modulation: Modulations,
}

impl SingleBlock {
    /// Load block `vb` (`linear1`, `linear2`, `norm` (its query and key norms), `modulation`).
    pub fn load(dim: usize, mlp: usize, heads: usize, vb: VarBuilder) -> Result<Self> {
        let (linear1_qkv, linear1_mlp) =
            Dense::load(dim, dim * 3 + mlp, true, vb.pp("linear1"))?.split_outputs(dim * 3)?;
        let (linear2_attention, linear2_mlp) =
            Dense::load(dim + mlp, dim, true, vb.pp("linear2"))?.split_inputs(dim)?;
        Ok(Self {
            linear1_qkv,
            linear1_mlp,
            linear2_attention,
            linear2_mlp,
            split: HeadSplit::load(dim / heads, heads, &vb)?,
            modulation: Modulations::load(dim, 1, vb.pp("modulation"))?,
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
        let modulated = m[0].norm_scale_shift(xs, fused)?;
        let qkv = self.linear1_qkv.forward(&modulated, fused)?;
        let heads = self.split.heads(&qkv, rotary, kernels.heads)?;
        let mlp = self.linear1_mlp.forward_gelu(&modulated, fused)?;
        let attn = attend(&heads, kernels.attention)?;
        let out = (self.linear2_attention.forward(&attn, fused)?
            + self.linear2_mlp.forward(&mlp, fused)?)?;
        m[0].gated(xs, &out, fused)
    }
}

/// Norm, modulation by shift and scale, and the projection to latent channels.
#[derive(Debug, Clone)]
pub struct LastLayer {
    linear: Dense,
    modulation: Dense,
}

impl LastLayer {
    /// Load `final_layer` (`linear`, `adaLN_modulation.1`).
    pub fn load(dim: usize, out: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            linear: Dense::load(dim, out, true, vb.pp("linear"))?,
            modulation: Dense::load(dim, 2 * dim, true, vb.pp("adaLN_modulation.1"))?,
        })
    }

    /// The latent prediction of each image token.
    pub fn forward(&self, xs: &Tensor, vec: &Tensor, fused: bool) -> Result<Tensor> {
        let parts = self.modulation.forward(&vec.silu()?, fused)?.chunk(2, 1)?;
        let (shift, scale) = (parts[0].unsqueeze(1)?, parts[1].unsqueeze(1)?);
        let modulated = rowwise::norm_modulate(xs, &scale, &shift, NORM_EPS, fused)?;
        self.linear.forward(&modulated, fused)
    }
}
