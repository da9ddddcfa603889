//! FLUX's joint attention: queries, keys and values from one projection, each head's queries
//! and keys RMS-normalized and rotated, every token attending to every token.
//!
//! Tensors stay (batch, tokens, heads, head_dim), the layout the projection writes, so the
//! values are read in place and the result goes to the output projection without a transpose.
//! FLUX's double blocks join the text and image streams' heads along the tokens as they are
//! normalized and rotated, in one pass per part on GPUs where
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
    /// Values (a view into the projection's output, or contiguous when joined).
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

    /// The projection of `xs` (batch, tokens, dim) to queries, keys and values (batch,
    /// tokens, 3 × dim), which [`HeadSplit::joined`] splits into heads.
    pub fn qkv(&self, xs: &Tensor, kernels: Kernels) -> Result<Tensor> {
        self.qkv.forward(xs, kernels.rowwise)
    }

    /// How this attention's projection splits into heads.
    pub fn split(&self) -> &HeadSplit {
        &self.split
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

    /// Queries, keys or values (`part` 0, 1, 2) of `qkv` (batch, tokens, 3 × dim; contiguous)
    /// as a (batch, tokens, heads, head_dim) view.
    fn part(&self, qkv: &Tensor, part: usize) -> Result<Tensor> {
        let (b, l, _) = qkv.dims3()?;
        qkv.reshape((b, l, 3, self.heads, ()))?
            .narrow(2, part, 1)?
            .squeeze(2)
    }

    /// The heads of `qkv` (batch, tokens, 3 × dim; contiguous), the whole sequence `rotary`
    /// covers; one pass per part when `fused`.
    pub fn heads(&self, qkv: &Tensor, rotary: &Rotary, fused: bool) -> Result<Heads> {
        let norm_rope = |x: &Tensor, scale: &Tensor| {
            heads::norm_rope(x, scale, &rotary.cos, &rotary.sin, NORM_EPS, fused)
        };
        Ok(Heads {
            q: norm_rope(&self.part(qkv, 0)?, &self.query_norm)?,
            k: norm_rope(&self.part(qkv, 1)?, &self.key_norm)?,
            v: self.part(qkv, 2)?,
        })
    }

    /// Two streams' heads joined along the tokens, `first`'s then `second`'s, each split and
    /// normalized by its own [`HeadSplit`], rotated as tokens of the one sequence `rotary`
    /// covers: written joined in one pass per part when `fused`, where concatenating the
    /// streams' heads cost a copy of each.
    pub fn joined(
        (first_split, first_qkv): (&HeadSplit, &Tensor),
        (second_split, second_qkv): (&HeadSplit, &Tensor),
        rotary: &Rotary,
        fused: bool,
    ) -> Result<Heads> {
        let part = |i: usize| -> Result<(Tensor, Tensor)> {
            Ok((
                first_split.part(first_qkv, i)?,
                second_split.part(second_qkv, i)?,
            ))
        };
        let norm_rope = |(a, b): (Tensor, Tensor), first_scale: &Tensor, second_scale: &Tensor| {
            heads::norm_rope_joined(
                [(&a, first_scale), (&b, second_scale)],
                &rotary.cos,
                &rotary.sin,
                NORM_EPS,
                fused,
            )
        };
        let (first_v, second_v) = part(2)?;
        Ok(Heads {
            q: norm_rope(part(0)?, &first_split.query_norm, &second_split.query_norm)?,
            k: norm_rope(part(1)?, &first_split.key_norm, &second_split.key_norm)?,
            v: heads::gather_joined(&first_v, &second_v, fused)?,
        })
    }
}

/// The epsilon of the queries' and keys' RMS norms.
const NORM_EPS: f32 = 1e-6;

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
