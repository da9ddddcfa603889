//! A FLUX model folder, laid out as black-forest-labs publishes FLUX.1-dev and FLUX.1-schnell:
//! the original-format checkpoints at the top (`flux1-*.safetensors` for the transformer,
//! `ae.safetensors` for the autoencoder) beside the diffusers folders whose `config.json`
//! files give the shapes (`transformer/`, `vae/`), the text encoders (`text_encoder/` CLIP,
//! `text_encoder_2/` T5, each with its weights) and their tokenizers (`tokenizer/`,
//! `tokenizer_2/`, each with a `tokenizer.json`).

use std::path::{Path, PathBuf};

use candle_transformers::models::clip::text_model::{Activation, ClipTextConfig};
use candle_transformers::models::flux::{autoencoder, model};
use candle_transformers::models::t5;
use serde_json::Value;

use crate::Error;

/// Everything needed to load a FLUX pipeline from a folder.
#[derive(Debug, Clone)]
pub struct FluxFolder {
    /// The folder.
    pub dir: PathBuf,
    /// The transformer's shapes.
    pub transformer: model::Config,
    /// The transformer's checkpoint (original names).
    pub transformer_file: PathBuf,
    /// The autoencoder's shapes.
    pub vae: autoencoder::Config,
    /// The autoencoder's checkpoint (original names).
    pub vae_file: PathBuf,
    /// T5's configuration.
    pub t5: t5::Config,
    /// T5's weights (one file or shards).
    pub t5_files: Vec<PathBuf>,
    /// CLIP's configuration.
    pub clip: ClipTextConfig,
    /// CLIP's weights.
    pub clip_files: Vec<PathBuf>,
    /// CLIP's tokenizer: a `tokenizer.json`, or the folder's `vocab.json` and `merges.txt`.
    pub clip_tokenizer: PathBuf,
    /// T5's tokenizer.
    pub t5_tokenizer: PathBuf,
    /// Weights generated in memory from this seed instead of read (presets too large to write).
    pub in_memory_seed: Option<u64>,
}

/// The marker a synthesized folder without weight files carries.
pub const IN_MEMORY_MARKER: &str = "bench_weights.json";

fn read_json(path: &Path) -> Result<Value, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::ModelFile {
        path: path.to_path_buf(),
        reason: format!("cannot read it: {e}"),
    })?;
    serde_json::from_str(&text).map_err(|e| Error::ModelFile {
        path: path.to_path_buf(),
        reason: format!("not JSON: {e}"),
    })
}

fn need(doc: &Value, key: &str, path: &Path) -> Result<usize, Error> {
    doc[key]
        .as_u64()
        .map(|v| v as usize)
        .ok_or_else(|| Error::ModelFile {
            path: path.to_path_buf(),
            reason: format!("no integer `{key}`"),
        })
}

fn missing(path: &Path, what: &str) -> Error {
    Error::ModelFile {
        path: path.to_path_buf(),
        reason: format!("missing: a FLUX folder needs {what}"),
    }
}

/// The `.safetensors` files of a folder (one, or shards), sorted.
fn weights_in(dir: &Path, what: &str) -> Result<Vec<PathBuf>, Error> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|_| missing(dir, what))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(missing(dir, what));
    }
    Ok(files)
}

impl FluxFolder {
    /// CLIP's tokenizer, from its `tokenizer.json` or built from `vocab.json` and `merges.txt`.
    pub fn load_clip_tokenizer(&self) -> Result<tokenizers::Tokenizer, Error> {
        let fail = |reason: String| Error::ModelFile {
            path: self.clip_tokenizer.clone(),
            reason,
        };
        if self.clip_tokenizer.ends_with("tokenizer.json") {
            return tokenizers::Tokenizer::from_file(&self.clip_tokenizer)
                .map_err(|e| fail(format!("not a tokenizer.json: {e}")));
        }
        super::clip_tokenizer::from_vocab_and_merges(
            &self.clip_tokenizer,
            &self.clip_tokenizer.with_file_name("merges.txt"),
        )
        .map_err(fail)
    }

