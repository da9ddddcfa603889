//! The scalar metrics of one measurement (the `metrics` object of a line of
//! `measurements.jsonl`), as DESIGN.md and docs/metrics.md define them, by kind: a text or an
//! image measurement's figures, its peak memory, its energy when power was sampled, and its
//! wait when it was a request of a load pattern.
//!
//! Each part is flattened into the one `metrics` object, so its keys are those bench always
//! wrote; a part is absent when the line has none of its keys.

use serde::{Deserialize, Deserializer, Serialize};

use crate::power::MeasurementEnergy;

/// The metrics of one measurement, by kind; absent parts and figures were undefined for it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    /// A text measurement's figures.
    #[serde(flatten, default, deserialize_with = "part")]
    pub text: Option<TextMetrics>,
    /// An image measurement's figures.
    #[serde(flatten, default, deserialize_with = "part")]
    pub image: Option<ImageMetrics>,
    /// Peak memory, where it was read.
    #[serde(flatten, default, deserialize_with = "part")]
    pub memory: Option<MemoryMetrics>,
    /// Energy and power, when power was sampled over the measurement.
    #[serde(flatten, default, deserialize_with = "part")]
    pub energy: Option<EnergyMetrics>,
    /// The request's wait, for requests of load patterns.
    #[serde(flatten, default, deserialize_with = "part")]
    pub load: Option<LoadMetrics>,
}

/// A flattened part: `None` where the object has none of its keys.
fn part<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default + PartialEq,
{
    Ok(Option::<T>::deserialize(deserializer)?.filter(|p| *p != T::default()))
}

/// `part` where it has a figure, else `None`.
fn some<T: Default + PartialEq>(part: T) -> Option<T> {
    (part != T::default()).then_some(part)
}

impl Metrics {
    /// The metrics of a text measurement with figures `text` alone.
    pub fn of_text(text: TextMetrics) -> Self {
        Self {
            text: some(text),
            ..Self::default()
        }
    }

    /// Fill the energy metrics from `energy` (headline rail) for a text measurement of
    /// `prompt_tokens` in and `output_tokens` out.
    pub fn set_energy(
        &mut self,
        energy: &MeasurementEnergy,
        prompt_tokens: u64,
        output_tokens: u64,
    ) {
        let mut e = EnergyMetrics::total(energy);
        let prefill = energy.headline_phase("prefill");
        let decode = energy.headline_phase("decode");
        e.prefill_avg_w = prefill.map(|p| p.avg_w);
        e.decode_avg_w = decode.map(|p| p.avg_w);
        e.j_per_prompt_token = prefill
            .filter(|_| prompt_tokens > 0)
            .map(|p| p.joules / prompt_tokens as f64);
        let decoded = output_tokens.saturating_sub(1);
        e.j_per_output_token = decode
            .filter(|_| decoded > 0)
            .map(|p| p.joules / decoded as f64);
        e.output_tokens_per_j = e.j_per_output_token.filter(|j| *j > 0.0).map(|j| 1.0 / j);
        self.energy = some(e);
    }

    /// Fill the energy metrics from `energy` (headline rail) for an image measurement of
    /// `images` images and `steps` denoising steps: per image (the whole request over its
    /// images) and per step.
    pub fn set_image_energy(&mut self, energy: &MeasurementEnergy, images: usize, steps: usize) {
        let mut e = EnergyMetrics::total(energy);
        let total = energy.headline_phase("total");
        let denoise = energy.headline_phase("denoise");
        e.j_per_image = total
            .filter(|_| images > 0)
            .map(|p| p.joules / images as f64);
        e.j_per_step = denoise
            .filter(|_| steps > 0)
            .map(|p| p.joules / steps as f64);
        self.energy = some(e);
    }
}

impl EnergyMetrics {
    /// `energy_j`, `avg_power_w`, `peak_power_w`, `power_per_node_w`, `active_energy_j` and
    /// `energy_from_power_j` from the headline rail's `total`.
    fn total(energy: &MeasurementEnergy) -> Self {
        let total = energy.headline_phase("total");
        Self {
            energy_j: total.map(|p| p.joules),
            avg_power_w: total.map(|p| p.avg_w),
            peak_power_w: total.and_then(|p| p.peak_w),
            power_per_node_w: energy
                .cluster_nodes()
                .filter(|&n| n > 0)
                .and_then(|n| Some(total?.avg_w / n as f64)),
            active_energy_j: total.and_then(|p| p.active_joules),
            energy_from_power_j: energy
                .rails
                .get(&crate::power::integrated_power_rail(&energy.headline))
                .and_then(|rail| rail.phases.get("total"))
                .map(|p| p.joules),
            ..Self::default()
        }
    }
}

