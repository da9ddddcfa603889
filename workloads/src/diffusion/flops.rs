//! Work per denoising step, counted from the transformer's shapes, and the device's measured
//! matrix-multiply rate to hold it against.
//!
//! Both block kinds of FLUX cost the same per step: every token passes through 12·h² weights
//! of its block (double blocks: its own stream's qkv 3h², projection h², MLP 8h²; single
//! blocks: the fused 7h² and 5h² linears), that is 24·L·h² FLOPs for L tokens, and joint
//! attention over all L tokens adds 4·L²·h (QKᵀ and AV). The modulation layers act on one
//! vector per image, not per token, and are left out with the embedders' small terms.

use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::flux::model;

/// FLOPs of one transformer forward (one denoising step) for `batch` images of `image_tokens`
/// latent patches each and `text_tokens` T5 tokens.
pub fn step_flops(
    cfg: &model::Config,
    image_tokens: usize,
    text_tokens: usize,
    batch: usize,
) -> f64 {
    let h = cfg.hidden_size as f64;
    let l = (image_tokens + text_tokens) as f64;
    let blocks = (cfg.depth + cfg.depth_single_blocks) as f64;
    let per_block = 24.0 * l * h * h + 4.0 * l * l * h;
    // Input projections (latent patches and T5 features) and the final projection.
    let io = 2.0 * image_tokens as f64 * cfg.in_channels as f64 * h * 2.0
        + 2.0 * text_tokens as f64 * cfg.context_in_dim as f64 * h;
    batch as f64 * (blocks * per_block + io)
}

/// The rate of square matrix multiplies of size `n` in `dtype` on `device`, FLOP/s: the best
/// of repeated runs over about `budget` (after one warm-up).
pub fn matmul_rate(
    device: &Device,
    dtype: DType,
    n: usize,
    budget: Duration,
) -> candle_core::Result<f64> {
    let a = Tensor::randn(0f32, 1.0, (n, n), device)?.to_dtype(dtype)?;
    let b = Tensor::randn(0f32, 1.0, (n, n), device)?.to_dtype(dtype)?;
    a.matmul(&b)?;
    device.synchronize()?;
    let started = Instant::now();
    let mut best = f64::INFINITY;
    while started.elapsed() < budget {
        let t = Instant::now();
        a.matmul(&b)?;
        device.synchronize()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(2.0 * (n as f64).powi(3) / best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flux_dev_at_1024_is_about_74_teraflops_a_step() {
        // 1024² pixels: 64×64 latent patches; 512 T5 tokens.
        let flops = step_flops(&model::Config::dev(), 4096, 512, 1);
        // 57 blocks × (24·4608·3072² + 4·4608²·3072) plus the projections, by hand: 7.44e13.
        assert!((flops / 7.44e13 - 1.0).abs() < 0.01, "{flops:e}");
        assert_eq!(step_flops(&model::Config::dev(), 4096, 512, 2), 2.0 * flops);
    }
}
