//! Attention as one operation that never stores the scores: softmax(q kᵀ · scale) v, with
//! grouped key/value heads and an optional causal mask, for bf16 on NVIDIA GPUs.
//!
//! Plain attention writes heads × queries × keys scores and reads them back twice: for FLUX.1-dev
//! at 1024² that is 1 GB per block and step, for a 8,192-token Qwen3-8B prefill 4 GB per layer
//! (f32 scores). The CUDA kernels (`flash_attention.cu`, FlashAttention-2's forward pass on
//! tensor cores) keep each tile of scores in registers instead. They are compiled at run time
//! with NVRTC and cannot be tested on a machine without a GPU, so engines call [`check`] at
//! load: each kernel is compared with plain attention on the device, and the first that agrees
//! is used (else plain attention, with a warning). The CPU implementation here is the reference
//! the tests check the plain path against.

use candle_core::{CpuStorage, CustomOp3, DType, Device, Layout, Result, Shape, Tensor};

use super::max_difference;

/// The head dimension the GPU kernels are built for (Qwen3's and FLUX's).
pub const HEAD_DIM: usize = 128;

/// Which GPU kernel computes the attention. They compute the same thing with different rows
/// per block; [`Kernel::ALL`] lists them in the order the load-time [`check`] tries them,
/// fastest first (by `workloads/benches/kernels.rs` on an H100: 1.41 against 1.47 ms for
/// FLUX.1-dev's attention).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// 64 query rows a block (4 warps), 3 blocks an SM.
    Pipelined,
    /// 128 query rows a block (8 warps): each key and value tile serves twice the rows.
    PipelinedWide,
}

impl Kernel {
    /// Every kernel, in the order [`check`] tries them.
    pub const ALL: [Kernel; 2] = [Kernel::Pipelined, Kernel::PipelinedWide];

    /// The kernel's name in `flash_attention.cu`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Pipelined => "flash_attention_pipelined",
            Kernel::PipelinedWide => "flash_attention_pipelined_wide",
        }
    }

    /// Query rows one thread block takes (16 a warp).
    pub fn rows_per_block(self) -> usize {
        match self {
            Kernel::Pipelined => 64,
            Kernel::PipelinedWide => 128,
        }
    }
}

/// softmax(q kᵀ · `scale`) v for q (batch, heads, queries, [`HEAD_DIM`]) and k, v (batch,
/// kv_heads, keys, [`HEAD_DIM`]); the result is (batch, queries, heads, head_dim), the layout
/// an output projection reads. Query head `h` attends with key/value head
/// `h / (heads / kv_heads)`.
#[derive(Debug, Clone, Copy)]
pub struct FlashAttention {
    /// Applied to the scores before the softmax (usually 1 / √head_dim).
    pub scale: f32,
    /// `Some(offset)`: query `i` is at position `offset + i` and sees keys `0..=offset + i`
    /// (a causal prefill after `offset` cached positions). `None`: every key.
    pub causal: Option<usize>,
    /// The GPU kernel; the CPU ignores it.
    pub kernel: Kernel,
}

impl FlashAttention {
    /// Attend `q` to `k` and `v`. Any strides serve, as long as the head dimension is
    /// contiguous; others are copied first.
    pub fn apply(&self, q: &Tensor, k: &Tensor, v: &Tensor) -> Result<Tensor> {
        let (_, heads, _, d) = q.dims4()?;
        let (_, kv_heads, keys, _) = k.dims4()?;
        let values = v.dims4()?.2;
        if values != keys || kv_heads == 0 || heads % kv_heads != 0 {
            candle_core::bail!(
                "flash-attention: {heads} query heads over {kv_heads} key/value heads, {keys} keys and {values} values"
            )
        }
        if q.device().is_cuda() && d != HEAD_DIM {
            candle_core::bail!(
                "flash-attention: the GPU kernels take a head dimension of {HEAD_DIM}, not {d}"
            )
        }
        let (q, k, v) = (aligned(q)?, aligned(k)?, aligned(v)?);
        q.apply_op3_no_bwd(&k, &v, self)
    }
}

