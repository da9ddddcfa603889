//! FLUX's joint attention: queries, keys and values from one projection, each head's queries
//! and keys RMS-normalized and rotated, every token attending to every token.
//!
//! Tensors stay (batch, tokens, heads, head_dim), the layout the projection writes, so the
//! values are read in place and the result goes to the output projection without a transpose.
//! Each stream's queries and keys are normalized and rotated before the streams are joined
//! (rotation is per token, so the order does not matter), in one pass on GPUs where
//! [`heads`](crate::kernels::heads) passes its check. On a GPU with a checked kernel the
//! attention is [`FlashAttention`] (no scores in memory); elsewhere the scores are
//! materialized and candle's softmax runs over them.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::dense::Dense;
use super::embed::Rotary;
use super::Kernels;
use crate::kernels::flash_attention::{FlashAttention, Kernel};
use crate::kernels::heads;

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

/// The projections and norms of one attention.
#[derive(Debug, Clone)]
pub struct SelfAttention {
    qkv: Dense,
    split: HeadSplit,
    /// The output projection (FLUX's double blocks apply it per stream).
    pub proj: Dense,
}

/// Queries, keys and values of some tokens, each (batch, tokens, heads, head_dim); queries and
/// keys normalized and rotated.
pub struct Heads {
    /// Queries (contiguous).
    pub q: Tensor,
    /// Keys (contiguous).
    pub k: Tensor,
    /// Values (a view into the projection's output, or contiguous once joined).
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

    /// Project `xs` (batch, tokens, dim), whose first token is token `first` of the joint
    /// sequence, into normalized and rotated heads.
    pub fn heads(
        &self,
        xs: &Tensor,
        rotary: &Rotary,
        first: usize,
        kernels: Kernels,
    ) -> Result<Heads> {
        let qkv = self.qkv.forward(xs, kernels.rowwise)?;
        self.split.heads(&qkv, rotary, first, kernels.heads)
    }
}

/// Queries, keys and values from a (batch, tokens, 3 × dim) projection, split into heads with
/// the queries and keys RMS-normalized: the double blocks' own projection, or the first 3 × dim
/// columns of the single blocks' wider one.
#[derive(Debug, Clone)]
pub struct HeadSplit {
    query_norm: Tensor,
    key_norm: Tensor,
    heads: usize,
}

impl HeadSplit {
    /// Load `norm.{query,key}_norm.scale` under `vb`.
    pub fn load(head_dim: usize, heads: usize, vb: &VarBuilder) -> Result<Self> {
        Ok(Self {
            query_norm: vb.get(head_dim, "norm.query_norm.scale")?,
            key_norm: vb.get(head_dim, "norm.key_norm.scale")?,
            heads,
        })
    }

    /// The heads of `qkv` (batch, tokens, 3 × dim; contiguous), whose first token is token
    /// `first` of the joint sequence `rotary` covers; one pass per part when `fused`.
    pub fn heads(&self, qkv: &Tensor, rotary: &Rotary, first: usize, fused: bool) -> Result<Heads> {
        let (b, l, _) = qkv.dims3()?;
        let qkv = qkv.reshape((b, l, 3, self.heads, ()))?;
        let part = |i: usize| qkv.narrow(2, i, 1)?.squeeze(2);
        let rows = rotary.tokens(first, l, self.heads)?;
        let norm_rope = |x: &Tensor, scale: &Tensor| {
            heads::norm_rope(x, scale, &rows.cos, &rows.sin, 1e-6, fused)
        };
        Ok(Heads {
            q: norm_rope(&part(0)?, &self.query_norm)?,
            k: norm_rope(&part(1)?, &self.key_norm)?,
            v: part(2)?,
        })
    }
}

/// Attention of `heads` over themselves; the result is (batch, tokens, heads × head_dim).
pub fn attend(heads: &Heads, path: AttentionPath) -> Result<Tensor> {
    let (q, k) = (&heads.q, &heads.k);
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

/// Joins two streams' heads along the tokens: `first` then `second`. The values, views into
/// each stream's projection, are gathered first (in one pass each when `fused`): candle's
/// concatenation of strided views copies element by element.
pub fn join(first: &Heads, second: &Heads, fused: bool) -> Result<Heads> {
    let cat = |a: &Tensor, b: &Tensor| Tensor::cat(&[a, b], 1);
    Ok(Heads {
        q: cat(&first.q, &second.q)?,
        k: cat(&first.k, &second.k)?,
        v: cat(
            &heads::gather(&first.v, fused)?,
            &heads::gather(&second.v, fused)?,
        )?,
    })
}
