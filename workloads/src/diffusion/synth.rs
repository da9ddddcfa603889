//! FLUX presets and their synthesis: a folder laid out like black-forest-labs' FLUX repos
//! (see [`folder`](super::folder)), with configs of the real shapes, seeded random weights and
//! real byte-level BPE tokenizers. The tensor names and shapes are not listed by hand: each
//! component is built once by candle's own model code on a [`Tracer`], which records what it
//! loads. Presets too large to write (`flux-dev`, `flux-schnell`: 12 B parameters in the
//! transformer, 4.7 B in T5) get configs and tokenizers only, and their weights are generated
//! in memory from the seed when loaded.

use std::path::Path;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use candle_transformers::models::clip::text_model::ClipTextTransformer;
use candle_transformers::models::flux::{autoencoder, model};
use candle_transformers::models::t5;
use serde_json::json;

use super::folder::{FluxFolder, IN_MEMORY_MARKER};
use super::tracer::Tracer;
use crate::synth::weights::write_specs;
use crate::synth::TensorSpec;
use crate::synth::{SynthError, WeightDType};

/// The shapes of one FLUX configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct FluxPreset {
    /// Name as used in `synth:<name>`.
    pub name: &'static str,
    /// One line about it.
    pub summary: &'static str,
    /// Transformer: attention heads.
    pub heads: usize,
    /// Transformer: per-head dimension (`axes_dim` adds up to it).
    pub head_dim: usize,
    /// Transformer: rotary axes (`axes_dims_rope`).
    pub axes_dim: [usize; 3],
    /// Transformer: double-stream blocks.
    pub depth: usize,
    /// Transformer: single-stream blocks.
    pub depth_single: usize,
    /// Guidance embedding (dev: yes; schnell: no).
    pub guidance: bool,
    /// Autoencoder: channels per level (`block_out_channels`).
    pub vae_channels: [usize; 4],
    /// Autoencoder: residual blocks per level.
    pub vae_blocks: usize,
    /// T5: model width, head width, feed-forward width, layers, heads, vocabulary.
    pub t5: [usize; 6],
    /// T5 tokens the prompt is padded to (dev 512, schnell 256).
    pub t5_tokens: usize,
    /// CLIP: width, feed-forward width, layers, heads, vocabulary.
    pub clip: [usize; 5],
    /// Whether the weights are written to disk (else generated in memory when loaded).
    pub on_disk: bool,
}

const FLUX_T5: [usize; 6] = [4096, 64, 10240, 24, 64, 32128];
const FLUX_CLIP: [usize; 5] = [768, 3072, 12, 12, 49408];

/// Every FLUX preset.
pub fn flux_presets() -> &'static [FluxPreset] {
    static PRESETS: [FluxPreset; 4] = [
        FluxPreset {
            name: "flux-dev",
            summary: "FLUX.1-dev shapes: 12B transformer (19 double, 38 single blocks), T5-XXL, CLIP-L; weights generated in memory",
            heads: 24,
            head_dim: 128,
            axes_dim: [16, 56, 56],
            depth: 19,
            depth_single: 38,
            guidance: true,
            vae_channels: [128, 256, 512, 512],
            vae_blocks: 2,
            t5: FLUX_T5,
            t5_tokens: 512,
            clip: FLUX_CLIP,
            on_disk: false,
        },
        FluxPreset {
            name: "flux-schnell",
            summary: "FLUX.1-schnell shapes (no guidance embedding, 256 T5 tokens); weights generated in memory",
            heads: 24,
            head_dim: 128,
            axes_dim: [16, 56, 56],
            depth: 19,
            depth_single: 38,
            guidance: false,
            vae_channels: [128, 256, 512, 512],
            vae_blocks: 2,
            t5: FLUX_T5,
            t5_tokens: 256,
            clip: FLUX_CLIP,
            on_disk: false,
        },
        FluxPreset {
            name: "flux-small",
            summary: "FLUX architecture at 1/3 width and 1/10 depth (1024 wide, 2+4 blocks), for CPU runs in minutes",
            heads: 8,
            head_dim: 128,
            axes_dim: [16, 56, 56],
            depth: 2,
            depth_single: 4,
            guidance: true,
            vae_channels: [128, 256, 512, 512],
            vae_blocks: 2,
            t5: [512, 64, 1024, 2, 8, 32128],
            t5_tokens: 128,
            clip: [512, 2048, 2, 8, 49408],
            on_disk: true,
        },
        FluxPreset {
            name: "flux-tiny",
            summary: "FLUX architecture toy model for tests (64 wide, 1+1 blocks, tiny VAE and text encoders)",
            heads: 2,
            head_dim: 32,
            axes_dim: [8, 12, 12],
            depth: 1,
            depth_single: 1,
            guidance: true,
            vae_channels: [32, 32, 32, 32],
            vae_blocks: 1,
            t5: [64, 16, 128, 2, 4, 2048],
            t5_tokens: 32,
            clip: [64, 128, 2, 4, 2048],
            on_disk: true,
        },
    ];
    &PRESETS
}

