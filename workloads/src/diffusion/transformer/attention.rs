//! FLUX's joint attention: queries, keys and values from one projection, each head's queries
//! and keys RMS-normalized and rotated, every token attending to every token.
//!
//! Tensors stay (batch, tokens, heads, head_dim), the layout the projection writes, so the
//! values are read in place and the result goes to the output projection without a transpose.
//! On a GPU with a checked kernel the attention is [`FlashAttention`] (no scores in memory);
//! elsewhere the scores are materialized and candle's softmax runs over them.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::dense::Dense;
use super::embed::Rotary;
use crate::kernels::flash_attention::{FlashAttention, Kernel};

/// How attention is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttentionPath {
    /// Scores in memory, candle's softmax.
    Plain,
    /// [`FlashAttention`] with this kernel.
    Flash(Kernel),
}

impl AttentionPath {
    /// In words, for the run manifest.
    pub fn describe(self) -> String {
        match self {
            AttentionPath::Plain => "scores in memory, candle softmax".into(),
            AttentionPath::Flash(kernel) => format!("flash attention, kernel {}", kernel.name()),
        }
    }
}

/// RMS normalization of each head's queries or keys, with a learned scale.
#[derive(Debug, Clone)]
struct HeadNorm {
    scale: Tensor,
}

impl HeadNorm {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        candle_nn::ops::rms_norm(&xs.contiguous()?, &self.scale, 1e-6)
    }
}

/// The projections and norms of one attention.
#[derive(Debug, Clone)]
pub struct SelfAttention {
    qkv: Dense,
    split: HeadSplit,
    /// The output projection (FLUX's double blocks apply it per stream).
    pub proj: Dense,
}

/// Queries, keys and values of some tokens, each (batch, tokens, heads, head_dim); queries and
/// keys normalized, not yet rotated.
pub struct Heads {
    /// Queries (contiguous).
    pub q: Tensor,
    /// Keys (contiguous).
    pub k: Tensor,
    /// Values (a view into the projection's output).
    pub v: Tensor,
}

impl SelfAttention {
    /// Load `qkv`, `norm.{query,key}_norm.scale` and `proj` under `vb`.
    pub fn load(dim: usize, heads: usize, qkv_bias: bool, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            qkv: Dense::load(dim, dim * 3, qkv_bias, vb.pp("qkv"))?,
            split: HeadSplit::load(dim / heads, heads, &vb)?,
            proj: Dense::load(dim, dim, true, vb.pp("proj"))?,
        })
    }

    /// Project `xs` (batch, tokens, dim) into normalized heads (the bias fused when `fused`).
    pub fn heads(&self, xs: &Tensor, fused: bool) -> Result<Heads> {
        self.split.heads(&self.qkv.forward(xs, fused)?)
    }
}

/// Queries, keys and values from a (batch, tokens, 3 × dim) projection, split into heads with
/// the queries and keys RMS-normalized: the double blocks' own projection, or the first 3 × dim
/// columns of the single blocks' wider one.
#[derive(Debug, Clone)]
pub struct HeadSplit {
    query_norm: HeadNorm,
    key_norm: HeadNorm,
    heads: usize,
}

impl HeadSplit {
    /// Load `norm.{query,key}_norm.scale` under `vb`.
    pub fn load(head_dim: usize, heads: usize, vb: &VarBuilder) -> Result<Self> {
        Ok(Self {
            query_norm: HeadNorm {
                scale: vb.get(head_dim, "norm.query_norm.scale")?,
            },
            key_norm: HeadNorm {
                scale: vb.get(head_dim, "norm.key_norm.scale")?,
            },
            heads,
        })
    }

    /// The heads of `qkv` (batch, tokens, 3 × dim; any strides).
    pub fn heads(&self, qkv: &Tensor) -> Result<Heads> {
        let (b, l, _) = qkv.dims3()?;
        let qkv = qkv.contiguous()?.reshape((b, l, 3, self.heads, ()))?;
        let part = |i: usize| qkv.narrow(2, i, 1)?.squeeze(2);
        Ok(Heads {
            q: self.query_norm.forward(&part(0)?)?,
            k: self.key_norm.forward(&part(1)?)?,
            v: part(2)?,
        })
    }
}

/// Rotate `x` (batch, tokens, heads, head_dim; contiguous) by `rotary`.
fn rotate(x: &Tensor, rotary: &Rotary) -> Result<Tensor> {
    let (b, l, h, d) = x.dims4()?;
    candle_nn::rotary_emb::rope_i(&x.reshape((b, 1, l * h, d))?, &rotary.cos, &rotary.sin)?
        .reshape((b, l, h, d))
}

/// Attention of `heads` over themselves, rotated by `rotary`; the result is (batch, tokens,
/// heads × head_dim).
pub fn attend(heads: &Heads, rotary: &Rotary, path: AttentionPath) -> Result<Tensor> {
    let q = rotate(&heads.q, rotary)?;
    let k = rotate(&heads.k, rotary)?;
    let (b, l, h, d) = q.dims4()?;
    let scale = 1.0 / (d as f32).sqrt();
    // (batch, heads, tokens, head_dim) views.
    let (q, k, v) = (
        q.transpose(1, 2)?,
        k.transpose(1, 2)?,
        heads.v.transpose(1, 2)?,
    );
    let out = match path {
        AttentionPath::Flash(kernel) => FlashAttention {
            scale,
            causal: None,
            kernel,
        }
        .apply(&q, &k, &v)?,
        AttentionPath::Plain => {
            let q = (q.contiguous()? * f64::from(scale))?;
            let scores = q.matmul(&k.contiguous()?.t()?)?;
            candle_nn::ops::softmax_last_dim(&scores)?
                .matmul(&v.contiguous()?)?
                .transpose(1, 2)?
        }
    };
    out.reshape((b, l, h * d))
}

/// Joins two streams' heads along the tokens: `first` then `second`.
pub fn join(first: &Heads, second: &Heads) -> Result<Heads> {
    let cat = |a: &Tensor, b: &Tensor| Tensor::cat(&[a, b], 1);
    Ok(Heads {
        q: cat(&first.q, &second.q)?,
        k: cat(&first.k, &second.k)?,
        v: cat(&first.v, &second.v)?,
    })
}
