//! What bench's CUDA kernels share: NVRTC turns a `.cu` file (after `bf16.cuh`, the bf16
//! helpers every source uses) into PTX once per process, for compute capability 8.0 and later
//! (the driver compiles PTX for the GPU it has); and their bf16 operands' device memory.

use std::sync::OnceLock;

use candle_core::cuda_backend::cudarc::driver::CudaSlice;
use candle_core::cuda_backend::cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};
use candle_core::cuda_backend::CudaStorageSlice;
use candle_core::{CudaStorage, Result};

/// The bf16 helpers (`lo`, `hi`, `pack`, …) prepended to every source.
const BF16_HEADER: &str = include_str!("bf16.cuh");

/// The PTX of `source` (the text of `file`, after [`BF16_HEADER`]), compiled on first use and
/// kept in `cell`; a failure is kept too, so every later call reports it without compiling
/// again.
pub fn ptx(
    cell: &'static OnceLock<std::result::Result<String, String>>,
    file: &str,
    source: &str,
) -> Result<&'static str> {
    cell.get_or_init(|| {
        let options = CompileOptions {
            arch: Some("compute_80"),
            ..Default::default()
        };
        compile_ptx_with_opts(format!("{BF16_HEADER}{source}"), options)
            .map(|ptx| ptx.to_src())
            .map_err(|e| format!("NVRTC could not compile {file}: {e:?}"))
    })
    .as_deref()
    .map_err(|e| candle_core::Error::Msg(e.clone()))
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