/// The FLUX preset called `name`.
pub fn flux_preset(name: &str) -> Option<&'static FluxPreset> {
    flux_presets().iter().find(|p| p.name == name)
}

impl FluxPreset {
    fn transformer_json(&self) -> serde_json::Value {
        json!({
            "_class_name": "FluxTransformer2DModel",
            "attention_head_dim": self.head_dim,
            "axes_dims_rope": self.axes_dim,
            "guidance_embeds": self.guidance,
            "in_channels": 64,
            "joint_attention_dim": self.t5[0],
            "num_attention_heads": self.heads,
            "num_layers": self.depth,
            "num_single_layers": self.depth_single,
            "patch_size": 1,
            "pooled_projection_dim": self.clip[0],
        })
    }

    /// The autoencoder's diffusers config, with every key diffusers needs to build the same
    /// network (its defaults are one block and quantization convolutions, which FLUX's
    /// autoencoder does not have).
    fn vae_json(&self) -> serde_json::Value {
        let blocks = self.vae_channels.len();
        json!({
            "_class_name": "AutoencoderKL",
            "act_fn": "silu",
            "block_out_channels": self.vae_channels,
            "down_block_types": vec!["DownEncoderBlock2D"; blocks],
            "up_block_types": vec!["UpDecoderBlock2D"; blocks],
            "in_channels": 3,
            "out_channels": 3,
            "latent_channels": 16,
            "layers_per_block": self.vae_blocks,
            "mid_block_add_attention": true,
            "norm_num_groups": 32,
            "scaling_factor": 0.3611,
            "shift_factor": 0.1159,
            "use_quant_conv": false,
            "use_post_quant_conv": false,
        })
    }

    fn t5_json(&self) -> serde_json::Value {
        let [d_model, d_kv, d_ff, layers, heads, vocab] = self.t5;
        json!({
            "architectures": ["T5EncoderModel"],
            "model_type": "t5",
            "d_model": d_model, "d_kv": d_kv, "d_ff": d_ff,
            "num_layers": layers, "num_decoder_layers": layers, "num_heads": heads,
            "vocab_size": vocab,
            "feed_forward_proj": "gated-gelu", "dense_act_fn": "gelu_new", "is_gated_act": true,
            "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
            "dropout_rate": 0.1, "layer_norm_epsilon": 1e-6, "initializer_factor": 1.0,
            "is_encoder_decoder": true, "tie_word_embeddings": false,
            "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0,
        })
    }

    fn clip_json(&self) -> serde_json::Value {
        let [hidden, inter, layers, heads, vocab] = self.clip;
        json!({
            "architectures": ["CLIPTextModel"],
            "model_type": "clip_text_model",
            "hidden_act": "quick_gelu",
            "hidden_size": hidden, "intermediate_size": inter,
            "num_hidden_layers": layers, "num_attention_heads": heads,
            "max_position_embeddings": 77, "projection_dim": hidden,
            "vocab_size": vocab, "layer_norm_eps": 1e-5,
            "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
        })
    }
}

/// The components of a FLUX pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// The transformer (original names, `flux1-*.safetensors`).
    Transformer,
    /// The autoencoder (original names, `ae.safetensors`).
    Autoencoder,
    /// T5 (`text_encoder_2/`).
    T5,
    /// CLIP (`text_encoder/`).
    Clip,
}

impl Component {
    /// Every component.
    pub const ALL: [Component; 4] = [
        Component::Transformer,
        Component::Autoencoder,
        Component::T5,
        Component::Clip,
    ];
}