/// `t` itself when its head dimension is contiguous and its offset and strides are multiples of
/// 8 elements (the GPU kernels load 16 bytes at a time), else a contiguous copy.
fn aligned(t: &Tensor) -> Result<Tensor> {
    let stride = t.stride();
    let ok = stride.last() == Some(&1)
        && t.layout().start_offset().is_multiple_of(8)
        && stride.iter().rev().skip(1).all(|s| s.is_multiple_of(8));
    if ok {
        Ok(t.clone())
    } else {
        t.contiguous()
    }
}

/// Where element (batch, head, row, 0) of a 4-d layout starts, and its three outer strides.
#[derive(Debug, Clone, Copy)]
struct Strides {
    start: usize,
    batch: usize,
    head: usize,
    row: usize,
}

impl Strides {
    fn of(layout: &Layout) -> Result<Self> {
        match layout.stride() {
            [batch, head, row, 1] => Ok(Self {
                start: layout.start_offset(),
                batch: *batch,
                head: *head,
                row: *row,
            }),
            _ => candle_core::bail!("flash-attention: the head dimension must be contiguous"),
        }
    }

    fn at(&self, b: usize, h: usize, r: usize) -> usize {
        self.start + b * self.batch + h * self.head + r * self.row
    }
}

impl FlashAttention {
    /// The reference: each query's scores, max, sum and weighted values, in f64.
    fn cpu<T: candle_core::WithDType>(
        &self,
        (q, lq): (&[T], &Layout),
        (k, lk): (&[T], &Layout),
        (v, lv): (&[T], &Layout),
    ) -> Result<Vec<T>> {
        let (batch, heads, queries, d) = lq.shape().dims4()?;
        let (_, kv_heads, keys, _) = lk.shape().dims4()?;
        let (sq, sk, sv) = (Strides::of(lq)?, Strides::of(lk)?, Strides::of(lv)?);
        let group = heads / kv_heads;
        let mut out = vec![T::zero(); batch * queries * heads * d];
        let mut scores = vec![0f64; keys];
        for b in 0..batch {
            for h in 0..heads {
                let kvh = h / group;
                for i in 0..queries {
                    let visible = match self.causal {
                        Some(offset) => keys.min(offset + i + 1),
                        None => keys,
                    };
                    let qi = sq.at(b, h, i);
                    for (j, score) in scores[..visible].iter_mut().enumerate() {
                        let kj = sk.at(b, kvh, j);
                        let dot: f64 = (0..d)
                            .map(|x| q[qi + x].to_f64() * k[kj + x].to_f64())
                            .sum();
                        *score = dot * f64::from(self.scale);
                    }
                    let max = scores[..visible]
                        .iter()
                        .copied()
                        .fold(f64::NEG_INFINITY, f64::max);
                    let weights: Vec<f64> =
                        scores[..visible].iter().map(|s| (s - max).exp()).collect();
                    let sum: f64 = weights.iter().sum();
                    let o = ((b * queries + i) * heads + h) * d;
                    for x in 0..d {
                        let value: f64 = weights
                            .iter()
                            .enumerate()
                            .map(|(j, w)| w * v[sv.at(b, kvh, j) + x].to_f64())
                            .sum();
                        out[o + x] = T::from_f64(if sum > 0.0 { value / sum } else { 0.0 });
                    }
                }
            }
        }
        Ok(out)
    }

    fn output_shape(lq: &Layout) -> Result<Shape> {
        let (batch, heads, queries, d) = lq.shape().dims4()?;
        Ok(Shape::from((batch, queries, heads, d)))
    }
}

