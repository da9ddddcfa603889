//! Fused operations the in-process engines share, each a candle custom operation with a CPU
//! reference and a GPU kernel compiled at run time.

pub mod flash_attention;
pub mod heads;
#[cfg(feature = "cuda")]
pub(crate) mod nvrtc;
pub mod rowwise;

use candle_core::{DType, Result, Tensor};

/// The largest absolute difference between `a` and `b`, compared in f32: how the load-time
/// checks hold a kernel against the operations it replaces (NaN when either holds one).
pub(crate) fn max_difference(a: &Tensor, b: &Tensor) -> Result<f32> {
    (a.to_dtype(DType::F32)? - b.to_dtype(DType::F32)?)?
        .abs()?
        .max_all()?
        .to_scalar::<f32>()
}
