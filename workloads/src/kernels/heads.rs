//! Attention heads out of a projection in one pass: a (batch, tokens, heads, head_dim) view of
//! a projection's output, with any strides, made contiguous ([`gather`]), or made contiguous,
//! RMS-normalized and rotated by the rotary embedding ([`norm_rope`]).
//!
//! candle does the second in four passes: a strided copy (which computes every element's index
//! through the shape: on an H100 FLUX.1-dev's copies took 60 ms of a 493 ms step), the norm,
//! and the rotation's read and write. When `fused` is set and the view is bf16 on a CUDA device
//! with a head dimension of 128, one kernel of `heads.cu` runs instead (compiled at run time, so
//! engines call [`check`] at load and set `fused` from it); otherwise candle's operations
//! compute the same thing.

use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Result, Shape, Tensor};

/// The head dimension the kernels take (FLUX's and Qwen3's).
pub const HEAD_DIM: usize = 128;

/// `x` (batch, tokens, heads, head_dim), contiguous.
pub fn gather(x: &Tensor, fused: bool) -> Result<Tensor> {
    if use_kernel(x, fused) {
        return x.apply_op1_no_bwd(&Heads { norm_rope: None });
    }
    x.contiguous()
}

/// `x` (batch, tokens, heads, head_dim) RMS-normalized over the head dimension with `scale`
/// (head_dim) and `eps`, then rotated pairwise (candle's `rope_i`) by `cos` and `sin` (tokens ×
/// heads, head_dim / 2: a row per (token, head)); contiguous.
pub fn norm_rope(
    x: &Tensor,
    scale: &Tensor,
    cos: &Tensor,
    sin: &Tensor,
    eps: f32,
    fused: bool,
) -> Result<Tensor> {
    // The kernel reads the scale 8 bytes and the tables 4 bytes at a time.
    let starts_at = |t: &Tensor, elements: usize| {
        t.is_contiguous() && t.layout().start_offset().is_multiple_of(elements)
    };
    if use_kernel(x, fused) && starts_at(scale, 4) && starts_at(cos, 2) && starts_at(sin, 2) {
        return x.apply_op1_no_bwd(&Heads {
            norm_rope: Some(NormRope {
                scale: scale.clone(),
                cos: cos.clone(),
                sin: sin.clone(),
                eps,
            }),
        });
    }
    let (b, l, h, d) = x.dims4()?;
    let normed = candle_nn::ops::rms_norm(&x.contiguous()?, scale, eps)?;
    candle_nn::rotary_emb::rope_i(&normed.reshape((b, 1, l * h, d))?, cos, sin)?
        .reshape((b, l, h, d))
}

/// Whether the kernels serve `x`: asked for, bf16 on a CUDA device, four dimensions with a
/// contiguous head dimension of [`HEAD_DIM`], and an offset and strides of whole 8-byte words.
fn use_kernel(x: &Tensor, fused: bool) -> bool {
    let layout = x.layout();
    fused
        && x.device().is_cuda()
        && x.dtype() == DType::BF16
        && matches!(layout.stride(), [b, l, h, 1] if [b, l, h].iter().all(|s| s.is_multiple_of(4)))
        && x.dim(3).is_ok_and(|d| d == HEAD_DIM)
        && layout.start_offset().is_multiple_of(4)
}

