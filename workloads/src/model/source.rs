//! How a model folder was found ([`ModelSource`]), the folder a reference resolved to
//! ([`ResolvedModel`]), and where the Hugging Face hub cache is: the types every engine reads,
//! below the resolution ([`crate::catalog::resolve`]) that knows every engine's presets.

use std::path::PathBuf;

use serde::Serialize;

use crate::synth::WeightDType;

/// How a model folder was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelSource {
    /// Synthesized by bench: real architecture, seeded random weights.
    Synth {
        /// Preset name.
        preset: String,
        /// Weight dtype in the file.
        dtype: WeightDType,
        /// Weight seed.
        seed: u64,
    },
    /// A folder given by path.
    Local,
    /// A snapshot in the local Hugging Face hub cache.
    HubCache {
        /// `Org/Name`.
        repo: String,
        /// The snapshot's commit.
        revision: String,
    },
}

/// A model reference resolved to a folder.
#[derive(Debug, Clone)]
pub struct ResolvedModel {
    /// The folder holding config.json, the safetensors files and tokenizer.json.
    pub dir: PathBuf,
    /// How it was found.
    pub source: ModelSource,
}

/// The Hugging Face hub cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
/// `~/.cache/huggingface/hub`.
pub fn hf_hub_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("HF_HUB_CACHE") {
        return PathBuf::from(dir);
    }
    if let Some(home) = std::env::var_os("HF_HOME") {
        return PathBuf::from(home).join("hub");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache").join("huggingface").join("hub")
}
