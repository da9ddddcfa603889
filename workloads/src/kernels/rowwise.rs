//! Row-broadcast elementwise operations in one pass each, for bf16 on NVIDIA GPUs: a linear
//! layer's bias (and GELU after it), FLUX's modulation `x × (1 + scale) + shift` (alone, or
//! after a layer norm of each row) and its gated residual `residual + gate × x`.
//!
//! candle computes these with its broadcast kernels, which find every element's operands
//! through the shape and strides: on an H100 the bias additions alone took 183 ms of a 493 ms
//! FLUX.1-dev step (Nsight Compute, `badd_bf16`), about twenty times what moving the bytes
//! takes. Each function here takes `fused`: when set and the tensors are bf16 on a CUDA
//! device, one kernel of `rowwise.cu` runs (compiled at run time, so engines call [`check`]
//! at load and set `fused` from it); otherwise candle's operations compute the same thing.

use candle_core::{
    CpuStorage, CustomOp2, CustomOp3, DType, Device, Layout, Result, Shape, Tensor, D,
};

/// `x + bias`, `bias` broadcast over the rows of `x` (…, cols).
pub fn add_bias(x: &Tensor, bias: &Tensor, fused: bool) -> Result<Tensor> {
    if let Some([x, bias]) = kernel_operands([x, bias], fused)? {
        return x.apply_op2_no_bwd(&bias, &Bias { gelu: false });
    }
    x.broadcast_add(bias)
}

/// GELU (tanh approximation) of `x + bias`.
pub fn add_bias_gelu(x: &Tensor, bias: &Tensor, fused: bool) -> Result<Tensor> {
    if let Some([x, bias]) = kernel_operands([x, bias], fused)? {
        return x.apply_op2_no_bwd(&bias, &Bias { gelu: true });
    }
    x.broadcast_add(bias)?.gelu()
}

/// `x × (1 + scale) + shift` for `x` (batch, rows, cols) and `scale`, `shift` (batch, 1, cols).
pub fn modulate(x: &Tensor, scale: &Tensor, shift: &Tensor, fused: bool) -> Result<Tensor> {
    if let Some([x, scale, shift]) = kernel_operands([x, scale, shift], fused)? {
        return x.apply_op3_no_bwd(&scale, &shift, &PerBatch::Modulate);
    }
    x.broadcast_mul(&(scale + 1.0)?)?.broadcast_add(shift)
}

/// The widest row [`norm_modulate`]'s kernel takes: 128 threads × 4 chunks of 8 values
/// (`NORM_THREADS`, `NORM_CHUNKS` in rowwise.cu).
const NORM_MAX_COLS: usize = 4096;

/// Layer norm of each row of `x` (batch, rows, cols) without a learned scale or bias, then
/// [`modulate`] by `scale` and `shift` (batch, 1, cols): FLUX's normalized and modulated input
/// to attention and MLP. One pass on GPUs where candle takes the norm's and then the
/// modulation's.
pub fn norm_modulate(
    x: &Tensor,
    scale: &Tensor,
    shift: &Tensor,
    eps: f32,
    fused: bool,
) -> Result<Tensor> {
    if x.dim(D::Minus1)? <= NORM_MAX_COLS {
        if let Some([x, scale, shift]) = kernel_operands([x, scale, shift], fused)? {
            return x.apply_op3_no_bwd(&scale, &shift, &PerBatch::NormModulate { eps });
        }
    }
    let cols = x.dim(D::Minus1)?;
    let (ones, zeros) = (
        Tensor::ones(cols, x.dtype(), x.device())?,
        Tensor::zeros(cols, x.dtype(), x.device())?,
    );
    let normed = candle_nn::ops::layer_norm(&x.contiguous()?, &ones, &zeros, eps)?;
    modulate(&normed, scale, shift, false)
}

