//! exo's image endpoints: `/v1/images/generations`, or `/bench/images/generations` for exo's
//! own `generation_stats` and per-node `power_usage` (exo-explore/exo `src/exo/api/main.py`,
//! request `ImageGenerationTaskParams`, response `BenchImageGenerationResponse`, commit
//! b5375f8).
//!
//! exo takes the size as one of a few strings and the steps through
//! `advanced_params.num_inference_steps`. Its `seconds_per_step` divides by the step count of
//! the `quality` preset, not the steps run, so bench keeps exo's `total_generation_time` and
//! divides by the steps itself. Nothing streams: bench's own time is the whole request.

use std::time::Instant;

use base64::Engine as _;
use serde_json::{json, Value};

use super::{post_json, ExoInstance, ExoOptions};
use crate::diffusion::{DiffusionEngine, DiffusionMeasurement, DiffusionRequest, Image};
use crate::engine::{EngineInfo, PeakMemory};
use crate::model::{Architecture, ModelInfo, ModelSource};
use crate::Error;

/// The sizes exo's API accepts (`ImageSize` in `src/exo/api/types/api.py`).
pub const SIZES: [(usize, usize); 7] = [
    (512, 512),
    (768, 768),
    (1024, 768),
    (768, 1024),
    (1024, 1024),
    (1024, 1536),
    (1536, 1024),
];

/// An exo cluster making images.
pub struct ExoImages {
    http: reqwest::blocking::Client,
    endpoint: String,
    model: String,
    info: EngineInfo,
    // Held for its lifetime: dropped last, removing the instance if bench placed it.
    _instance: ExoInstance,
}

impl ExoImages {
    /// Find or place an instance of the image model; `bench` picks the bench endpoint.
    pub fn open(spec: &str, options: &ExoOptions, bench: bool) -> Result<Self, Error> {
        let started = Instant::now();
        let instance = ExoInstance::open(options)?;
        let endpoint = match bench {
            true => format!("{}/bench/images/generations", instance.base()),
            false => format!("{}/v1/images/generations", instance.base()),
        };
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(options.timeout)
            .build()
            .map_err(|e| {
                Error::transport(&options.url, format!("cannot build the HTTP client: {e}"))
            })?;
        let info = EngineInfo {
            engine: "exo",
            versions: vec![("bench-workloads".into(), env!("CARGO_PKG_VERSION").into())],
            device: instance.describe(&options.model_id),
            dtype: "as served".into(),
            threads: None,
            model: ModelInfo {
                spec: spec.to_string(),
                dir: std::path::PathBuf::from(&options.model_id),
                source: ModelSource::Local,
                architecture: Architecture::Flux,
                parameters: 0,
                digest: String::new(),
            },
            open_s: started.elapsed().as_secs_f64(),
            cluster: Some(instance.manifest()),
            matmul_flops: None,
            kernels: Vec::new(),
        };
        Ok(Self {
            http,
            endpoint,
            model: options.model_id.clone(),
            info,
            _instance: instance,
        })
    }
}

impl DiffusionEngine for ExoImages {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn generate(&mut self, request: &DiffusionRequest) -> Result<DiffusionMeasurement, Error> {
        if !SIZES.contains(&(request.width, request.height)) {
            let allowed: Vec<String> = SIZES.iter().map(|(w, h)| format!("{w}x{h}")).collect();
            return Err(Error::Config(format!(
                "exo makes images of {} only, not {}x{}",
                allowed.join(", "),
                request.width,
                request.height
            )));
        }
        let body = json!({
            "model": self.model,
            "prompt": request.prompt,
            "n": request.batch,
            "size": format!("{}x{}", request.width, request.height),
            "output_format": "png",
            "response_format": "b64_json",
            "advanced_params": {
                "seed": request.seed,
                "num_inference_steps": request.steps,
                "guidance": request.guidance,
            },
        });
        let started = Instant::now();
        let doc = post_json(&self.http, &self.endpoint, &body)?;
        let image_s = started.elapsed().as_secs_f64();
        let reply = ImagesReply::read(&doc)
            .map_err(|e| Error::transport(&self.endpoint, format!("{}: {e}", self.endpoint)))?;
        let total = reply.total_generation_s;
        let reported = json!({
            "generation_stats": reply.stats,
            "power_usage": reply.power,
            "seconds_per_step_recomputed": total.map(|t| t / (request.steps * request.batch) as f64),
        });
        Ok(DiffusionMeasurement {
            started,
            text_encode_s: None,
            denoise_from_s: None,
            step_s: Vec::new(),
            vae_decode_s: None,
            image_s,
            process_s: None,
            image_tokens: (request.width / 16) * (request.height / 16),
            text_tokens: 0,
            images: reply.images,
            peak_memory: reply.peak_memory_bytes.map(|bytes| PeakMemory {
                bytes,
                method: "exo-rank0-mlx-peak",
            }),
            device_peak_memory: None,
            step_flops: 0.0,
            matmul_flops: None,
            reported_image_s: total.map(|t| t / request.batch as f64),
            reported: Some(reported),
        })
    }
}

/// What an image endpoint answered: the images and exo's own figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagesReply {
    /// The images of `data[].b64_json`, decoded, in order.
    pub images: Vec<Image>,
    /// `generation_stats` as sent (the bench endpoint only).
    pub stats: Option<Value>,
    /// `generation_stats.total_generation_time`, seconds for the whole request.
    pub total_generation_s: Option<f64>,
    /// `generation_stats.peak_memory_usage.inBytes` (rank 0's MLX peak).
    pub peak_memory_bytes: Option<u64>,
    /// `power_usage` as sent; null when absent.
    pub power: Value,
}

impl ImagesReply {
    /// Read the answer's JSON. An error, naming the item (`data[1].b64_json: ...`), when there
    /// is no `data` list or an image is missing, not base64, or not an RGB(A) PNG.
    pub fn read(doc: &Value) -> Result<Self, String> {
        let items = doc["data"].as_array().ok_or("no `data` list")?;
        let images = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let b64 = item["b64_json"]
                    .as_str()
                    .ok_or_else(|| format!("data[{i}]: no b64_json"))?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| format!("data[{i}].b64_json: {e}"))?;
                crate::diffusion::png::decode(&bytes).map_err(|e| format!("data[{i}]: {e}"))
            })
            .collect::<Result<Vec<Image>, String>>()?;
        let stats = doc
            .get("generation_stats")
            .filter(|v| !v.is_null())
            .cloned();
        let stat = |key: &str| stats.as_ref().map_or(&Value::Null, |s| &s[key]);
        Ok(Self {
            images,
            total_generation_s: stat("total_generation_time").as_f64(),
            peak_memory_bytes: stat("peak_memory_usage")["inBytes"].as_u64(),
            stats,
            power: doc.get("power_usage").cloned().unwrap_or(Value::Null),
        })
    }
}
