//! Memory-read bandwidth of a GPU, with bench's own kernel (`gpu_read.cu`): a streaming sum over
//! a buffer many times the size of the GPU's last-level cache, the access pattern of decode.
//! CUDA only; on Metal and the CPU there is nothing to measure here (the CPU has
//! [`super::read`]).

use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::Error;

/// One measured GPU read bandwidth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GpuReadRate {
    /// `cuda:0`.
    pub device: String,
    /// Bytes of the buffer read per pass.
    pub bytes: u64,
    /// Passes per timing (back to back, then one synchronize), so that launch and
    /// synchronization costs are a small part of each timing.
    pub passes: usize,
    /// Timings (after one warm-up); the fastest counts.
    pub trials: usize,
    /// Best timing: bytes × passes / seconds, in GB/s (10⁹ bytes).
    pub gb_per_s: f64,
}

/// Read a buffer of `bytes` on `device` `passes` times per timing, `trials` timings, and keep the
/// fastest. An error on a device bench has no read kernel for.
pub fn gpu_read_rate(
    device: &Device,
    bytes: u64,
    passes: usize,
    trials: usize,
) -> Result<GpuReadRate, Error> {
    // Whole 16-byte loads; at least one pass and one timing.
    let (read, passes, trials) = (bytes / 16 * 16, passes.max(1), trials.max(1));
    #[cfg(feature = "cuda")]
    if let Device::Cuda(cuda) = device {
        let seconds = cuda::best_time(device, cuda, read, passes, trials)?;
        return Ok(GpuReadRate {
            device: crate::llm::device::describe(device),
            bytes: read,
            passes,
            trials,
            gb_per_s: super::read::gb_per_s(read * passes as u64, seconds),
        });
    }
    let _ = (read, passes, trials);
    Err(Error::Compute(candle_core::Error::Msg(format!(
        "bench has no memory-read kernel for {}",
        crate::llm::device::describe(device)
    ))))
}

#[cfg(feature = "cuda")]
mod cuda {
    use std::time::Instant;

    use candle_core::cuda_backend::cudarc::driver::{LaunchConfig, PushKernelArg};
    use candle_core::cuda_backend::WrapErr;
    use candle_core::{CudaDevice, Device, Result};

    use crate::kernels::nvrtc::Source;

    static SOURCE: Source = Source::new("gpu_read.cu", include_str!("gpu_read.cu"));

    /// The fastest of `trials` timings of `passes` reads of `bytes` (a multiple of 16), seconds.
    pub fn best_time(
        any: &Device,
        device: &CudaDevice,
        bytes: u64,
        passes: usize,
        trials: usize,
    ) -> Result<f64> {
        let func = device.get_or_load_custom_func("read_sum", "bench_gpu_read", SOURCE.ptx()?)?;
        let values = (bytes / 4) as usize;
        // Ones, not zeros: nothing may be read from a page the driver knows is untouched.
        let host = vec![1f32; values];
        let buffer = device.clone_htod(&host)?;
        let out = device.alloc_zeros::<f32>(1)?;
        let n = (values / 4) as i64;
        let config = LaunchConfig {
            grid_dim: (2048, 1, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        let pass = || -> Result<()> {
            let mut args = func.builder();
            args.arg(&buffer).arg(&n).arg(&out);
            // SAFETY: (const f32x4*, long, float*): `n` 16-byte elements in `buffer`, one float
            // in `out`.
            unsafe { args.launch(config) }.w()?;
            Ok(())
        };
        pass()?;
        any.synchronize()?;
        let mut best = f64::INFINITY;
        for _ in 0..trials {
            let started = Instant::now();
            for _ in 0..passes {
                pass()?;
            }
            any.synchronize()?;
            best = best.min(started.elapsed().as_secs_f64());
        }
        Ok(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_has_no_gpu_read_kernel() {
        let err = gpu_read_rate(&Device::Cpu, 1 << 20, 1, 1).unwrap_err();
        assert!(
            err.to_string().contains("no memory-read kernel for cpu"),
            "{err}"
        );
    }
}