/// `residual + gate × x` for `residual`, `x` (batch, rows, cols) and `gate` (batch, 1, cols).
pub fn gated_residual(residual: &Tensor, gate: &Tensor, x: &Tensor, fused: bool) -> Result<Tensor> {
    if let Some([residual, gate, x]) = kernel_operands([residual, gate, x], fused)? {
        return residual.apply_op3_no_bwd(&gate, &x, &PerBatch::GatedResidual);
    }
    residual + x.broadcast_mul(gate)?
}

/// The operands, contiguous, when the kernels serve them: asked for, bf16 on a CUDA device,
/// rows a multiple of 8 wide, and every operand starting on a 16-byte boundary (the kernels
/// move 8 values at a time). `None`: candle's operations compute it.
fn kernel_operands<const N: usize>(
    tensors: [&Tensor; N],
    fused: bool,
) -> Result<Option<[Tensor; N]>> {
    let x = tensors[0];
    if !(fused
        && x.device().is_cuda()
        && x.dtype() == DType::BF16
        && x.dim(D::Minus1).is_ok_and(|cols| cols.is_multiple_of(8)))
    {
        return Ok(None);
    }
    let operands = tensors.map(|t| t.contiguous());
    let mut out = Vec::with_capacity(N);
    for t in operands {
        let t = t?;
        if !t.layout().start_offset().is_multiple_of(8) {
            return Ok(None);
        }
        out.push(t);
    }
    Ok(out.try_into().ok())
}

/// Whether every kernel agrees with candle's operations on `device` (bf16, random values,
/// two batches): engines set `fused` from this at load.
pub fn check(device: &Device) -> Result<bool> {
    let (batch, rows, cols) = (2, 37, 96);
    let rand = |shape: (usize, usize, usize)| -> Result<Tensor> {
        Tensor::randn(0f32, 1.0, shape, device)?.to_dtype(DType::BF16)
    };
    let x = rand((batch, rows, cols))?;
    let y = rand((batch, rows, cols))?;
    let (scale, shift) = (rand((batch, 1, cols))?, rand((batch, 1, cols))?);
    let bias = rand((1, 1, cols))?.flatten_all()?;
    let pairs = [
        (add_bias(&x, &bias, true)?, add_bias(&x, &bias, false)?),
        (
            add_bias_gelu(&x, &bias, true)?,
            add_bias_gelu(&x, &bias, false)?,
        ),
        (
            modulate(&x, &scale, &shift, true)?,
            modulate(&x, &scale, &shift, false)?,
        ),
        (
            gated_residual(&y, &scale, &x, true)?,
            gated_residual(&y, &scale, &x, false)?,
        ),
        (
            norm_modulate(&x, &scale, &shift, 1e-6, true)?,
            norm_modulate(&x, &scale, &shift, 1e-6, false)?,
        ),
    ];
    for (i, (fused, plain)) in pairs.iter().enumerate() {
        let diff = super::max_difference(fused, plain)?;
        // bf16 keeps 8 bits: values of a few units differ by a rounding or two between one
        // fused pass and candle's two.
        if diff.is_nan() || diff > 0.1 {
            tracing::warn!("row-wise kernel {i} differs from candle's operations by {diff}");
            return Ok(false);
        }
    }
    Ok(true)
}

/// `x + bias`, with GELU after it when `gelu`.
struct Bias {
    gelu: bool,
}

/// Operations with one row of operands per batch.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
enum PerBatch {
    Modulate,
    GatedResidual,
    /// Layer norm (with this epsilon) then modulation.
    NormModulate {
        eps: f32,
    },
}

const GPU_ONLY: &str = "row-wise kernels run on CUDA only; other devices use candle's operations";

impl CustomOp2 for Bias {
    fn name(&self) -> &'static str {
        if self.gelu {
            "bias-gelu"
        } else {
            "bias"
        }
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        candle_core::bail!("{GPU_ONLY}")
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        x: &candle_core::CudaStorage,
        lx: &Layout,
        bias: &candle_core::CudaStorage,
        lb: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let name = if self.gelu {
            "add_bias_gelu"
        } else {
            "add_bias"
        };
        let out = cuda::launch(name, &[(x, lx), (bias, lb)], lx, cuda::Tail::Nothing)?;
        Ok((out, lx.shape().clone()))
    }
}

