//! What bench's fused kernels cost beside the candle operations they replace.
//!
//! - Flash attention, every [`Kernel`], against plain attention (scores in memory), at the
//!   shapes the engines run: FLUX.1-dev's joint attention at 1024² (24 heads, 4,608 tokens)
//!   and a Qwen3-8B prefill (32 query heads over 8 key/value heads, causal) of 2,048 and
//!   8,192 tokens. Throughput counts floating-point operations (`elem/s` is FLOP/s): 4 × queries
//!   × keys × head_dim per head, halved under the causal mask.
//! - The row-wise kernels (bias, bias + GELU, modulation, gated residual) against candle's
//!   broadcast operations at FLUX.1-dev's widest activation (4,608 × 12,288). Throughput counts
//!   the bytes the operation must move at least.
//!
//! On a CUDA build with a GPU (`cargo bench -p bench-workloads --features cuda --bench
//! kernels`; `ci/build-cuda.sh` builds it as `dist/kernels-cuda`) the shapes are full size. On
//! the CPU the kernels are their references, so the shapes shrink to keep the run short: those
//! figures say nothing about the GPU.

use candle_core::{DType, Device, Tensor};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

use bench_workloads::kernels::flash_attention::{self, FlashAttention, Kernel, HEAD_DIM};
use bench_workloads::kernels::rowwise;
use bench_workloads::llm::{open_device, DeviceChoice};

/// The device the shapes run on: the first GPU when the build and machine have one, opened as
/// the engines open it (its memory pool keeping freed memory, so each iteration's output reuses
/// the last one's instead of mapping memory afresh).
fn device() -> Device {
    open_device(DeviceChoice::Cuda).unwrap_or(Device::Cpu)
}

/// One attention shape: query heads, key/value heads, queries (= keys), causal.
struct Shape {
    name: &'static str,
    heads: usize,
    kv_heads: usize,
    tokens: usize,
    causal: bool,
}

const SHAPES: [Shape; 3] = [
    Shape {
        name: "flux-dev-1024",
        heads: 24,
        kv_heads: 24,
        tokens: 4608,
        causal: false,
    },
    Shape {
        name: "qwen3-8b-2048",
        heads: 32,
        kv_heads: 8,
        tokens: 2048,
        causal: true,
    },
    Shape {
        name: "qwen3-8b-8192",
        heads: 32,
        kv_heads: 8,
        tokens: 8192,
        causal: true,
    },
];

fn random(shape: &[usize], device: &Device) -> Tensor {
    Tensor::randn(0f32, 1.0, shape, device)
        .and_then(|t| t.to_dtype(DType::BF16))
        .expect("random tensor")
}

fn attention(c: &mut Criterion) {
    let device = device();
    let gpu = device.is_cuda();
    let mut group = c.benchmark_group("attention");
    group.sample_size(10);
    for shape in SHAPES {
        // The CPU reference is O(n²) in f64: a sliver of the shape.
        let (heads, kv_heads, tokens) = if gpu {
            (shape.heads, shape.kv_heads, shape.tokens)
        } else {
            (2, 2.min(shape.kv_heads), 64)
        };
        let q = random(&[1, heads, tokens, HEAD_DIM], &device);
        let k = random(&[1, kv_heads, tokens, HEAD_DIM], &device);
        let v = random(&[1, kv_heads, tokens, HEAD_DIM], &device);
        let pairs = (tokens * tokens) as u64 / if shape.causal { 2 } else { 1 };
        group.throughput(Throughput::Elements(4 * pairs * (heads * HEAD_DIM) as u64));
        let scale = 1.0 / (HEAD_DIM as f32).sqrt();
        let causal = shape.causal.then_some(0);
        let kernels: &[Kernel] = if gpu { &Kernel::ALL } else { &Kernel::ALL[..1] };
        for &kernel in kernels {
            let op = FlashAttention {
                scale,
                causal,
                kernel,
            };
            group.bench_function(BenchmarkId::new(kernel.name(), shape.name), |b| {
                b.iter(|| {
                    op.apply(&q, &k, &v).expect("flash attention");
                    device.synchronize().expect("synchronize");
                })
            });
        }
        // Plain attention's scores for 8,192 tokens take 8 GiB: FLUX's and the short prefill
        // only.
        if !gpu || tokens <= 4608 {
            group.bench_function(BenchmarkId::new("plain", shape.name), |b| {
                b.iter(|| {
                    flash_attention::plain(&q, &k, &v, scale, causal).expect("plain attention");
                    device.synchronize().expect("synchronize");
                })
            });
        }
    }
    group.finish();
}