impl CustomOp3 for FlashAttention {
    fn name(&self) -> &'static str {
        "flash-attention"
    }

    fn cpu_fwd(
        &self,
        q: &CpuStorage,
        lq: &Layout,
        k: &CpuStorage,
        lk: &Layout,
        v: &CpuStorage,
        lv: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let out = match (q, k, v) {
            (CpuStorage::F32(q), CpuStorage::F32(k), CpuStorage::F32(v)) => {
                CpuStorage::F32(self.cpu((q, lq), (k, lk), (v, lv))?)
            }
            (CpuStorage::BF16(q), CpuStorage::BF16(k), CpuStorage::BF16(v)) => {
                CpuStorage::BF16(self.cpu((q, lq), (k, lk), (v, lv))?)
            }
            (CpuStorage::F16(q), CpuStorage::F16(k), CpuStorage::F16(v)) => {
                CpuStorage::F16(self.cpu((q, lq), (k, lk), (v, lv))?)
            }
            _ => candle_core::bail!("flash-attention: q, k and v must share one float dtype"),
        };
        Ok((out, Self::output_shape(lq)?))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        q: &candle_core::CudaStorage,
        lq: &Layout,
        k: &candle_core::CudaStorage,
        lk: &Layout,
        v: &candle_core::CudaStorage,
        lv: &Layout,
    ) -> Result<(candle_core::CudaStorage, Shape)> {
        let out = cuda::forward(self, (q, lq), (k, lk), (v, lv))?;
        Ok((out, Self::output_shape(lq)?))
    }
}

