//! GGUF files (llama.cpp's model format): the header only, for what a model costs to read.
//!
//! [`read`] parses the header of a GGUF file (version 2 or 3, little-endian) as ggml's
//! `docs/gguf.md` lays it out: the magic `GGUF`, the version, the tensor and metadata counts,
//! the metadata key-value pairs, then one record per tensor (name, dimensions, ggml type,
//! offset). Only the metadata the cost arithmetic uses is kept; tensor data is never read.
//! [`ggml_type`] knows each tensor type's block layout, so [`Gguf::tensor_bytes`] counts the
//! bytes each tensor occupies.

mod files;
pub mod ggml_type;
mod header;
#[cfg(test)]
pub(crate) mod tests;

pub use files::{read_model, resolve};
pub use ggml_type::GgmlType;
pub use header::{read, read_from};

use std::path::PathBuf;

/// Why a GGUF header could not be used.
#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    /// The file could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The bytes are not a GGUF header this reader understands.
    #[error("{}: not a readable GGUF header: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        reason: String,
    },
}

/// One tensor's record in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Its name (`blk.0.attn_q.weight`, `token_embd.weight`).
    pub name: String,
    /// Its dimensions, innermost first, as ggml stores them.
    pub dims: Vec<u64>,
    /// Its `enum ggml_type` value.
    pub ggml_type: u32,
}

impl TensorInfo {
    /// Its number of elements; none when that overflows.
    pub fn elements(&self) -> Option<u64> {
        self.dims.iter().try_fold(1u64, |n, d| n.checked_mul(*d))
    }
}

/// What bench keeps of a GGUF header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gguf {
    /// The file.
    pub path: PathBuf,
    /// GGUF version (2 or 3).
    pub version: u32,
    /// `general.architecture` (`qwen3`, `llama`).
    pub architecture: Option<String>,
    /// `<architecture>.expert_count`: experts per MoE layer.
    pub expert_count: Option<u64>,
    /// `<architecture>.expert_used_count`: experts each token is routed to.
    pub expert_used_count: Option<u64>,
    /// Every tensor, in file order.
    pub tensors: Vec<TensorInfo>,
}

impl Gguf {
    /// Bytes `tensor` occupies in the file: whole blocks of its ggml type. The error names the
    /// tensor and says why it cannot be counted (a type ggml retired or this reader does not
    /// know, a row that is no whole number of blocks).
    pub fn tensor_bytes(&self, tensor: &TensorInfo) -> Result<(GgmlType, u64), GgufError> {
        let format = |reason: String| GgufError::Format {
            path: self.path.clone(),
            reason,
        };
        let kind = GgmlType::from_id(tensor.ggml_type).ok_or_else(|| {
            format(format!(
                "tensor `{}` has ggml type {}, which this version of bench does not know",
                tensor.name, tensor.ggml_type
            ))
        })?;
        let bytes = tensor
            .elements()
            .and_then(|n| kind.bytes(n))
            .ok_or_else(|| {
                format(format!(
                    "tensor `{}` ({:?}, {}) is not a whole number of {}-weight blocks",
                    tensor.name, tensor.dims, kind.name, kind.block_weights
                ))
            })?;
        Ok((kind, bytes))
    }
}
