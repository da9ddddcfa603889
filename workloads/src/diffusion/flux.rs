//! FLUX on candle, phase by phase: text encoding (T5 and CLIP), each denoising step of the
//! transformer, and the autoencoder's decode, each timed on its own (the device is
//! synchronized at every boundary, so a GPU's queued work is counted where it belongs).

use std::time::Instant;

use candle_core::{DType, Device, Module, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::clip::text_model::ClipTextTransformer;
use candle_transformers::models::flux::{autoencoder, model, sampling};
use candle_transformers::models::t5;
use tokenizers::Tokenizer;

use super::folder::FluxFolder;
use super::synth::{traced, Component};
use super::transformer::FluxTransformer;
use super::{DiffusionEngine, DiffusionMeasurement, DiffusionRequest, Image};
use crate::engine::EngineInfo;
use crate::llm::{candle_dtype, LoadOptions};
use crate::model::{Architecture, ModelInfo, ResolvedModel};
use crate::rng::SplitMix64;
use crate::synth::WeightDType;
use crate::Error;

/// CLIP's context length in FLUX.
const CLIP_TOKENS: usize = 77;

/// A FLUX pipeline loaded on one device.
pub struct CandleFlux {
    device: Device,
    t5: t5::T5EncoderModel,
    clip: ClipTextTransformer,
    transformer: FluxTransformer,
    autoencoder: autoencoder::AutoEncoder,
    t5_tokenizer: Tokenizer,
    clip_tokenizer: Tokenizer,
    t5_tokens: usize,
    guidance_embed: bool,
    config: model::Config,
    info: EngineInfo,
}

/// Weights from the folder's files, or made in memory from the seed, as synthesis would write
/// them.
fn weights<'a>(
    folder: &FluxFolder,
    component: Component,
    files: &[std::path::PathBuf],
    dtype: DType,
    weight_dtype: WeightDType,
    device: &Device,
) -> Result<VarBuilder<'a>, Error> {
    match folder.in_memory_seed {
        None => {
            // SAFETY: the files are memory-mapped read-only; bench does not modify them while
            // the model is loaded (the same contract as every candle example).
            unsafe { VarBuilder::from_mmaped_safetensors(files, dtype, device) }
                .map_err(Error::from)
        }
        Some(seed) => {
            let specs = traced(folder, component)?;
            let mut tensors = std::collections::HashMap::new();
            for spec in &specs {
                let bytes = crate::synth::weights::tensor_bytes(spec, weight_dtype, seed);
                let raw = Tensor::from_raw_buffer(
                    &bytes,
                    candle_dtype(weight_dtype),
                    &spec.shape,
                    &Device::Cpu,
                )?;
                tensors.insert(spec.name.clone(), raw.to_dtype(dtype)?.to_device(device)?);
            }
            Ok(VarBuilder::from_tensors(tensors, dtype, device))
        }
    }
}

fn tokenizer(path: &std::path::Path) -> Result<Tokenizer, Error> {
    Tokenizer::from_file(path).map_err(|e| Error::ModelFile {
        path: path.to_path_buf(),
        reason: format!("not a tokenizer.json: {e}"),
    })
}

impl CandleFlux {
    /// Load the pipeline in `resolved` (a FLUX folder) on the device and dtype of `options`.
    pub fn load(
        spec: &str,
        resolved: &ResolvedModel,
        options: &LoadOptions,
    ) -> Result<Self, Error> {
        let started = Instant::now();
        let folder = FluxFolder::read(&resolved.dir)?;
        let device = crate::llm::device::open(options.device)?;
        Self::load_on(spec, resolved, options, folder, device.clone(), started).map_err(|e| match e
        {
            Error::Compute(e) => crate::llm::device::out_of_memory_or(
                e,
                &device,
                || "the transformer, T5, CLIP and the autoencoder's weights do not fit".into(),
                Error::Compute,
            ),
            other => other,
        })
    }

