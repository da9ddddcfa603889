//! Row-broadcast elementwise operations in one pass each, for bf16 on NVIDIA GPUs: a linear
//! layer's bias (and GELU after it), FLUX's modulation `x × (1 + scale) + shift` and its gated
//! residual `residual + gate × x`.
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
enum PerBatch {
    Modulate,
    GatedResidual,
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
        let out = cuda::launch(name, &[(x, lx), (bias, lb)], lx, None)?;
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
        let name = match self {
            PerBatch::Modulate => "modulate",
            PerBatch::GatedResidual => "gated_residual",
        };
        let out = cuda::launch(name, &[(a, la), (b, lb), (c, lc)], la, Some(rows_per_batch))?;
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

    /// Run kernel `name` over `inputs` (the first shaped like the output, `rows × cols`).
    pub fn launch(
        name: &str,
        inputs: &[(&CudaStorage, &Layout)],
        shape: &Layout,
        rows_per_batch: Option<usize>,
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
        let config = LaunchConfig {
            grid_dim: (across as u32, down as u32, 1),
            block_dim: (THREADS as u32, 1, 1),
            shared_mem_bytes: 0,
        };
        let (rows_i, chunks_i) = (rows as i32, chunks as i32);
        let per_batch = rows_per_batch.unwrap_or(1).max(1) as i32;
        let mut args = func.builder();
        for v in &views {
            args.arg(v);
        }
        args.arg(&out).arg(&rows_i).arg(&chunks_i);
        if rows_per_batch.is_some() {
            args.arg(&per_batch);
        }
        // SAFETY: the arguments match the kernel's signature in rowwise.cu (input pointers,
        // output, rows, 16-byte chunks per row, and rows per batch for the per-batch kernels);
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
    fn the_load_time_check_passes_on_the_cpu() {
        assert!(check(&Device::Cpu).unwrap());
    }
}
