//! Attention heads out of a projection in one pass: a (batch, tokens, heads, head_dim) view of
//! a projection's output, with any strides, made contiguous ([`gather`]), or made contiguous,
//! RMS-normalized and rotated by the rotary embedding ([`norm_rope`]); or two streams' views
//! joined along the tokens on the way ([`gather_joined`], [`norm_rope_joined`]), as FLUX's
//! double blocks attend over text and image tokens together.
//!
//! candle does the second in four passes: a strided copy (which computes every element's index
//! through the shape: on an H100 FLUX.1-dev's copies took 60 ms of a 493 ms step), the norm,
//! and the rotation's read and write. When `fused` is set and the view is bf16 on a CUDA device
//! with a head dimension of 128, one kernel of `heads.cu` runs instead (compiled at run time, so
//! engines call [`check`] at load and set `fused` from it); otherwise candle's operations
//! compute the same thing.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Device, Layout, Result, Shape, Tensor};

/// The head dimension the kernels take (FLUX's and Qwen3's).
pub const HEAD_DIM: usize = 128;

/// `x` (batch, tokens, heads, head_dim), contiguous.
pub fn gather(x: &Tensor, fused: bool) -> Result<Tensor> {
    if use_kernel(x, fused) {
        return x.apply_op1_no_bwd(&Heads { norm_rope: None });
    }
    x.contiguous()
}

/// `first` and `second` (batch, tokens, heads, head_dim) joined along the tokens, contiguous:
/// in one pass when the kernel serves both, where candle gathers each and then copies both.
pub fn gather_joined(first: &Tensor, second: &Tensor, fused: bool) -> Result<Tensor> {
    if use_kernel(first, fused) && use_kernel(second, fused) {
        return first.apply_op2_no_bwd(second, &Heads { norm_rope: None });
    }
    Tensor::cat(&[first.contiguous()?, second.contiguous()?], 1)
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
    if let Some(op) = NormRope::for_kernel([x], [scale], cos, sin, eps, fused) {
        return x.apply_op1_no_bwd(&op);
    }
    let (b, l, h, d) = x.dims4()?;
    let normed = candle_nn::ops::rms_norm(&x.contiguous()?, scale, eps)?;
    candle_nn::rotary_emb::rope_i(&normed.reshape((b, 1, l * h, d))?, cos, sin)?
        .reshape((b, l, h, d))
}