/// The tensors `component` of `folder` loads, traced from candle's model code.
pub fn traced(folder: &FluxFolder, component: Component) -> Result<Vec<TensorSpec>, SynthError> {
    let tracer = std::sync::Arc::new(Tracer::default());
    let vb = VarBuilder::from_backend(Box::new(ArcTracer(tracer.clone())), DType::F32, Device::Cpu);
    let built = match component {
        Component::Transformer => model::Flux::new(&folder.transformer, vb).map(|_| ()),
        Component::Autoencoder => autoencoder::AutoEncoder::new(&folder.vae, vb).map(|_| ()),
        Component::T5 => t5::T5EncoderModel::load(vb, &folder.t5).map(|_| ()),
        Component::Clip => ClipTextTransformer::new(vb.pp("text_model"), &folder.clip).map(|_| ()),
    };
    built.map_err(|e| SynthError::Trace(e.to_string()))?;
    Ok(tracer.specs())
}

/// Shares one tracer between the builder and the caller.
struct ArcTracer(std::sync::Arc<Tracer>);

impl candle_nn::var_builder::SimpleBackend for ArcTracer {
    fn get(
        &self,
        s: candle_core::Shape,
        name: &str,
        h: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<candle_core::Tensor> {
        self.0.get(s, name, h, dtype, dev)
    }
    fn get_unchecked(
        &self,
        name: &str,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<candle_core::Tensor> {
        self.0.get_unchecked(name, dtype, dev)
    }
    fn contains_tensor(&self, name: &str) -> bool {
        self.0.contains_tensor(name)
    }
}

/// The folder of `preset` under `cache_root`, synthesized on first use (weights of `dtype`
/// from `seed`) and reused after.
pub fn cached_flux(
    preset: &FluxPreset,
    dtype: WeightDType,
    seed: u64,
    cache_root: &Path,
) -> Result<std::path::PathBuf, SynthError> {
    let key = format!(
        "{}-{dtype}-seed{seed}-v{}",
        preset.name,
        crate::synth::FORMAT_VERSION
    );
    crate::synth::cache_folder(
        cache_root,
        &key,
        |dir| FluxFolder::read(dir).is_ok(),
        |tmp| synthesize_flux(preset, dtype, seed, tmp).map(|_| ()),
    )
}

/// Write `preset`'s folder into `out` with weights of `dtype` drawn from `seed`. Returns the
/// number of parameters.
pub fn synthesize_flux(
    preset: &FluxPreset,
    dtype: WeightDType,
    seed: u64,
    out: &Path,
) -> Result<u64, SynthError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SynthError::Io { path, source }
    };
    let write = |rel: &str, value: &serde_json::Value| -> Result<(), SynthError> {
        let path = out.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let text = serde_json::to_string_pretty(value).map_err(SynthError::Json)?;
        std::fs::write(&path, text).map_err(io(&path))
    };
    write(
        "model_index.json",
        &json!({"_class_name": "FluxPipeline", "bench_preset": preset.name}),
    )?;
    write("transformer/config.json", &preset.transformer_json())?;
    write("vae/config.json", &preset.vae_json())?;
    write("text_encoder_2/config.json", &preset.t5_json())?;
    write("text_encoder/config.json", &preset.clip_json())?;
    for (dir, vocab) in [("tokenizer", preset.clip[4]), ("tokenizer_2", preset.t5[5])] {
        let path = out.join(dir).join("tokenizer.json");
        std::fs::create_dir_all(out.join(dir)).map_err(io(&out.join(dir)))?;
        std::fs::write(&path, crate::synth::tokenizer_json_of_size(vocab)?).map_err(io(&path))?;
    }
    if !preset.on_disk {
        write(
            IN_MEMORY_MARKER,
            &json!({"weights": "in-memory", "seed": seed, "dtype": dtype.as_str(), "preset": preset.name}),
        )?;
    }
    if !preset.on_disk {
        return Ok(0);
    }
    // Configs first: the tracer reads them back exactly as a downloaded folder is read.
    let folder = FluxFolder::read_configs(out).map_err(|e| SynthError::Trace(e.to_string()))?;
    let mut parameters = 0u64;
    for component in Component::ALL {
        let specs = traced(&folder, component)?;
        parameters += specs.iter().map(|s| s.numel() as u64).sum::<u64>();
        let file = match component {
            Component::Transformer => out.join(format!(
                "{}.safetensors",
                preset.name.replace("flux-", "flux1-")
            )),
            Component::Autoencoder => out.join("ae.safetensors"),
            Component::T5 => out.join("text_encoder_2/model.safetensors"),
            Component::Clip => out.join("text_encoder/model.safetensors"),
        };
        write_specs(&specs, preset.name, dtype, seed, &file)?;
    }
    Ok(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flux_tiny_is_a_complete_folder_with_the_traced_tensors() {
        let dir = tempfile::tempdir().unwrap();
        let preset = flux_preset("flux-tiny").unwrap();
        let parameters = synthesize_flux(preset, WeightDType::F32, 3, dir.path()).unwrap();
        assert!(parameters > 100_000, "{parameters}");
        let folder = FluxFolder::read(dir.path()).unwrap();
        assert_eq!(folder.transformer.hidden_size, 64);
        assert_eq!(folder.vae.ch_mult, vec![1, 1, 1, 1]);
        assert!(folder.transformer_file.ends_with("flux1-tiny.safetensors"));
        // The checkpoint holds exactly what candle's model asks for, e.g. a QK-norm scale.
        let bytes = std::fs::read(&folder.transformer_file).unwrap();
        let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let scale = st
            .tensor("double_blocks.0.img_attn.norm.query_norm.scale")
            .unwrap();
        assert_eq!(scale.shape(), &[32]);
        assert_eq!(
            st.names().len(),
            traced(&folder, Component::Transformer).unwrap().len()
        );
    }

    #[test]
    fn in_memory_presets_write_configs_and_tokenizers_only() {
        let dir = tempfile::tempdir().unwrap();
        let preset = flux_preset("flux-dev").unwrap();
        synthesize_flux(preset, WeightDType::BF16, 0, dir.path()).unwrap();
        let folder = FluxFolder::read(dir.path()).unwrap();
        assert_eq!(folder.in_memory_seed, Some(0));
        assert_eq!(folder.transformer.hidden_size, 3072);
        assert_eq!(folder.transformer.depth_single_blocks, 38);
        assert!(folder.transformer.guidance_embed);
        assert_eq!(folder.t5.d_model, 4096);
        assert!(std::fs::read_dir(dir.path()).unwrap().all(|e| e
            .unwrap()
            .path()
            .extension()
            .is_none_or(|x| x != "safetensors")));
        // diffusers builds the autoencoder from this file: without the block types it builds
        // one block (its default) and fails on FLUX's channels (seen with diffusers 0.42.1).
        let vae: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("vae/config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(vae["down_block_types"].as_array().unwrap().len(), 4);
        assert_eq!(vae["up_block_types"][3], "UpDecoderBlock2D");
        assert_eq!(vae["use_quant_conv"], false);
        assert_eq!(vae["use_post_quant_conv"], false);
    }

    #[test]
    fn clips_slow_tokenizer_files_stand_in_for_tokenizer_json() {
        // black-forest-labs' `tokenizer/` has vocab.json and merges.txt, no tokenizer.json.
        let dir = tempfile::tempdir().unwrap();
        synthesize_flux(
            flux_preset("flux-tiny").unwrap(),
            WeightDType::F32,
            0,
            dir.path(),
        )
        .unwrap();
        let tok = dir.path().join("tokenizer");
        std::fs::remove_file(tok.join("tokenizer.json")).unwrap();
        assert!(FluxFolder::read(dir.path())
            .unwrap_err()
            .to_string()
            .contains("vocab.json and merges.txt"));
        let vocab = serde_json::json!({"a": 0, "c": 1, "t": 2, "a</w>": 3, "t</w>": 4, "ca": 5,
            "cat</w>": 6, "<|startoftext|>": 7, "<|endoftext|>": 8});
        std::fs::write(tok.join("vocab.json"), vocab.to_string()).unwrap();
        std::fs::write(tok.join("merges.txt"), "#version: 0.2\nc a\nca t</w>\n").unwrap();
        let folder = FluxFolder::read(dir.path()).unwrap();
        let ids = folder
            .load_clip_tokenizer()
            .unwrap()
            .encode("a cat", true)
            .unwrap()
            .get_ids()
            .to_vec();
        assert_eq!(ids, vec![7, 3, 6, 8]);
        assert!(folder.digest().unwrap().starts_with("sha256:"));
    }
}
