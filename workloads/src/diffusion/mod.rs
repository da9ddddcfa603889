//! Image generation: FLUX in-process on candle ([`flux`]), from a folder laid out as
//! black-forest-labs publishes it ([`folder`]) or synthesized with the same shapes
//! ([`synth`]); FLUX on MLX through the `mflux-generate` command ([`mflux`]); and the images
//! they make ([`png`]).

pub mod clip_tokenizer;
pub mod flops;
pub mod flux;
pub mod folder;
pub mod mflux;
pub mod png;
pub mod synth;
mod tracer;
pub mod transformer;

use std::time::Instant;

use crate::engine::{EngineInfo, PeakMemory};

/// One text-to-image request.
#[derive(Debug, Clone, PartialEq)]
pub struct DiffusionRequest {
    /// The prompt.
    pub prompt: String,
    /// Image width in pixels (a multiple of 16).
    pub width: usize,
    /// Image height in pixels (a multiple of 16).
    pub height: usize,
    /// Denoising steps.
    pub steps: usize,
    /// Guidance strength (models with a guidance embedding: FLUX.1-dev).
    pub guidance: f64,
    /// Images generated at once.
    pub batch: usize,
    /// Seed of the starting noise: the same seed gives the same image.
    pub seed: u64,
}

/// An image as generated: interleaved 8-bit RGB rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width × height × 3` bytes, row by row.
    pub rgb: Vec<u8>,
}

/// Raw timings of one request, each phase timed on its own.
#[derive(Debug, Clone)]
pub struct DiffusionMeasurement {
    /// When the request started (text encoding).
    pub started: Instant,
    /// Seconds encoding the prompt (T5 and CLIP), where the engine shows it apart.
    pub text_encode_s: Option<f64>,
    /// Seconds from `started` to the start of the first denoising step.
    pub denoise_from_s: Option<f64>,
    /// Seconds of each denoising step, in order (back to back).
    pub step_s: Vec<f64>,
    /// Seconds decoding the latent into pixels (autoencoder, then to 8-bit on the host), where
    /// the engine shows it apart.
    pub vae_decode_s: Option<f64>,
    /// Seconds from `started` to the pixels (no model load).
    pub image_s: f64,
    /// Seconds of the whole request including what `image_s` leaves out (an external tool's
    /// process, its model load included).
    pub process_s: Option<f64>,
    /// The engine's own report of the request (mflux's metadata), as it wrote it.
    pub reported: Option<serde_json::Value>,
    /// The engine's own time for the image, seconds (mflux: `generation_time_seconds`).
    pub reported_image_s: Option<f64>,
    /// Image tokens the transformer attends over (latent patches).
    pub image_tokens: usize,
    /// Text tokens (T5) the transformer attends over.
    pub text_tokens: usize,
    /// The images.
    pub images: Vec<Image>,
    /// Peak memory, where the platform can tell.
    pub peak_memory: Option<PeakMemory>,
    /// Peak GPU memory (the device allocator's high-water mark), where the device can tell.
    pub device_peak_memory: Option<PeakMemory>,
    /// FLOPs of one denoising step, counted from the transformer's shapes ([`flops`]).
    pub step_flops: f64,
    /// The device's measured matrix-multiply rate (FLOP/s), to hold the steps against.
    pub matmul_flops: Option<f64>,
}

/// An engine that makes images.
pub trait DiffusionEngine {
    /// Describe the engine and its model.
    fn info(&self) -> &EngineInfo;
    /// Run one request and time its phases.
    fn generate(
        &mut self,
        request: &DiffusionRequest,
    ) -> Result<DiffusionMeasurement, crate::Error>;
}