    /// A fingerprint of the folder: its configs and tokenizers whole, its checkpoints' headers.
    pub fn digest(&self) -> Result<String, Error> {
        let mut weights = vec![self.transformer_file.clone(), self.vae_file.clone()];
        weights.extend(self.t5_files.iter().cloned());
        weights.extend(self.clip_files.iter().cloned());
        weights.retain(|p| !p.as_os_str().is_empty());
        let texts: Vec<&str> = [
            "transformer/config.json",
            "vae/config.json",
            "text_encoder/config.json",
            "text_encoder_2/config.json",
            "tokenizer/tokenizer.json",
            "tokenizer/vocab.json",
            "tokenizer/merges.txt",
            "tokenizer_2/tokenizer.json",
        ]
        .into_iter()
        .filter(|name| self.dir.join(name).is_file())
        .collect();
        crate::model::digest(&self.dir, &texts, &weights)
    }

    /// Read the configurations and find the files of the FLUX model in `dir`.
    pub fn read(dir: &Path) -> Result<Self, Error> {
        Self::read_with(dir, true)
    }

    /// Read the configurations and tokenizers only (the weight files may not exist yet).
    pub fn read_configs(dir: &Path) -> Result<Self, Error> {
        Self::read_with(dir, false)
    }

    fn read_with(dir: &Path, with_weights: bool) -> Result<Self, Error> {
        let in_memory_seed = match dir.join(IN_MEMORY_MARKER) {
            p if p.is_file() => read_json(&p)?["seed"].as_u64(),
            _ => None,
        };
        let cfg_path = dir.join("transformer/config.json");
        if !cfg_path.is_file() {
            return Err(missing(&cfg_path, "the transformer's diffusers config"));
        }
        let t = read_json(&cfg_path)?;
        let heads = need(&t, "num_attention_heads", &cfg_path)?;
        let head_dim = need(&t, "attention_head_dim", &cfg_path)?;
        let axes_dim: Vec<usize> = t["axes_dims_rope"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_u64().map(|v| v as usize))
                    .collect()
            })
            .unwrap_or_else(|| vec![16, 56, 56]);
        if axes_dim.iter().sum::<usize>() != head_dim {
            return Err(Error::ModelFile {
                path: cfg_path,
                reason: format!(
                    "`axes_dims_rope` {axes_dim:?} must add up to `attention_head_dim` {head_dim}"
                ),
            });
        }
        let transformer = model::Config {
            in_channels: need(&t, "in_channels", &cfg_path)?,
            vec_in_dim: need(&t, "pooled_projection_dim", &cfg_path)?,
            context_in_dim: need(&t, "joint_attention_dim", &cfg_path)?,
            hidden_size: heads * head_dim,
            mlp_ratio: 4.0,
            num_heads: heads,
            depth: need(&t, "num_layers", &cfg_path)?,
            depth_single_blocks: need(&t, "num_single_layers", &cfg_path)?,
            axes_dim,
            theta: 10_000,
            qkv_bias: true,
            guidance_embed: t["guidance_embeds"].as_bool().unwrap_or(false),
        };

        let vae_path = dir.join("vae/config.json");
        if !vae_path.is_file() {
            return Err(missing(&vae_path, "the autoencoder's diffusers config"));
        }
        let v = read_json(&vae_path)?;
        let blocks: Vec<usize> = v["block_out_channels"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_u64().map(|x| x as usize))
                    .collect()
            })
            .unwrap_or_default();
        let Some(&ch) = blocks.first() else {
            return Err(Error::ModelFile {
                path: vae_path,
                reason: "no `block_out_channels`".into(),
            });
        };
        let vae = autoencoder::Config {
            resolution: 256,
            in_channels: need(&v, "in_channels", &vae_path)?,
            ch,
            out_ch: need(&v, "out_channels", &vae_path)?,
            ch_mult: blocks.iter().map(|b| b / ch).collect(),
            num_res_blocks: need(&v, "layers_per_block", &vae_path)?,
            z_channels: need(&v, "latent_channels", &vae_path)?,
            scale_factor: v["scaling_factor"].as_f64().unwrap_or(0.3611),
            shift_factor: v["shift_factor"].as_f64().unwrap_or(0.1159),
        };

        let t5_path = dir.join("text_encoder_2/config.json");
        if !t5_path.is_file() {
            return Err(missing(&t5_path, "T5's config (text_encoder_2/)"));
        }
        let t5: t5::Config =
            serde_json::from_value(read_json(&t5_path)?).map_err(|e| Error::ModelFile {
                path: t5_path.clone(),
                reason: format!("not a T5 config: {e}"),
            })?;
        let clip_path = dir.join("text_encoder/config.json");
        if !clip_path.is_file() {
            return Err(missing(&clip_path, "CLIP's config (text_encoder/)"));
        }
        let c = read_json(&clip_path)?;
        let clip = ClipTextConfig {
            vocab_size: need(&c, "vocab_size", &clip_path)?,
            embed_dim: need(&c, "hidden_size", &clip_path)?,
            // candle's CLIP text model has quick_gelu only, which CLIP-L (FLUX's) uses.
            activation: Activation::QuickGelu,
            intermediate_size: need(&c, "intermediate_size", &clip_path)?,
            max_position_embeddings: need(&c, "max_position_embeddings", &clip_path)?,
            pad_with: None,
            num_hidden_layers: need(&c, "num_hidden_layers", &clip_path)?,
            num_attention_heads: need(&c, "num_attention_heads", &clip_path)?,
            projection_dim: c["projection_dim"].as_u64().unwrap_or(768) as usize,
        };

        let (transformer_file, vae_file, t5_files, clip_files) =
            if in_memory_seed.is_some() || !with_weights {
                (PathBuf::new(), PathBuf::new(), Vec::new(), Vec::new())
            } else {
                let transformer_file = std::fs::read_dir(dir)
                    .map_err(|_| missing(dir, "a folder"))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .find(|p| {
                        p.file_name()
                            .and_then(|n| n.to_str())
                            .is_some_and(|n| n.starts_with("flux1-") && n.ends_with(".safetensors"))
                    })
                    .ok_or_else(|| {
                        missing(
                            &dir.join("flux1-*.safetensors"),
                            "the transformer's checkpoint",
                        )
                    })?;
                let vae_file = dir.join("ae.safetensors");
                if !vae_file.is_file() {
                    return Err(missing(&vae_file, "the autoencoder's checkpoint"));
                }
                (
                    transformer_file,
                    vae_file,
                    weights_in(&dir.join("text_encoder_2"), "T5's weights")?,
                    weights_in(&dir.join("text_encoder"), "CLIP's weights")?,
                )
            };
        let clip_json = dir.join("tokenizer/tokenizer.json");
        let clip_tokenizer = if clip_json.is_file() {
            clip_json
        } else if dir.join("tokenizer/vocab.json").is_file()
            && dir.join("tokenizer/merges.txt").is_file()
        {
            // black-forest-labs' own folders hold CLIP's slow tokenizer files only.
            dir.join("tokenizer/vocab.json")
        } else {
            return Err(missing(
                &clip_json,
                "CLIP's tokenizer (tokenizer/tokenizer.json, or tokenizer/vocab.json and merges.txt)",
            ));
        };
        let t5_tokenizer = dir.join("tokenizer_2/tokenizer.json");
        if !t5_tokenizer.is_file() {
            return Err(missing(&t5_tokenizer, "T5's tokenizer"));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            transformer,
            transformer_file,
            vae,
            vae_file,
            t5,
            t5_files,
            clip,
            clip_files,
            clip_tokenizer,
            t5_tokenizer,
            in_memory_seed,
        })
    }
}
