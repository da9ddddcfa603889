//! Compiling bench's CUDA sources at run time: NVRTC turns a `.cu` file into PTX once per
//! process, for compute capability 8.0 and later (the driver compiles PTX for the GPU it has).

use std::sync::OnceLock;

use candle_core::cuda_backend::cudarc::nvrtc::{compile_ptx_with_opts, CompileOptions};
use candle_core::Result;

/// The PTX of `source` (the text of `file`), compiled on first use and kept in `cell`; a
/// failure is kept too, so every later call reports it without compiling again.
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
        compile_ptx_with_opts(source, options)
            .map(|ptx| ptx.to_src())
            .map_err(|e| format!("NVRTC could not compile {file}: {e:?}"))
    })
    .as_deref()
    .map_err(|e| candle_core::Error::Msg(e.clone()))
}