impl CustomOp3 for PerBatch {
    fn name(&self) -> &'static str {
        "per-batch"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
        _: &CpuStorage,
        _: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        candle_core::bail!("{GPU_ONLY}")
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        a: &candle_core::CudaStorage,
        la: &Layout,
        b: &candle_core::CudaStorage,
        lb: &Layout,
        c: &candle_core::CudaStorage,
        lc: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        // Modulate: (x, scale, shift), x rows. Gated residual: (residual, gate, x).
        let rows_per_batch = match la.dims() {
            [_, rows, _] => *rows,
            _ => candle_core::bail!("per-batch row operations take (batch, rows, cols)"),
        };
        let (name, tail) = match *self {
            PerBatch::Modulate => ("modulate", cuda::Tail::RowsPerBatch(rows_per_batch)),
            PerBatch::GatedResidual => ("gated_residual", cuda::Tail::RowsPerBatch(rows_per_batch)),
            PerBatch::NormModulate { eps } => (
                "norm_modulate",
                cuda::Tail::Norm {
                    rows_per_batch,
                    eps,
                },
            ),
        };
        let out = cuda::launch(name, &[(a, la), (b, lb), (c, lc)], la, tail)?;
        Ok((out, la.shape().clone()))
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use candle_core::cuda_backend::cudarc::driver::{CudaView, LaunchConfig, PushKernelArg};
    use candle_core::cuda_backend::WrapErr;
    use candle_core::{CudaStorage, Layout, Result};

    use crate::kernels::nvrtc::{bf16_storage, Source};

    static SOURCE: Source = Source::new("rowwise.cu", include_str!("rowwise.cu"));
    const MODULE: &str = "bench_rowwise";

