//! A linear layer whose bias is added by [`rowwise`](crate::kernels::rowwise) (one pass on
//! GPUs, optionally with GELU) instead of candle's broadcast addition.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use crate::kernels::rowwise;

/// `x Wᵀ + b`, black-forest-labs' `weight` (out, in) and `bias` (out).
#[derive(Debug, Clone)]
pub struct Dense {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Dense {
    /// Load `weight` and, when `bias`, `bias` under `vb`.
    pub fn load(input: usize, output: usize, bias: bool, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get((output, input), "weight")?,
            bias: bias.then(|| vb.get(output, "bias")).transpose()?,
        })
    }

    /// The layer split at output `at`: outputs `..at` and `at..` as two layers, each a view of
    /// this one's weights (no copy), so each product comes out contiguous.
    pub fn split_outputs(&self, at: usize) -> Result<(Self, Self)> {
        let outputs = self.weight.dim(0)?;
        let part = |start: usize, len: usize| -> Result<Self> {
            Ok(Self {
                weight: self.weight.narrow(0, start, len)?,
                bias: self
                    .bias
                    .as_ref()
                    .map(|b| b.narrow(0, start, len))
                    .transpose()?,
            })
        };
        Ok((part(0, at)?, part(at, outputs - at)?))
    }

    /// The layer split at input `at`: inputs `..at` with the bias and `at..` without, so
    /// `x Wᵀ + b` of a concatenation `[a, m]` is `first(a) + second(m)` and the concatenation
    /// is never built. Each part's weights are copied once here: a matrix product takes a
    /// weight whose rows are contiguous, and a column slice's are not.
    pub fn split_inputs(&self, at: usize) -> Result<(Self, Self)> {
        let inputs = self.weight.dim(1)?;
        let part = |start: usize, len: usize| self.weight.narrow(1, start, len)?.contiguous();
        Ok((
            Self {
                weight: part(0, at)?,
                bias: self.bias.clone(),
            },
            Self {
                weight: part(at, inputs - at)?,
                bias: None,
            },
        ))
    }

    fn product(&self, x: &Tensor) -> Result<Tensor> {
        let dims = x.dims();
        let (rows, input) = (
            dims[..dims.len() - 1].iter().product::<usize>(),
            dims[dims.len() - 1],
        );
        let mut shape = dims.to_vec();
        if let Some(last) = shape.last_mut() {
            *last = self.weight.dim(0)?;
        }
        x.contiguous()?
            .reshape((rows, input))?
            .matmul(&self.weight.t()?)?
            .reshape(shape)
    }

    /// `x Wᵀ + b` for `x` (…, in), the bias in one fused pass when `fused`.
    pub fn forward(&self, x: &Tensor, fused: bool) -> Result<Tensor> {
        let y = self.product(x)?;
        match &self.bias {
            Some(bias) => rowwise::add_bias(&y, bias, fused),
            None => Ok(y),
        }
    }

    /// GELU (tanh approximation) of [`forward`](Self::forward).
    pub fn forward_gelu(&self, x: &Tensor, fused: bool) -> Result<Tensor> {
        let y = self.product(x)?;
        match &self.bias {
            Some(bias) => rowwise::add_bias_gelu(&y, bias, fused),
            None => y.gelu(),
        }
    }
}
