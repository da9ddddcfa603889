//! Choosing the compute device and dtype.

use candle_core::{DType, Device};

use crate::Error;

/// Where the in-process engines compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// Apple GPU (feature `metal`).
    Metal,
    /// NVIDIA GPU (feature `cuda`).
    Cuda,
}

/// Open the device, or explain why it cannot be used.
pub fn open(choice: DeviceChoice) -> Result<Device, Error> {
    let unavailable = |device: &str, reason: String| Error::Device {
        device: device.into(),
        reason,
    };
    match choice {
        DeviceChoice::Cpu => Ok(Device::Cpu),
        DeviceChoice::Metal if cfg!(feature = "metal") => Device::new_metal(0).map_err(|e| {
            unavailable(
                "metal",
                format!("cannot open the GPU: {}", without_backtrace(&e)),
            )
        }),
        DeviceChoice::Cuda if cfg!(feature = "cuda") => {
            let device = Device::new_cuda(0).map_err(|e| {
                unavailable(
                    "cuda",
                    format!("cannot open GPU 0: {}", without_backtrace(&e)),
                )
            })?;
            if !super::memory::keep_freed_device_memory(&device) {
                tracing::warn!(
                    "the GPU's memory pool returns freed memory at each synchronization"
                );
            }
            Ok(device)
        }
        DeviceChoice::Metal => Err(unavailable(
            "metal",
            "bench was built without the `metal` feature".into(),
        )),
        DeviceChoice::Cuda => Err(unavailable(
            "cuda",
            "bench was built without the `cuda` feature".into(),
        )),
    }
}

/// A candle error's message without the backtrace candle attaches when `RUST_BACKTRACE` is
/// set: a user-facing reason, not a crash report.
fn without_backtrace(e: &candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => without_backtrace(inner),
        other => other.to_string(),
    }
}

/// The device in words, for the manifest.
pub fn describe(device: &Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(_) => "cuda:0".into(),
        Device::Metal(_) => "metal:0".into(),
    }
}

/// Whether a compute error is the device running out of memory (CUDA's
/// `CUDA_ERROR_OUT_OF_MEMORY`, Metal's failed buffer allocation).
pub fn is_out_of_memory(e: &candle_core::Error) -> bool {
    let text = e.to_string();
    text.contains("OUT_OF_MEMORY") || text.to_lowercase().contains("out of memory")
}

/// Free and total bytes of the device's memory, where the device can tell (CUDA).
pub fn memory_info(device: &Device) -> Option<(u64, u64)> {
    match device {
        #[cfg(feature = "cuda")]
        Device::Cuda(gpu) => gpu
            .cuda_stream()
            .context()
            .mem_get_info()
            .ok()
            .map(|(free, total)| (free as u64, total as u64)),
        _ => None,
    }
}

/// `e` as [`Error::OutOfDeviceMemory`] when the device ran out of memory doing what `needed`
/// describes; otherwise unchanged, through `other`.
pub fn out_of_memory_or(
    e: candle_core::Error,
    device: &Device,
    needed: impl FnOnce() -> String,
    other: impl FnOnce(candle_core::Error) -> Error,
) -> Error {
    if !is_out_of_memory(&e) {
        return other(e);
    }
    let (free, total) = memory_info(device).unzip();
    Error::OutOfDeviceMemory {
        device: describe(device),
        needed: needed(),
        free,
        total,
    }
}

/// candle's dtype for a weight dtype name.
pub fn candle_dtype(dtype: crate::synth::WeightDType) -> DType {
    match dtype {
        crate::synth::WeightDType::F32 => DType::F32,
        crate::synth::WeightDType::F16 => DType::F16,
        crate::synth::WeightDType::BF16 => DType::BF16,
    }
}
