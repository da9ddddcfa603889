//! What bench's CUDA kernels share: NVRTC turns a `.cu` file (after `bf16.cuh`, the bf16
//! helpers every source uses) into PTX once per process, for compute capability 8.0 and later
//! (the driver compiles PTX for the GPU it has); and their bf16 operands' device memory.

use std::sync::OnceLock;

use candle_core::cuda_backend::cudarc::driver::CudaSlice;
use candle_core::cuda_backend::cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};
use candle_core::cuda_backend::{CudaDevice, CudaStorageSlice};
use candle_core::{CudaStorage, Result};

/// The bf16 helpers (`lo`, `hi`, `pack`, …) prepended to every source.
const BF16_HEADER: &str = include_str!("bf16.cuh");

/// One of bench's CUDA sources: its file name, its text, and its PTX once compiled.
pub struct Source {
    file: &'static str,
    text: &'static str,
    ptx: OnceLock<std::result::Result<String, String>>,
}

impl Source {
    /// The source `text`, the contents of `file`.
    pub const fn new(file: &'static str, text: &'static str) -> Self {
        Self {
            file,
            text,
            ptx: OnceLock::new(),
        }
    }

    /// The PTX (of [`BF16_HEADER`] then the text), compiled on first use; a failure is kept
    /// too, so every later call reports it without compiling again.
    pub fn ptx(&'static self) -> Result<&'static str> {
        self.ptx
            .get_or_init(|| {
                let options = CompileOptions {
                    arch: Some("compute_80"),
                    ..Default::default()
                };
                compile_ptx_with_opts(format!("{BF16_HEADER}{}", self.text), options)
                    .map(|ptx| ptx.to_src())
                    .map_err(|e| format!("NVRTC could not compile {}: {e:?}", self.file))
            })
            .as_deref()
            .map_err(|e| candle_core::Error::Msg(e.clone()))
    }
}

/// The bf16 device memory of `storage`; `kernels` names the kernels in the error for another
/// dtype.
pub fn bf16_slice<'a>(
    storage: &'a CudaStorage,
    kernels: &str,
) -> Result<&'a CudaSlice<half::bf16>> {
    match &storage.slice {
        CudaStorageSlice::BF16(slice) => Ok(slice),
        _ => candle_core::bail!("{kernels} take bf16"),
    }
}

/// A kernel's bf16 output as candle's storage on `device`.
pub fn bf16_storage(out: CudaSlice<half::bf16>, device: CudaDevice) -> CudaStorage {
    CudaStorage {
        slice: CudaStorageSlice::BF16(out),
        device,
    }
}