/// Whether both kernels agree with candle's operations on `device` (bf16, random values, a
/// strided view as FLUX's projections give): engines set `fused` from this at load.
pub fn check(device: &Device) -> Result<bool> {
    let (batch, tokens, heads) = (2, 5, 3);
    let rand = |shape: &[usize]| -> Result<Tensor> {
        Tensor::randn(0f32, 1.0, shape, device)?.to_dtype(DType::BF16)
    };
    // Keys of a (batch, tokens, 3, heads, head_dim) projection.
    let x = rand(&[batch, tokens, 3, heads, HEAD_DIM])?
        .narrow(2, 1, 1)?
        .squeeze(2)?;
    let scale = (rand(&[HEAD_DIM])? * 0.1)?.affine(1.0, 1.0)?;
    let angles = Tensor::rand(0f32, 6.0, (tokens * heads, HEAD_DIM / 2), device)?;
    let (cos, sin) = (
        angles.cos()?.to_dtype(DType::BF16)?,
        angles.sin()?.to_dtype(DType::BF16)?,
    );
    let pairs = [
        (gather(&x, true)?, gather(&x, false)?),
        (
            norm_rope(&x, &scale, &cos, &sin, 1e-6, true)?,
            norm_rope(&x, &scale, &cos, &sin, 1e-6, false)?,
        ),
    ];
    for (i, (fused, plain)) in pairs.iter().enumerate() {
        let diff = super::max_difference(fused, plain)?;
        // Normalized values of a few units: a bf16 rounding or two between one pass and four.
        if diff.is_nan() || diff > 0.1 {
            tracing::warn!("attention-heads kernel {i} differs from candle's operations by {diff}");
            return Ok(false);
        }
    }
    Ok(true)
}

/// A strided view of heads made contiguous (`gather`), normalized and rotated on the way when
/// `norm_rope` holds the operands.
struct Heads {
    norm_rope: Option<NormRope>,
}

/// RMS norm and rotation, with the operands the kernel reads beside the view.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
struct NormRope {
    scale: Tensor,
    cos: Tensor,
    sin: Tensor,
    eps: f32,
}

const GPU_ONLY: &str =
    "attention-heads kernels run on CUDA only; other devices use candle's operations";