/// [`norm_rope`] of two streams' heads joined along the tokens, `first`'s then `second`'s, each
/// with its own norm scale; `cos` and `sin` cover the joined tokens. One pass when the kernel
/// serves both, where candle takes each stream's passes and then copies both.
pub fn norm_rope_joined(
    [(first, first_scale), (second, second_scale)]: [(&Tensor, &Tensor); 2],
    cos: &Tensor,
    sin: &Tensor,
    eps: f32,
    fused: bool,
) -> Result<Tensor> {
    if let Some(op) = NormRope::for_kernel(
        [first, second],
        [first_scale, second_scale],
        cos,
        sin,
        eps,
        fused,
    ) {
        return first.apply_op2_no_bwd(second, &op);
    }
    let (_, first_tokens, heads, _) = first.dims4()?;
    let split = first_tokens * heads;
    let rest = cos.dim(0)? - split;
    Tensor::cat(
        &[
            norm_rope(
                first,
                first_scale,
                &cos.narrow(0, 0, split)?,
                &sin.narrow(0, 0, split)?,
                eps,
                false,
            )?,
            norm_rope(
                second,
                second_scale,
                &cos.narrow(0, split, rest)?,
                &sin.narrow(0, split, rest)?,
                eps,
                false,
            )?,
        ],
        1,
    )
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

/// Whether both kernels, on one view and on two joined, agree with candle's operations on
/// `device` (bf16, random values, strided views as FLUX's projections give): engines set
/// `fused` from this at load.
pub fn check(device: &Device) -> Result<bool> {
    let (batch, tokens, heads) = (2, 5, 3);
    let rand = |shape: &[usize]| -> Result<Tensor> {
        Tensor::randn(0f32, 1.0, shape, device)?.to_dtype(DType::BF16)
    };
    // Keys of a (batch, tokens, 3, heads, head_dim) projection.
    let x = rand(&[batch, tokens, 3, heads, HEAD_DIM])?
        .narrow(2, 1, 1)?
        .squeeze(2)?;
    // Queries of another stream's projection, joined after `x`.
    let other_tokens = 4;
    let other = rand(&[batch, other_tokens, 3, heads, HEAD_DIM])?
        .narrow(2, 0, 1)?
        .squeeze(2)?;
    let scale = (rand(&[HEAD_DIM])? * 0.1)?.affine(1.0, 1.0)?;
    let other_scale = (rand(&[HEAD_DIM])? * 0.1)?.affine(1.0, 1.0)?;
    let joined_rows = (tokens + other_tokens) * heads;
    let angles = Tensor::rand(0f32, 6.0, (joined_rows, HEAD_DIM / 2), device)?;
    let (cos, sin) = (
        angles.cos()?.to_dtype(DType::BF16)?,
        angles.sin()?.to_dtype(DType::BF16)?,
    );
    let (own_cos, own_sin) = (
        cos.narrow(0, 0, tokens * heads)?,
        sin.narrow(0, 0, tokens * heads)?,
    );
    let both = |fused| {
        norm_rope_joined(
            [(&x, &scale), (&other, &other_scale)],
            &cos,
            &sin,
            1e-6,
            fused,
        )
    };
    let pairs = [
        (gather(&x, true)?, gather(&x, false)?),
        (
            norm_rope(&x, &scale, &own_cos, &own_sin, 1e-6, true)?,
            norm_rope(&x, &scale, &own_cos, &own_sin, 1e-6, false)?,
        ),
        (
            gather_joined(&x, &other, true)?,
            gather_joined(&x, &other, false)?,
        ),
        (both(true)?, both(false)?),
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

/// Strided views of heads (one, or two joined along the tokens) made contiguous (`gather`),
/// normalized and rotated on the way when `norm_rope` holds the operands.
struct Heads {
    norm_rope: Option<NormRope>,
}

/// RMS norm and rotation, with the operands the kernel reads beside the views: a norm scale
/// per view (the same one twice for a single view).
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
struct NormRope {
    scales: [Tensor; 2],
    cos: Tensor,
    sin: Tensor,
    eps: f32,
}

impl NormRope {
    /// The operation on the views `xs`, when the kernel serves them: every view as
    /// [`use_kernel`] asks, and the operands contiguous where the kernel reads them (the scale
    /// 8 bytes and the tables 4 bytes at a time).
    fn for_kernel<const N: usize>(
        xs: [&Tensor; N],
        scales: [&Tensor; N],
        cos: &Tensor,
        sin: &Tensor,
        eps: f32,
        fused: bool,
    ) -> Option<Heads> {
        let starts_at = |t: &Tensor, elements: usize| {
            t.is_contiguous() && t.layout().start_offset().is_multiple_of(elements)
        };
        let served = xs.iter().all(|x| use_kernel(x, fused))
            && scales.iter().all(|s| starts_at(s, 4))
            && starts_at(cos, 2)
            && starts_at(sin, 2);
        served.then(|| Heads {
            norm_rope: Some(NormRope {
                scales: [scales[0].clone(), scales[N - 1].clone()],
                cos: cos.clone(),
                sin: sin.clone(),
                eps,
            }),
        })
    }
}

const GPU_ONLY: &str =
    "attention-heads kernels run on CUDA only; other devices use candle's operations";

impl Heads {
    fn op_name(&self) -> &'static str {
        if self.norm_rope.is_some() {
            "norm-rope-heads"
        } else {
            "gather-heads"
        }
    }
}

impl CustomOp1 for Heads {
    fn name(&self) -> &'static str {
        self.op_name()
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
        cuda::launch((x, layout), None, self.norm_rope.as_ref())
    }
}

impl CustomOp2 for Heads {
    fn name(&self) -> &'static str {
        self.op_name()
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
        first: &candle_core::CudaStorage,
        first_layout: &Layout,
        second: &candle_core::CudaStorage,
        second_layout: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        cuda::launch(
            (first, first_layout),
            Some((second, second_layout)),
            self.norm_rope.as_ref(),
        )
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use candle_core::cuda_backend::cudarc::driver::{CudaView, LaunchConfig, PushKernelArg};
    use candle_core::cuda_backend::WrapErr;
    use candle_core::{CudaStorage, Layout, Result, Shape, Storage};

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

    /// The batch, token and head strides of a (batch, tokens, heads, head_dim) view.
    fn strides(layout: &Layout) -> Result<[i64; 3]> {
        match layout.stride() {
            [b, l, h, _] => Ok([*b as i64, *l as i64, *h as i64]),
            _ => {
                candle_core::bail!("attention-heads kernels take (batch, tokens, heads, head_dim)")
            }
        }
    }

    /// Run `gather` (`norm_rope` = None) or `norm_rope` over the view `first`, joined along
    /// the tokens with `second` when there is one. Returns the output and its shape.
    pub fn launch(
        (first, first_layout): (&CudaStorage, &Layout),
        second: Option<(&CudaStorage, &Layout)>,
        norm_rope: Option<&NormRope>,
    ) -> Result<(CudaStorage, Shape)> {
        let (batch, first_tokens, heads, _) = first_layout.shape().dims4()?;
        let second_tokens = match second {
            None => 0,
            Some((_, layout)) => {
                let (b, l, h, _) = layout.shape().dims4()?;
                if (b, h) != (batch, heads) {
                    candle_core::bail!(
                        "attention heads: joining {batch}×{heads} heads with {b}×{h}"
                    )
                }
                l
            }
        };
        // A single view is the first and, with no tokens, the second.
        let (second, second_layout) = second.unwrap_or((first, first_layout));
        let tokens = first_tokens + second_tokens;
        let device = first.device.clone();
        let first_input = bf16(first)?.slice(first_layout.start_offset()..);
        let second_input = bf16(second)?.slice(second_layout.start_offset()..);
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
        let (rows_l, tokens_i, first_i, heads_i) = (
            rows as i64,
            tokens as i32,
            first_tokens as i32,
            heads as i32,
        );
        let [fb, fl, fh] = strides(first_layout)?;
        let [sb, sl, sh] = strides(second_layout)?;
        match norm_rope {
            None => {
                let mut args = func.builder();
                args.arg(&first_input).arg(&second_input).arg(&out);
                args.arg(&rows_l).arg(&tokens_i).arg(&first_i).arg(&heads_i);
                args.arg(&fb).arg(&fl).arg(&fh).arg(&sb).arg(&sl).arg(&sh);
                // SAFETY: the arguments match `gather` in heads.cu; every row read lies in the
                // view its layout describes, every row written in `out`.
                unsafe { args.launch(config) }.w()?;
            }
            Some(op) => {
                let [first_scale, second_scale] = &op.scales;
                let (first_scale_storage, lf) = first_scale.storage_and_layout();
                let (second_scale_storage, ls) = second_scale.storage_and_layout();
                let (cos_storage, lc) = op.cos.storage_and_layout();
                let (sin_storage, ln) = op.sin.storage_and_layout();
                let first_scale = operand(&first_scale_storage, lf)?;
                let second_scale = operand(&second_scale_storage, ls)?;
                let cos = operand(&cos_storage, lc)?;
                let sin = operand(&sin_storage, ln)?;
                if first_scale.len() < HEAD_DIM
                    || second_scale.len() < HEAD_DIM
                    || cos.len() < tokens * heads * HEAD_DIM / 2
                    || sin.len() < cos.len()
                {
                    candle_core::bail!("attention heads: the norm scales or rotary tables are too small for {tokens} tokens of {heads} heads")
                }
                let mut args = func.builder();
                args.arg(&first_input).arg(&second_input);
                args.arg(&first_scale).arg(&second_scale);
                args.arg(&cos).arg(&sin).arg(&out);
                args.arg(&rows_l).arg(&tokens_i).arg(&first_i).arg(&heads_i);
                args.arg(&fb).arg(&fl).arg(&fh).arg(&sb).arg(&sl).arg(&sh);
                args.arg(&op.eps);
                // SAFETY: the arguments match `norm_rope` in heads.cu; the operands' sizes
                // were checked above, every row read lies in its view, every row written in
                // `out`.
                unsafe { args.launch(config) }.w()?;
            }
        }
        Ok((
            bf16_storage(out, device),
            Shape::from((batch, tokens, heads, HEAD_DIM)),
        ))
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
