//! FLUX's FLOPs per denoising step at an image size, counted by
//! [`crate::diffusion::flops::step_flops`].

use candle_transformers::models::flux::model;

/// Latent patches of a `width` × `height` image: the autoencoder downsamples 8× and the
/// transformer packs 2×2 latents into one token, so one token per 16×16 pixels.
pub fn flux_image_tokens(width: usize, height: usize) -> usize {
    width.div_ceil(16) * height.div_ceil(16)
}

/// FLOPs of one transformer forward for `batch` images of `width` × `height` pixels with
/// `text_tokens` T5 tokens (512 for FLUX-dev, 256 for schnell). Classifier-free guidance is
/// not used by FLUX-dev (guidance is an input), so one forward per step.
pub fn flux_step_flops(
    cfg: &model::Config,
    width: usize,
    height: usize,
    text_tokens: usize,
    batch: usize,
) -> f64 {
    crate::diffusion::flops::step_flops(cfg, flux_image_tokens(width, height), text_tokens, batch)
}