impl CustomOp1 for Heads {
    fn name(&self) -> &'static str {
        if self.norm_rope.is_some() {
            "norm-rope-heads"
        } else {
            "gather-heads"
        }
    }

    fn cpu_fwd(&self, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        candle_core::bail!("{GPU_ONLY}")
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        x: &candle_core::CudaStorage,
        layout: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let out = cuda::launch(x, layout, self.norm_rope.as_ref())?;
        Ok((out, layout.shape().clone()))
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use candle_core::cuda_backend::cudarc::driver::{CudaView, LaunchConfig, PushKernelArg};
    use candle_core::cuda_backend::WrapErr;
    use candle_core::{CudaStorage, Layout, Result, Storage};

    use crate::kernels::nvrtc::{bf16_storage, Source};

    use super::{NormRope, HEAD_DIM};

    static SOURCE: Source = Source::new("heads.cu", include_str!("heads.cu"));
    const MODULE: &str = "bench_heads";
    const WARPS_PER_BLOCK: usize = 8;

    fn bf16(
        storage: &CudaStorage,
    ) -> Result<&candle_core::cuda_backend::cudarc::driver::CudaSlice<half::bf16>> {
        crate::kernels::nvrtc::bf16_slice(storage, "attention-heads kernels")
    }

    /// A contiguous bf16 operand held by the operation (norm scale, cosines, sines) as a view,
    /// used while `guard` keeps its storage.
    fn operand<'a>(storage: &'a Storage, layout: &Layout) -> Result<CudaView<'a, half::bf16>> {
        let Storage::Cuda(cuda) = storage else {
            candle_core::bail!("attention-heads kernels take operands on the GPU")
        };
        match layout.contiguous_offsets() {
            Some((start, end)) => Ok(bf16(cuda)?.slice(start..end)),
            None => candle_core::bail!("attention-heads kernels take contiguous operands"),
        }
    }

    /// Run `gather` (`norm_rope` = None) or `norm_rope` over the view `x`.
    pub fn launch(
        x: &CudaStorage,
        layout: &Layout,
        norm_rope: Option<&NormRope>,
    ) -> Result<CudaStorage> {
        let (batch, tokens, heads, _) = layout.shape().dims4()?;
        let [sb, sl, sh, _] = layout.stride() else {
            candle_core::bail!("attention-heads kernels take (batch, tokens, heads, head_dim)")
        };
        let device = x.device.clone();
        let input = bf16(x)?.slice(layout.start_offset()..);
        let rows = batch * tokens * heads;
        // SAFETY: the kernel writes every element of the output before anything reads it.
        let out = unsafe { device.alloc::<half::bf16>(rows * HEAD_DIM)? };
        let name = if norm_rope.is_some() {
            "norm_rope"
        } else {
            "gather"
        };
        let func = device.get_or_load_custom_func(name, MODULE, SOURCE.ptx()?)?;
        let config = LaunchConfig {
            grid_dim: (rows.div_ceil(WARPS_PER_BLOCK) as u32, 1, 1),
            block_dim: (32 * WARPS_PER_BLOCK as u32, 1, 1),
            shared_mem_bytes: 0,
        };
        let (rows_l, tokens_i, heads_i) = (rows as i64, tokens as i32, heads as i32);
        let (sb, sl, sh) = (*sb as i64, *sl as i64, *sh as i64);
        match norm_rope {
            None => {
                let mut args = func.builder();
                args.arg(&input)
                    .arg(&out)
                    .arg(&rows_l)
                    .arg(&tokens_i)
                    .arg(&heads_i);
                args.arg(&sb).arg(&sl).arg(&sh);
                // SAFETY: the arguments match `gather` in heads.cu; every row read lies in the
                // view its layout describes, every row written in `out`.
                unsafe { args.launch(config) }.w()?;
            }
            Some(op) => {
                let (scale_storage, ls) = op.scale.storage_and_layout();
                let (cos_storage, lc) = op.cos.storage_and_layout();
                let (sin_storage, ln) = op.sin.storage_and_layout();
                let scale = operand(&scale_storage, ls)?;
                let cos = operand(&cos_storage, lc)?;
                let sin = operand(&sin_storage, ln)?;
                if scale.len() < HEAD_DIM
                    || cos.len() < tokens * heads * HEAD_DIM / 2
                    || sin.len() < cos.len()
                {
                    candle_core::bail!("attention heads: the norm scale or rotary tables are too small for {tokens} tokens of {heads} heads")
                }
                let mut args = func.builder();
                args.arg(&input).arg(&scale).arg(&cos).arg(&sin).arg(&out);
                args.arg(&rows_l).arg(&tokens_i).arg(&heads_i);
                args.arg(&sb).arg(&sl).arg(&sh).arg(&op.eps);
                // SAFETY: the arguments match `norm_rope` in heads.cu; the operands' sizes
                // were checked above, every row read lies in the view, every row written in
                // `out`.
                unsafe { args.launch(config) }.w()?;
            }
        }
        Ok(bf16_storage(out, device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_time_check_passes_on_the_cpu() {
        assert!(check(&Device::Cpu).unwrap());
    }

    #[test]
    fn norm_rope_normalizes_then_rotates_each_pair() {
        // One head of four values (head_dim 4 takes candle's path on every device).
        let cpu = &Device::Cpu;
        let x = Tensor::new(&[3f32, 4.0, 0.0, 0.0], cpu)
            .unwrap()
            .reshape((1, 1, 1, 4))
            .unwrap();
        let scale = Tensor::new(&[1f32, 1.0, 2.0, 2.0], cpu).unwrap();
        // Pair 0 turned a quarter, pair 1 not at all.
        let cos = Tensor::new(&[[0f32, 1.0]], cpu).unwrap();
        let sin = Tensor::new(&[[1f32, 0.0]], cpu).unwrap();
        let y = norm_rope(&x, &scale, &cos, &sin, 0.0, true)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        // rms = √((9 + 16) / 4) = 2.5: (1.2, 1.6, 0, 0), pair 0 → (-1.6, 1.2).
        let expected = [-1.6f32, 1.2, 0.0, 0.0];
        for (a, b) in y.iter().zip(expected) {
            assert!((a - b).abs() < 1e-5, "{y:?}");
        }
    }
}