    fn load_on(
        spec: &str,
        resolved: &ResolvedModel,
        options: &LoadOptions,
        folder: FluxFolder,
        device: Device,
        started: Instant,
    ) -> Result<Self, Error> {
        let dtype = candle_dtype(options.dtype);
        let vb = |component, files: &[std::path::PathBuf]| {
            weights(&folder, component, files, dtype, options.dtype, &device)
        };
        let mut transformer = FluxTransformer::load(
            &folder.transformer,
            vb(
                Component::Transformer,
                std::slice::from_ref(&folder.transformer_file),
            )?,
        )?;
        let head_dim = folder.transformer.hidden_size / folder.transformer.num_heads.max(1);
        transformer.choose_kernels(&device, dtype, head_dim);
        let autoencoder = autoencoder::AutoEncoder::new(
            &folder.vae,
            vb(
                Component::Autoencoder,
                std::slice::from_ref(&folder.vae_file),
            )?,
        )?;
        let t5 = t5::T5EncoderModel::load(vb(Component::T5, &folder.t5_files)?, &folder.t5)?;
        let clip = ClipTextTransformer::new(
            vb(Component::Clip, &folder.clip_files)?.pp("text_model"),
            &folder.clip,
        )?;
        let index = std::fs::read_to_string(resolved.dir.join("model_index.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        // FLUX.1-dev pads its T5 prompt to 512 tokens, schnell to 256; a synthesized folder
        // says its own.
        let t5_tokens = index
            .as_ref()
            .and_then(|i| i["bench_t5_tokens"].as_u64())
            .map_or(
                if folder.transformer.guidance_embed {
                    512
                } else {
                    256
                },
                |n| n as usize,
            );
        let parameters = Component::ALL
            .iter()
            .map(|c| traced(&folder, *c).map(|s| s.iter().map(|t| t.numel() as u64).sum::<u64>()))
            .sum::<Result<u64, _>>()?;
        let info = EngineInfo {
            engine: "candle",
            versions: vec![
                ("bench-workloads".into(), env!("CARGO_PKG_VERSION").into()),
                ("candle-core".into(), env!("BENCH_CANDLE_VERSION").into()),
            ],
            device: crate::llm::device::describe(&device),
            dtype: options.dtype.to_string(),
            threads: device.is_cpu().then(candle_core::utils::get_num_threads),
            model: ModelInfo {
                spec: spec.to_string(),
                dir: resolved.dir.clone(),
                source: resolved.source.clone(),
                architecture: Architecture::Flux,
                parameters,
                digest: match folder.in_memory_seed {
                    Some(seed) => {
                        format!("{} (weights made in memory, seed {seed})", folder.digest()?)
                    }
                    None => folder.digest()?,
                },
            },
            open_s: started.elapsed().as_secs_f64(),
            cluster: None,
            matmul_flops: Some(super::flops::matmul_rate(
                &device,
                dtype,
                if device.is_cpu() { 1024 } else { 4096 },
                std::time::Duration::from_millis(500),
            )?),
            kernels: vec![
                (
                    "transformer attention".into(),
                    transformer.kernels().attention.describe(),
                ),
                (
                    "bias, modulation and gated residual".into(),
                    if transformer.kernels().rowwise {
                        "one-pass row-wise kernels".into()
                    } else {
                        "candle broadcast operations".into()
                    },
                ),
                (
                    "query and key norm and rotation".into(),
                    if transformer.kernels().heads {
                        "one-pass attention-heads kernel".into()
                    } else {
                        "candle strided copy, rms_norm and rope_i".into()
                    },
                ),
            ],
        };
        Ok(Self {
            t5_tokenizer: tokenizer(&folder.t5_tokenizer)?,
            clip_tokenizer: folder.load_clip_tokenizer()?,
            guidance_embed: folder.transformer.guidance_embed,
            config: folder.transformer.clone(),
            device,
            t5,
            clip,
            transformer,
            autoencoder,
            t5_tokens,
            info,
        })
    }

    fn ids(
        &self,
        tokenizer: &Tokenizer,
        prompt: &str,
        len: usize,
        pad: u32,
    ) -> Result<Tensor, Error> {
        let mut ids = tokenizer
            .encode(prompt, true)
            .map_err(|e| Error::Engine(format!("the tokenizer failed on the prompt: {e}")))?
            .get_ids()
            .to_vec();
        ids.resize(len, pad);
        Ok(Tensor::new(ids.as_slice(), &self.device)?.unsqueeze(0)?)
    }

    /// Seeded standard-normal noise of the latent's shape (the same seed gives the same image
    /// on every device).
    fn noise(&self, request: &DiffusionRequest, dtype: DType) -> Result<Tensor, Error> {
        let (h, w) = (
            request.height.div_ceil(16) * 2,
            request.width.div_ceil(16) * 2,
        );
        let n = request.batch * 16 * h * w;
        let mut rng = SplitMix64(request.seed);
        let mut values = Vec::with_capacity(n);
        while values.len() < n {
            let (a, b) = rng.normal_pair();
            values.push(a as f32);
            values.push(b as f32);
        }
        values.truncate(n);
        Ok(Tensor::from_vec(values, (request.batch, 16, h, w), &self.device)?.to_dtype(dtype)?)
    }
}

/// Why a request cannot run, in words; `None` when it can.
pub fn check_request(request: &DiffusionRequest) -> Option<String> {
    if request.width == 0
        || request.height == 0
        || !request.width.is_multiple_of(16)
        || !request.height.is_multiple_of(16)
    {
        return Some(format!(
            "{}x{} is not a FLUX size: width and height must be positive multiples of 16",
            request.width, request.height
        ));
    }
    if request.steps == 0 {
        return Some("steps must be at least 1".into());
    }
    if request.batch == 0 {
        return Some("batch must be at least 1".into());
    }
    None
}

impl DiffusionEngine for CandleFlux {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn generate(&mut self, request: &DiffusionRequest) -> Result<DiffusionMeasurement, Error> {
        match self.measure(request) {
            Err(Error::Compute(e)) => Err(crate::llm::device::out_of_memory_or(
                e,
                &self.device,
                || {
                    format!(
                        "{}×{} images, {} at a time, need more than is free beside the weights",
                        request.width, request.height, request.batch
                    )
                },
                Error::Compute,
            )),
            other => other,
        }
    }
}

impl CandleFlux {
    /// One measured request (see [`DiffusionEngine::generate`]).
    fn measure(&mut self, request: &DiffusionRequest) -> Result<DiffusionMeasurement, Error> {
        if let Some(problem) = check_request(request) {
            return Err(Error::Config(problem));
        }
        let dtype = self.transformer_dtype();
        let peak_reset = crate::llm::memory::reset_peak();
        let device_peak_reset = crate::llm::memory::reset_device_peak(&self.device);
        let started = Instant::now();

        let t5_ids = self.ids(&self.t5_tokenizer, &request.prompt, self.t5_tokens, 0)?;
        let t5_emb = self.t5.forward_dt(&t5_ids, Some(dtype))?;
        let clip_ids = self.ids(&self.clip_tokenizer, &request.prompt, CLIP_TOKENS, 0)?;
        let clip_emb = self.clip.forward(&clip_ids)?.to_dtype(dtype)?;
        self.device.synchronize()?;
        let text_encode_s = started.elapsed().as_secs_f64();

        let noise = self.noise(request, dtype)?;
        let state = sampling::State::new(&t5_emb, &clip_emb, &noise)?;
        let image_tokens = state.img.dim(1)?;
        let timesteps = if self.guidance_embed {
            sampling::get_schedule(request.steps, Some((image_tokens, 0.5, 1.15)))
        } else {
            sampling::get_schedule(request.steps, None)
        };
        let batch = request.batch;
        let guidance = self
            .guidance_embed
            .then(|| Tensor::full(request.guidance as f32, batch, &self.device))
            .transpose()?
            .map(|g| g.to_dtype(dtype))
            .transpose()?;
        let mut img = state.img.clone();
        let mut step_s = Vec::with_capacity(request.steps);
        let denoise_from_s = started.elapsed().as_secs_f64();
        for window in timesteps.windows(2) {
            let step = Instant::now();
            let (t_curr, t_prev) = (window[0], window[1]);
            let t_vec = Tensor::full(t_curr as f32, batch, &self.device)?.to_dtype(dtype)?;
            let pred = self.transformer.forward(
                &img,
                &state.img_ids,
                &state.txt,
                &state.txt_ids,
                &t_vec,
                &state.vec,
                guidance.as_ref(),
            )?;
            img = (img + pred * (t_prev - t_curr))?;
            self.device.synchronize()?;
            step_s.push(step.elapsed().as_secs_f64());
        }

        let decode = Instant::now();
        let latent = sampling::unpack(&img, request.height, request.width)?;
        let pixels = self.autoencoder.decode(&latent)?;
        let pixels = ((pixels.clamp(-1f32, 1f32)? + 1.0)? * 127.5)?
            .to_dtype(DType::U8)?
            .to_device(&Device::Cpu)?;
        let vae_decode_s = decode.elapsed().as_secs_f64();
        let image_s = started.elapsed().as_secs_f64();

        let mut images = Vec::with_capacity(batch);
        for b in 0..batch {
            // (3, H, W) planes to interleaved RGB rows.
            let planes = pixels
                .get(b)?
                .permute((1, 2, 0))?
                .flatten_all()?
                .to_vec1::<u8>()?;
            images.push(Image {
                width: request.width,
                height: request.height,
                rgb: planes,
            });
        }
        Ok(DiffusionMeasurement {
            started,
            text_encode_s: Some(text_encode_s),
            denoise_from_s: Some(denoise_from_s),
            step_s,
            vae_decode_s: Some(vae_decode_s),
            image_s,
            process_s: None,
            reported: None,
            reported_image_s: None,
            image_tokens,
            text_tokens: self.t5_tokens,
            images,
            peak_memory: crate::llm::memory::read_peak(peak_reset),
            device_peak_memory: crate::llm::memory::read_device_peak(
                &self.device,
                device_peak_reset,
            ),
            step_flops: super::flops::step_flops(&self.config, image_tokens, self.t5_tokens, batch),
            matmul_flops: self.info.matmul_flops,
        })
    }
}

impl CandleFlux {
    fn transformer_dtype(&self) -> DType {
        match self.info.dtype.as_str() {
            "f16" => DType::F16,
            "bf16" => DType::BF16,
            _ => DType::F32,
        }
    }
}