fn rowwise_ops(c: &mut Criterion) {
    let device = device();
    let fused_ok = rowwise::check(&device).unwrap_or(false);
    let (rows, cols) = if device.is_cuda() {
        (4608, 12288)
    } else {
        (64, 256)
    };
    let x = random(&[1, rows, cols], &device);
    let other = random(&[1, rows, cols], &device);
    let bias = random(&[cols], &device);
    let per_batch = random(&[1, 1, cols], &device);
    let bytes = (rows * cols * 2) as u64; // bf16
    let mut group = c.benchmark_group("rowwise");
    group.sample_size(20);
    let paths: &[(bool, &str)] = if fused_ok {
        &[(true, "kernel"), (false, "candle")]
    } else {
        &[(false, "candle")]
    };
    for &(fused, path) in paths {
        // Read x and write the result: 2 × bytes; the residual adds a read.
        group.throughput(Throughput::Bytes(2 * bytes));
        group.bench_function(BenchmarkId::new("add_bias", path), |b| {
            b.iter(|| {
                rowwise::add_bias(&x, &bias, fused).expect("bias");
                device.synchronize().expect("synchronize");
            })
        });
        group.bench_function(BenchmarkId::new("add_bias_gelu", path), |b| {
            b.iter(|| {
                rowwise::add_bias_gelu(&x, &bias, fused).expect("bias and GELU");
                device.synchronize().expect("synchronize");
            })
        });
        group.bench_function(BenchmarkId::new("modulate", path), |b| {
            b.iter(|| {
                rowwise::modulate(&x, &per_batch, &per_batch, fused).expect("modulate");
                device.synchronize().expect("synchronize");
            })
        });
        group.throughput(Throughput::Bytes(3 * bytes));
        group.bench_function(BenchmarkId::new("gated_residual", path), |b| {
            b.iter(|| {
                rowwise::gated_residual(&other, &per_batch, &x, fused).expect("gated residual");
                device.synchronize().expect("synchronize");
            })
        });
    }
    group.finish();
}

/// The layer norm and modulation before each FLUX attention and MLP, at FLUX.1-dev's image
/// tokens and width: one pass of `norm_modulate` against candle's norm then modulation.
fn norm_ops(c: &mut Criterion) {
    let device = device();
    let fused_ok = rowwise::check(&device).unwrap_or(false);
    let (rows, cols) = if device.is_cuda() {
        (4608, 3072)
    } else {
        (64, 256)
    };
    let x = random(&[1, rows, cols], &device);
    let per_batch = random(&[1, 1, cols], &device);
    let mut group = c.benchmark_group("norm");
    group.sample_size(20);
    // Read x and write the result.
    group.throughput(Throughput::Bytes(2 * (rows * cols * 2) as u64));
    let paths: &[(bool, &str)] = if fused_ok {
        &[(true, "kernel"), (false, "candle")]
    } else {
        &[(false, "candle")]
    };
    for &(fused, path) in paths {
        group.bench_function(BenchmarkId::new("norm_modulate", path), |b| {
            b.iter(|| {
                rowwise::norm_modulate(&x, &per_batch, &per_batch, 1e-6, fused)
                    .expect("norm and modulation");
                device.synchronize().expect("synchronize");
            })
        });
    }
    group.finish();
}

criterion_group!(kernels, attention, rowwise_ops, norm_ops);
criterion_main!(kernels);
