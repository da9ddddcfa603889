//! bench's own FLUX transformer: the same weights and arithmetic as black-forest-labs' model
//! (and candle-transformers' port of it), with the data kept in layouts that avoid copies and
//! fused kernels where candle has none: each layer norm together with the modulation after it,
//! each head's RMS norm together with its rotation, the biases and gated residuals in one pass
//! each, and attention that never stores the scores on GPUs where
//! [`FlashAttention`](crate::kernels::flash_attention::FlashAttention) passes its check.
//!
//! Written because candle-transformers' version spent most of an H100's step time outside
//! the matrix multiplies: 1 GB of attention scores per block, a layer norm of eight
//! unfused passes, and rotary embedding as broadcast multiplies over 5-d strided views.

mod attention;
mod blocks;
mod dense;
mod embed;

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::flux::model::Config;

pub use attention::AttentionPath;
use blocks::{DoubleBlock, LastLayer, SingleBlock};
use dense::Dense;
use embed::{timestep_embedding, MlpEmbedder, Rotary};

use crate::kernels::{flash_attention, heads, rowwise};

/// The kernels a forward pass uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernels {
    /// How attention is computed.
    pub attention: AttentionPath,
    /// Bias additions, modulations and gated residuals in one pass each ([`rowwise`]).
    pub rowwise: bool,
    /// Each head's norm and rotation in one pass, and strided values gathered in one
    /// ([`heads`]).
    pub heads: bool,
}

/// The FLUX transformer: predicts the flow of image latents at a timestep, conditioned on
/// text embeddings, a pooled text vector and (FLUX.1-dev) a guidance strength.
#[derive(Debug, Clone)]
pub struct FluxTransformer {
    img_in: Dense,
    txt_in: Dense,
    time_in: MlpEmbedder,
    vector_in: MlpEmbedder,
    guidance_in: Option<MlpEmbedder>,
    double_blocks: Vec<DoubleBlock>,
    single_blocks: Vec<SingleBlock>,
    final_layer: LastLayer,
    axes_dim: Vec<usize>,
    theta: f64,
    heads: usize,
    kernels: Kernels,
}

impl FluxTransformer {
    /// Load the weights under `vb` (black-forest-labs' tensor names) for `config`. Attention
    /// starts with candle's operations; see [`choose_kernels`](Self::choose_kernels).
    pub fn load(config: &Config, vb: VarBuilder) -> Result<Self> {
        let dim = config.hidden_size;
        let mlp = (dim as f64 * config.mlp_ratio) as usize;
        let heads = config.num_heads;
        let double_blocks = (0..config.depth)
            .map(|i| {
                DoubleBlock::load(
                    dim,
                    mlp,
                    heads,
                    config.qkv_bias,
                    vb.pp("double_blocks").pp(i),
                )
            })
            .collect::<Result<_>>()?;
        let single_blocks = (0..config.depth_single_blocks)
            .map(|i| SingleBlock::load(dim, mlp, heads, vb.pp("single_blocks").pp(i)))
            .collect::<Result<_>>()?;
        Ok(Self {
            img_in: Dense::load(config.in_channels, dim, true, vb.pp("img_in"))?,
            txt_in: Dense::load(config.context_in_dim, dim, true, vb.pp("txt_in"))?,
            time_in: MlpEmbedder::load(256, dim, vb.pp("time_in"))?,
            vector_in: MlpEmbedder::load(config.vec_in_dim, dim, vb.pp("vector_in"))?,
            guidance_in: config
                .guidance_embed
                .then(|| MlpEmbedder::load(256, dim, vb.pp("guidance_in")))
                .transpose()?,
            double_blocks,
            single_blocks,
            final_layer: LastLayer::load(dim, config.in_channels, vb.pp("final_layer"))?,
            axes_dim: config.axes_dim.clone(),
            theta: config.theta as f64,
            heads,
            kernels: Kernels {
                attention: AttentionPath::Plain,
                rowwise: false,
                heads: false,
            },
        })
    }

    /// Choose the fastest kernels that agree with candle's operations on `device` (checked
    /// now: they are compiled at run time): flash attention for bf16 with FLUX's head
    /// dimension, and the one-pass row-wise operations for bf16.
    pub fn choose_kernels(&mut self, device: &Device, dtype: DType, head_dim: usize) {
        if !(device.is_cuda() && dtype == DType::BF16) {
            return;
        }
        if let Some(kernel) =
            flash_attention::choose(device, dtype, head_dim, "FLUX materializes the scores")
        {
            self.kernels.attention = AttentionPath::Flash(kernel);
        }
        match rowwise::check(device) {
            Ok(agrees) => self.kernels.rowwise = agrees,
            Err(e) => tracing::warn!("the row-wise kernels are unavailable ({e}); using candle's"),
        }
        match heads::check(device) {
            Ok(agrees) => self.kernels.heads = agrees,
            Err(e) => {
                tracing::warn!("the attention-heads kernels are unavailable ({e}); using candle's")
            }
        }
    }

    /// The kernels in use.
    pub fn kernels(&self) -> Kernels {
        self.kernels
    }

    /// Use `kernels` (tests compare them).
    pub fn set_kernels(&mut self, kernels: Kernels) {
        self.kernels = kernels;
    }

    /// The predicted flow of `img` (batch, image tokens, channels) at `timesteps` (batch), with
    /// token positions `img_ids` and `txt_ids` (batch, tokens, 3), text `txt` (batch, text
    /// tokens, context dim), pooled vector `y` and, for guidance-distilled models, `guidance`.
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &self,
        img: &Tensor,
        img_ids: &Tensor,
        txt: &Tensor,
        txt_ids: &Tensor,
        timesteps: &Tensor,
        y: &Tensor,
        guidance: Option<&Tensor>,
    ) -> Result<Tensor> {
        let dtype = img.dtype();
        let ids = Tensor::cat(&[txt_ids, img_ids], 1)?;
        let rotary = Rotary::new(&ids, &self.axes_dim, self.theta, self.heads, dtype)?;
        let fused = self.kernels.rowwise;
        let mut txt = self.txt_in.forward(txt, fused)?;
        let mut img = self.img_in.forward(img, fused)?;
        let mut vec = timestep_embedding(timesteps, 256, dtype)?.apply(&self.time_in)?;
        if let (Some(embedder), Some(guidance)) = (&self.guidance_in, guidance) {
            vec = (vec + timestep_embedding(guidance, 256, dtype)?.apply(embedder))?;
        }
        let vec = (vec + y.apply(&self.vector_in))?;
        for block in &self.double_blocks {
            (img, txt) = block.forward(&img, &txt, &vec, &rotary, self.kernels)?;
        }
        let text_tokens = txt.dim(1)?;
        let mut xs = Tensor::cat(&[&txt, &img], 1)?;
        for block in &self.single_blocks {
            xs = block.forward(&xs, &vec, &rotary, self.kernels)?;
        }
        let img = xs.narrow(1, text_tokens, xs.dim(1)? - text_tokens)?;
        self.final_layer.forward(&img, &vec, fused)
    }
}

#[cfg(test)]
mod tests;
