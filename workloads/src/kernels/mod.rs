//! Fused operations the in-process engines share, each a candle custom operation with a CPU
//! reference and a GPU kernel compiled at run time.

pub mod flash_attention;
#[cfg(feature = "cuda")]
pub(crate) mod nvrtc;
pub mod rowwise;
