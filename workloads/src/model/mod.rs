//! Model folders: how one was found, reading its `config.json`, and fingerprinting it for the
//! run manifest. Finding one (`synth:` presets, local paths, the Hugging Face cache) is
//! [`crate::catalog`]'s, above the engines whose presets it knows.

mod arch;
mod digest;
mod source;

use std::path::PathBuf;

use serde::Serialize;

pub use arch::{ArchConfig, Architecture};
pub use digest::{digest, folder_digest, safetensors_files};
pub use source::{hf_hub_cache, ModelSource, ResolvedModel};

/// What was loaded, for the run manifest.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// The reference as the suite gave it.
    pub spec: String,
    /// The folder the files came from.
    pub dir: PathBuf,
    /// How the folder was found.
    pub source: ModelSource,
    /// `qwen2` or `qwen3`.
    pub architecture: Architecture,
    /// Parameters stored in the safetensors files.
    pub parameters: u64,
    /// Digest of the folder (see [`folder_digest`]).
    pub digest: String,
}