/// The figures of a text measurement (an LLM request): latencies, rates and the server's own
/// counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TextMetrics {
    /// Time to first token, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_s: Option<f64>,
    /// Servers: time to the first chunk with visible text, seconds (later than `ttft_s` where
    /// the first tokens came without text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfvt_s: Option<f64>,
    /// Servers: time to the first answer token, after any reasoning, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttfat_s: Option<f64>,
    /// Servers, reasoning models: tokens of the reasoning (the server's usage detail, else
    /// the reasoning chunks of a server that streams one token per chunk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<f64>,
    /// Servers, reasoning models: output tokens − `reasoning_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_tokens: Option<f64>,
    /// Prompt tokens / ttft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_tps: Option<f64>,
    /// (output tokens − 1) / (t_last − t_first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_tps: Option<f64>,
    /// (e2e − ttft) / (output tokens − 1), seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_s: Option<f64>,
    /// Request start to last token, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e2e_s: Option<f64>,
    /// Prompt tokenization, seconds (not part of ttft).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenize_s: Option<f64>,
    /// Of the prompt, the tokens the server took from its prefix cache, where it says
    /// (`usage.prompt_tokens_details.cached_tokens`; llama.cpp's `timings.cache_n`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_prompt_tokens: Option<f64>,
    /// Content chunks / output tokens (servers): 1 when every token comes in its own chunk,
    /// less when the server batches several tokens into one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunks_per_token: Option<f64>,
    /// The server's own prefill rate for the request (llama.cpp `timings`, exo
    /// `generation_stats`), tokens/s, beside bench's `prefill_tps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_prefill_tps: Option<f64>,
    /// The server's own decode rate, tokens/s, beside bench's `decode_tps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_decode_tps: Option<f64>,
}

/// The figures of an image measurement (a diffusion request): its phases, and how close its
/// steps came to the device's matrix-multiply rate.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ImageMetrics {
    /// Diffusion: seconds from the start of text encoding to the pixels on the host (the model
    /// load excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_s: Option<f64>,
    /// Diffusion: seconds encoding the prompt (T5 and CLIP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_encode_s: Option<f64>,
    /// Diffusion: seconds of all denoising steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denoise_s: Option<f64>,
    /// Diffusion: seconds of the autoencoder's decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vae_decode_s: Option<f64>,
    /// Diffusion, external tools: seconds of the tool's whole process, its model load included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_s: Option<f64>,
    /// Diffusion, external tools: the tool's own time for the image (mflux
    /// `generation_time_seconds`), kept beside bench's `image_s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_image_s: Option<f64>,
    /// Diffusion: FLOPs of one step (counted from the shapes) / the median step time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_flops_per_s: Option<f64>,
    /// Diffusion: `step_flops_per_s` / the device's matrix-multiply rate measured at load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_matmul_fraction: Option<f64>,
}

/// The peak memory of a measurement, text or image.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MemoryMetrics {
    /// Peak memory during the measurement, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_memory_bytes: Option<f64>,
    /// Peak GPU memory during the measurement, bytes (see `peak_device_memory_method`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_device_memory_bytes: Option<f64>,
}

/// The energy figures of a measurement whose power was sampled: of the whole measurement on
/// the headline rail, then per phase and per unit of work (text: tokens; images: images and
/// steps).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EnergyMetrics {
    /// Energy of the whole measurement on the headline rail, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_j: Option<f64>,
    /// Where the headline rail's energy comes from a hardware counter (NVML) and its power was
    /// also read: the same measurement's energy from integrating that power instead, joules.
    /// The two agree when both are right; the gap is the cross-check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_from_power_j: Option<f64>,
    /// Average power over the measurement on the headline rail, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_power_w: Option<f64>,
    /// The highest power reading of the headline rail within the measurement, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_power_w: Option<f64>,
    /// A cluster's average power divided by the nodes it sums (every node sampled, including
    /// any the instance does not use), watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_per_node_w: Option<f64>,
    /// Energy above the idle baseline over the measurement, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_energy_j: Option<f64>,
    /// Average power during prefill, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_avg_w: Option<f64>,
    /// Average power during decode, watts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_avg_w: Option<f64>,
    /// Prefill energy / prompt tokens, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_prompt_token: Option<f64>,
    /// Decode energy / tokens generated in decode (output tokens − 1), joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_output_token: Option<f64>,
    /// 1 / `j_per_output_token`: decode tokens per joule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_j: Option<f64>,
    /// Diffusion: energy of the request / images made, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_image: Option<f64>,
    /// Diffusion: energy of the denoising / steps, joules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub j_per_step: Option<f64>,
}

/// Where a request of a load pattern waited before it was sent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LoadMetrics {
    /// Load patterns: seconds the request waited in bench's own queue for a free slot (not
    /// part of its ttft).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_s: Option<f64>,
    /// Load patterns: seconds from when the request was due to when bench sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag_s: Option<f64>,
}
