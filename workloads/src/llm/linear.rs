//! A linear layer whose weights stay in their storage dtype, with a streaming
//! matrix-vector path for the few-row products of decoding on the CPU.

use candle_core::{CpuStorage, DType, Module, Result, Storage, Tensor};
use candle_nn::VarBuilder;

use super::gemv;

/// Products with at most this many rows take the matrix-vector path on the CPU.
const GEMV_MAX_ROWS: usize = 4;

/// `y = x · Wᵀ + b` with `W` of shape (out, in).
#[derive(Debug, Clone)]
pub struct Linear {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Linear {
    /// Load `prefix.weight` (and `prefix.bias` when `bias`) from `vb`; biases are kept in
    /// `act_dtype`.
    pub fn load(
        vb: &VarBuilder,
        in_dim: usize,
        out_dim: usize,
        bias: bool,
        act_dtype: DType,
    ) -> Result<Self> {
        let weight = vb.get((out_dim, in_dim), "weight")?;
        let bias = if bias {
            Some(vb.get(out_dim, "bias")?.to_dtype(act_dtype)?)
        } else {
            None
        };
        Ok(Self { weight, bias })
    }

    /// A bias-free layer over an existing weight (tied embeddings).
    pub fn from_weight(weight: Tensor) -> Self {
        Self { weight, bias: None }
    }

    fn gemv_rows(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let (out_dim, in_dim) = self.weight.dims2()?;
        let rows = x.elem_count() / in_dim.max(1);
        if !x.device().is_cpu() || rows > GEMV_MAX_ROWS || !self.weight.is_contiguous() {
            return Ok(None);
        }
        let xs = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let mut out = vec![0f32; rows * out_dim];
        let (storage, layout) = self.weight.storage_and_layout();
        let start = layout.start_offset();
        let len = out_dim * in_dim;
        match &*storage {
            Storage::Cpu(CpuStorage::F32(w)) => {
                for (x, o) in xs.chunks_exact(in_dim).zip(out.chunks_exact_mut(out_dim)) {
                    gemv::gemv(&w[start..start + len], x, o);
                }
            }
            Storage::Cpu(CpuStorage::BF16(w)) => {
                for (x, o) in xs.chunks_exact(in_dim).zip(out.chunks_exact_mut(out_dim)) {
                    gemv::gemv(&w[start..start + len], x, o);
                }
            }
            _ => return Ok(None),
        }
        drop(storage);
        let mut shape = x.dims().to_vec();
        if let Some(last) = shape.last_mut() {
            *last = out_dim;
        }
        Ok(Some(
            Tensor::from_vec(out, shape, x.device())?.to_dtype(x.dtype())?,
        ))
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = match self.gemv_rows(x)? {
            Some(y) => y,
            None => {
                // On the CPU activations stay f32 and half-precision weights are widened for
                // the product (candle's CPU matmul would widen both operands anyway); on GPUs
                // activations already share the weights' dtype.
                let w = if x.device().is_cpu() {
                    self.weight.to_dtype(x.dtype())?
                } else {
                    self.weight.clone()
                };
                let xw = x.to_dtype(w.dtype())?;
                let y = match xw.dims() {
                    [b, t, _] => xw
                        .matmul(&w.broadcast_left(*b)?.t()?)?
                        .reshape((*b, *t, ()))?,
                    _ => xw.matmul(&w.t()?)?,
                };
                y.to_dtype(x.dtype())?
            }
        };
        match &self.bias {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }
}