    /// The bf16 elements of a contiguous layout starting on a 16-byte boundary.
    fn view<'a>(storage: &'a CudaStorage, layout: &Layout) -> Result<CudaView<'a, half::bf16>> {
        let slice = crate::kernels::nvrtc::bf16_slice(storage, "row-wise kernels")?;
        match layout.contiguous_offsets() {
            Some((start, end)) if start % 8 == 0 && (end - start) % 8 == 0 => {
                Ok(slice.slice(start..end))
            }
            _ => candle_core::bail!("row-wise kernels take contiguous tensors at 16-byte offsets"),
        }
    }

    /// What a kernel takes after its operands, output, rows and chunks; it also decides the
    /// grid.
    pub enum Tail {
        /// Nothing more (the bias kernels).
        Nothing,
        /// Rows per batch (the per-batch kernels).
        RowsPerBatch(usize),
        /// Rows per batch and the norm's epsilon (`norm_modulate`, one block a row).
        Norm { rows_per_batch: usize, eps: f32 },
    }

    /// Threads a block of `norm_modulate` (`NORM_THREADS` in rowwise.cu).
    const NORM_THREADS: u32 = 128;

    /// Run kernel `name` over `inputs` (the first shaped like the output, `rows × cols`).
    pub fn launch(
        name: &str,
        inputs: &[(&CudaStorage, &Layout)],
        shape: &Layout,
        tail: Tail,
    ) -> Result<CudaStorage> {
        let device = inputs[0].0.device.clone();
        let views = inputs
            .iter()
            .map(|(s, l)| view(s, l))
            .collect::<Result<Vec<_>>>()?;
        let elements = shape.shape().elem_count();
        let cols = shape.dims().last().copied().unwrap_or(1);
        let rows = elements / cols.max(1);
        let chunks = cols / 8;
        // SAFETY: the kernel writes every element of the output before anything reads it.
        let out = unsafe { device.alloc::<half::bf16>(elements)? };
        let func = device.get_or_load_custom_func(name, MODULE, SOURCE.ptx()?)?;
        // A thread a chunk across, rows spread over enough blocks to fill the GPU (each
        // thread then walks rows; gridDim.y is at most 65,535).
        const THREADS: usize = 128;
        let across = chunks.div_ceil(THREADS).max(1);
        let down = (132 * 16usize)
            .div_ceil(across)
            .clamp(1, rows.clamp(1, 65_535));
        let config = match tail {
            Tail::Norm { .. } => LaunchConfig {
                grid_dim: (rows.max(1) as u32, 1, 1),
                block_dim: (NORM_THREADS, 1, 1),
                shared_mem_bytes: 0,
            },
            _ => LaunchConfig {
                grid_dim: (across as u32, down as u32, 1),
                block_dim: (THREADS as u32, 1, 1),
                shared_mem_bytes: 0,
            },
        };
        let (rows_i, chunks_i) = (rows as i32, chunks as i32);
        let (per_batch, eps) = match tail {
            Tail::Nothing => (None, None),
            Tail::RowsPerBatch(n) => (Some(n.max(1) as i32), None),
            Tail::Norm {
                rows_per_batch,
                eps,
            } => (Some(rows_per_batch.max(1) as i32), Some(eps)),
        };
        let mut args = func.builder();
        for v in &views {
            args.arg(v);
        }
        args.arg(&out).arg(&rows_i).arg(&chunks_i);
        if let Some(per_batch) = &per_batch {
            args.arg(per_batch);
        }
        if let Some(eps) = &eps {
            args.arg(eps);
        }
        // SAFETY: the arguments match the kernel's signature in rowwise.cu (input pointers,
        // output, rows, 16-byte chunks per row, rows per batch for the per-batch kernels, and
        // epsilon for the norm);
        // every index stays inside the tensors, whose sizes the callers' shapes fix.
        unsafe { args.launch(config) }.w()?;
        Ok(bf16_storage(out, device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_computes_with_candle_operations() {
        let cpu = &Device::Cpu;
        let x = Tensor::new(&[[[1f32, 2.0], [3.0, 4.0]]], cpu).unwrap();
        let row = Tensor::new(&[[[0.5f32, -1.0]]], cpu).unwrap();
        let bias = row.flatten_all().unwrap();
        let v = |t: Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(v(add_bias(&x, &bias, true).unwrap()), [1.5, 1.0, 3.5, 3.0]);
        // x (1 + scale) + shift with scale = shift = row.
        assert_eq!(
            v(modulate(&x, &row, &row, true).unwrap()),
            [2.0, -1.0, 5.0, -1.0]
        );
        // residual + gate × x with residual = x, gate = row.
        assert_eq!(
            v(gated_residual(&x, &row, &x, true).unwrap()),
            [1.5, 0.0, 4.5, 0.0]
        );
        let gelu = v(add_bias_gelu(&x, &bias, true).unwrap());
        assert!((gelu[1] - 0.841_192).abs() < 1e-4, "{gelu:?}");
    }

    #[test]
    fn norm_modulate_normalizes_each_row_then_modulates() {
        let cpu = &Device::Cpu;
        let x = Tensor::new(&[[[1f32, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 6.0]]], cpu).unwrap();
        let scale = Tensor::new(&[[[1f32, 1.0, 0.0, 0.0]]], cpu).unwrap();
        let shift = Tensor::new(&[[[0.5f32, 0.0, 0.0, -1.0]]], cpu).unwrap();
        let got = norm_modulate(&x, &scale, &shift, 0.0, true)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        // Row 1: mean 2.5, variance 1.25; row 2: mean 3, variance 3.
        let (a, b) = (1.25f32.sqrt(), 3f32.sqrt());
        let expected = [
            2.0 * -1.5 / a + 0.5,
            2.0 * -0.5 / a,
            0.5 / a,
            1.5 / a - 1.0,
            -2.0 / b + 0.5,
            -2.0 / b,
            -1.0 / b,
            3.0 / b - 1.0,
        ];
        for (g, e) in got.iter().zip(expected) {
            assert!((g - e).abs() < 1e-5, "{got:?} against {expected:?}");
        }
    }

    #[test]
    fn the_load_time_check_passes_on_the_cpu() {
        assert!(check(&Device::Cpu).unwrap());
    }
}
