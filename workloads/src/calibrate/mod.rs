//! The device's own rates, measured with bench's kernels: matrix multiplies per dtype (the
//! candle matmul the engines run, timed by [`crate::diffusion::flops::matmul_rate`]) and the
//! memory-read bandwidth of a streaming sum ([`read`]). They are the ceilings that
//! [`crate::cost`]'s FLOPs and bytes are held against: prefill is bound by the first, decode by
//! the second.

pub mod gpu_read;
pub mod read;

use std::time::Duration;

use candle_core::{DType, Device};
use serde::{Deserialize, Serialize};

use crate::diffusion::flops::matmul_rate;
use crate::llm::device::{describe, open};
use crate::llm::DeviceChoice;
use crate::Error;

/// The dtypes calibrated: what the engines compute in.
pub const DTYPES: [DType; 3] = [DType::F32, DType::BF16, DType::F16];

/// One measured matrix-multiply rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatmulRate {
    /// `cpu`, `cuda:0`, `metal:0`.
    pub device: String,
    /// `f32`, `bf16`, `f16`.
    pub dtype: String,
    /// Side of the square matrices.
    pub n: usize,
    /// Best of the trials: 2·n³ / seconds, in GFLOP/s.
    pub gflops: f64,
}

/// What to measure and for how long.
#[derive(Debug, Clone)]
pub struct MatmulPlan {
    /// Square sizes.
    pub sizes: Vec<usize>,
    /// Time spent repeating each (size, dtype) after one warm-up; the best run counts.
    pub budget: Duration,
}

/// Measure every size × [`DTYPES`] on `device`. A dtype the device cannot multiply (candle
/// has no f16 matmul on some backends) is skipped with a warning rather than failing the rest.
pub fn matmul_rates(device: &Device, plan: &MatmulPlan) -> Result<Vec<MatmulRate>, Error> {
    let mut rates = Vec::new();
    for &dtype in &DTYPES {
        for &n in &plan.sizes {
            match matmul_rate(device, dtype, n, plan.budget) {
                Ok(flops) => rates.push(MatmulRate {
                    device: describe(device),
                    dtype: dtype.as_str().into(),
                    n,
                    gflops: flops / 1e9,
                }),
                // The first size failing means the dtype is unsupported here.
                Err(e) if n == plan.sizes[0] => {
                    tracing::warn!(
                        "{} {} matmul unavailable: {e}",
                        describe(device),
                        dtype.as_str()
                    );
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(rates)
}

/// [`matmul_rates`] on the CPU and on `gpu` (see [`built_gpu`]).
pub fn all_matmul_rates(plan: &MatmulPlan, gpu: Option<&Device>) -> Result<Vec<MatmulRate>, Error> {
    let mut rates = matmul_rates(&Device::Cpu, plan)?;
    if let Some(gpu) = gpu {
        rates.extend(matmul_rates(gpu, plan)?);
    }
    Ok(rates)
}

/// The GPU bench was built for (feature `cuda` or `metal`), opened once for every measurement
/// of a calibration; none in a CPU-only build, or when it does not open (a warning says why).
pub fn built_gpu() -> Option<Device> {
    let choice = if cfg!(feature = "cuda") {
        DeviceChoice::Cuda
    } else if cfg!(feature = "metal") {
        DeviceChoice::Metal
    } else {
        return None;
    };
    open(choice)
        .map_err(|e| tracing::warn!("skipping the GPU: {e}"))
        .ok()
}