/// Plain attention on any device, as the engines compute it without this operation: the
/// scores in f32, softmax, then the values; the result in [`FlashAttention`]'s layout.
pub fn plain(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    scale: f32,
    causal: Option<usize>,
) -> Result<Tensor> {
    let (b, heads, queries, d) = q.dims4()?;
    let (_, kv_heads, keys, _) = k.dims4()?;
    let group = heads / kv_heads.max(1);
    let f = |t: &Tensor| t.to_dtype(DType::F32);
    // Grouped heads: repeat each key/value head for its queries.
    let repeat = |t: &Tensor| -> Result<Tensor> {
        f(t)?
            .unsqueeze(2)?
            .broadcast_as((b, kv_heads, group, keys, d))?
            .reshape((b, heads, keys, d))
    };
    let (k, v) = (repeat(k)?, repeat(v)?);
    let mut scores = (f(q)?.contiguous()?.matmul(&k.t()?.contiguous()?)? * f64::from(scale))?;
    if let Some(offset) = causal {
        let mask: Vec<f32> = (0..queries)
            .flat_map(|i| {
                (0..keys).map(move |j| {
                    if j > offset + i {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
            })
            .collect();
        let mask = Tensor::from_vec(mask, (queries, keys), q.device())?;
        scores = scores.broadcast_add(&mask)?;
    }
    let probabilities = candle_nn::ops::softmax_last_dim(&scores)?;
    probabilities
        .matmul(&v.contiguous()?)?
        .transpose(1, 2)?
        .to_dtype(q.dtype())
}

/// The first GPU kernel that agrees with [`plain`] attention on `device` (bf16), over shapes
/// that exercise every path: lengths that are not multiples of the tiles, grouped heads, a
/// causal mask after cached positions, and keys read through a cache's strides. `Ok(None)` when
/// none agrees; the engines then keep plain attention.
pub fn check(device: &Device) -> Result<Option<Kernel>> {
    // 200 queries after 45 cached positions: tiles with and without a mask in every kernel's
    // blocks, and lengths that are not multiples of the tiles.
    let (batch, heads, kv_heads, queries, offset) = (2, 4, 2, 200, 45);
    let keys = offset + queries;
    let rand = |shape: (usize, usize, usize, usize)| -> Result<Tensor> {
        Tensor::randn(0f32, 1.0, shape, device)?.to_dtype(DType::BF16)
    };
    let q = rand((batch, heads, queries, HEAD_DIM))?;
    // A cache with room for more positions than are filled: read in place, with its strides.
    let k = rand((batch, kv_heads, keys + 40, HEAD_DIM))?.narrow(2, 0, keys)?;
    let v = rand((batch, kv_heads, keys + 40, HEAD_DIM))?.narrow(2, 0, keys)?;
    let scale = 1.0 / (HEAD_DIM as f32).sqrt();
    for kernel in Kernel::ALL {
        let mut agrees = true;
        for causal in [Some(offset), None] {
            let op = FlashAttention {
                scale,
                causal,
                kernel,
            };
            let diff = max_difference(&op.apply(&q, &k, &v)?, &plain(&q, &k, &v, scale, causal)?)?;
            if diff.is_nan() || diff > 2e-2 {
                tracing::warn!(
                    "flash-attention kernel {} differs from plain attention by {diff} (causal: {})",
                    kernel.name(),
                    causal.is_some()
                );
                agrees = false;
            }
        }
        if agrees {
            return Ok(Some(kernel));
        }
    }
    Ok(None)
}

/// The kernel an engine uses for `dtype` on `device` with heads `head_dim` wide: the first that
/// agrees with plain attention ([`check`]), or none when the kernels do not serve that case or
/// none agrees (a warning then says so, ending with `fallback`, what the engine does instead).
pub fn choose(device: &Device, dtype: DType, head_dim: usize, fallback: &str) -> Option<Kernel> {
    if !(device.is_cuda() && dtype == DType::BF16 && head_dim == HEAD_DIM) {
        return None;
    }
    match check(device) {
        Ok(Some(kernel)) => Some(kernel),
        Ok(None) => {
            tracing::warn!(
                "no flash-attention kernel agrees with plain attention on this GPU; {fallback}"
            );
            None
        }
        Err(e) => {
            tracing::warn!("flash attention is unavailable ({e}); {fallback}");
            None
        }
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use candle_core::cuda_backend::cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
    use candle_core::cuda_backend::WrapErr;
    use candle_core::{CudaStorage, Layout, Result};

    use crate::kernels::nvrtc::{bf16_storage, Source};

    use super::{FlashAttention, Strides};

    static SOURCE: Source = Source::new("flash_attention.cu", include_str!("flash_attention.cu"));
    const MODULE: &str = "bench_flash_attention";

    fn bf16(storage: &CudaStorage) -> Result<&CudaSlice<half::bf16>> {
        crate::kernels::nvrtc::bf16_slice(storage, "flash-attention: the GPU kernels")
    }

    pub fn forward(
        op: &FlashAttention,
        (q, lq): (&CudaStorage, &Layout),
        (k, lk): (&CudaStorage, &Layout),
        (v, lv): (&CudaStorage, &Layout),
    ) -> Result<CudaStorage> {
        let (batch, heads, queries, d) = lq.shape().dims4()?;
        let (_, kv_heads, keys, _) = lk.shape().dims4()?;
        let (sq, sk, sv) = (Strides::of(lq)?, Strides::of(lk)?, Strides::of(lv)?);
        if op.scale <= 0.0 {
            // The kernels take each row's maximum before scaling.
            candle_core::bail!(
                "flash-attention: the GPU kernels take a positive scale, not {}",
                op.scale
            )
        }
        let device = q.device.clone();
        let (qs, ks, vs) = (bf16(q)?, bf16(k)?, bf16(v)?);
        let (qv, kv, vv) = (
            qs.slice(sq.start..),
            ks.slice(sk.start..),
            vs.slice(sv.start..),
        );
        // SAFETY: the kernel writes every element of the output before anything reads it.
        let out = unsafe { device.alloc::<half::bf16>(batch * queries * heads * d)? };
        let func = device.get_or_load_custom_func(op.kernel.name(), MODULE, SOURCE.ptx()?)?;
        let rows = op.kernel.rows_per_block();
        let config = LaunchConfig {
            grid_dim: (queries.div_ceil(rows) as u32, heads as u32, batch as u32),
            // A warp for every 16 rows.
            block_dim: (2 * rows as u32, 1, 1),
            shared_mem_bytes: 0,
        };
        let int = |x: usize| x as i32;
        let long = |x: usize| x as i64;
        let (heads_i, kv_heads_i, queries_i, keys_i) =
            (int(heads), int(kv_heads), int(queries), int(keys));
        let strides = [
            long(sq.batch),
            long(sq.head),
            long(sq.row),
            long(sk.batch),
            long(sk.head),
            long(sk.row),
            long(sv.batch),
            long(sv.head),
            long(sv.row),
            long(queries * heads * d),
            long(d),
            long(heads * d),
        ];
        let scale_log2 = op.scale * std::f32::consts::LOG2_E;
        let causal = int(usize::from(op.causal.is_some()));
        let offset = int(op.causal.unwrap_or(0));
        let mut args = func.builder();
        args.arg(&qv).arg(&kv).arg(&vv).arg(&out);
        args.arg(&heads_i)
            .arg(&kv_heads_i)
            .arg(&queries_i)
            .arg(&keys_i);
        for s in &strides {
            args.arg(s);
        }
        args.arg(&scale_log2).arg(&causal).arg(&offset);
        // SAFETY: the arguments match the kernels' signature in flash_attention.cu (pointers,
        // four ints, twelve longs, a float, two ints); every index they compute stays inside
        // the tensors their layouts describe.
        unsafe { args.launch(config) }.w()?;
        Ok(bf16_storage(out, device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        max_difference(a, b).unwrap()
    }

    fn rand(shape: (usize, usize, usize, usize)) -> Tensor {
        Tensor::randn(0f32, 1.0, shape, &Device::Cpu).unwrap()
    }

    #[test]
    fn the_reference_matches_plain_attention_with_grouped_heads_and_a_causal_offset() {
        let q = rand((2, 4, 5, 8));
        let k = rand((2, 2, 9, 8));
        let v = rand((2, 2, 9, 8));
        for causal in [Some(4), None] {
            let op = FlashAttention {
                scale: 0.35,
                causal,
                kernel: Kernel::Pipelined,
            };
            let ours = op.apply(&q, &k, &v).unwrap();
            assert_eq!(ours.dims(), &[2, 5, 4, 8]);
            let diff = max_diff(&ours, &plain(&q, &k, &v, 0.35, causal).unwrap());
            assert!(diff < 1e-5, "causal {causal:?}: {diff}");
        }
    }

    #[test]
    fn strided_inputs_read_in_place_give_what_contiguous_copies_give() {
        // Queries as (batch, seq, heads, dim) seen through a transpose; keys as a cache with
        // spare room, narrowed.
        let q = rand((1, 6, 4, 8)).transpose(1, 2).unwrap();
        let k = rand((1, 2, 12, 8)).narrow(2, 0, 7).unwrap();
        let v = rand((1, 2, 12, 8)).narrow(2, 0, 7).unwrap();
        let op = FlashAttention {
            scale: 0.5,
            causal: Some(1),
            kernel: Kernel::PipelinedWide,
        };
        let strided = op.apply(&q, &k, &v).unwrap();
        let copied = op
            .apply(
                &q.contiguous().unwrap(),
                &k.contiguous().unwrap(),
                &v.contiguous().unwrap(),
            )
            .unwrap();
        assert_eq!(max_diff(&strided, &copied), 0.0);
    }

    #[test]
    fn a_causal_first_query_sees_only_the_first_key() {
        let q = rand((1, 1, 3, 4));
        let k = rand((1, 1, 3, 4));
        let v = rand((1, 1, 3, 4));
        let op = FlashAttention {
            scale: 1.0,
            causal: Some(0),
            kernel: Kernel::Pipelined,
        };
        let out = op.apply(&q, &k, &v).unwrap();
        let first = out.narrow(1, 0, 1).unwrap().flatten_all().unwrap();
        let v0 = v.narrow(2, 0, 1).unwrap().flatten_all().unwrap();
        assert!(max_diff(&first, &v0) < 1e-6);
    }

    #[test]
    fn mismatched_heads_are_refused() {
        let op = FlashAttention {
            scale: 1.0,
            causal: None,
            kernel: Kernel::Pipelined,
        };
        let err = op
            .apply(
                &rand((1, 3, 2, 4)),
                &rand((1, 2, 2, 4)),
                &rand((1, 2, 2, 4)),
            )
            .unwrap_err();
        assert!(err.to_string().contains("3 query heads over 2"), "{err}");
    }

    #[test]
    fn the_load_time_check_runs_on_the_cpu() {
        // On the CPU every kernel is the reference: the first is chosen.
        assert_eq!(check(&Device::Cpu).unwrap(), Some(Kernel::ALL[0]));
    }
}
