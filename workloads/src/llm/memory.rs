//! Peak memory of one measurement: the process's resident set on the host and, on an NVIDIA
//! GPU, the device allocator's high-water mark.

use candle_core::Device;

use crate::engine::PeakMemory;

/// Start a fresh peak: on Linux, writing `5` to `/proc/self/clear_refs` resets the
/// resident-set high-water mark. Returns whether the platform supports it.
pub fn reset_peak() -> bool {
    cfg!(target_os = "linux") && std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The resident-set high-water mark since the last [`reset_peak`] (`VmHWM`), Linux only.
/// Mapped weight files count once their pages are touched.
pub fn read_peak(was_reset: bool) -> Option<PeakMemory> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(PeakMemory {
        bytes: kib * 1024,
        method: if was_reset {
            "process-rss-hwm"
        } else {
            "process-rss-hwm-since-start"
        },
    })
}

/// Start a fresh device-memory peak on `device`. Returns whether the device can report one
/// (an NVIDIA GPU whose allocations go through its stream-ordered memory pool).
pub fn reset_device_peak(device: &Device) -> bool {
    match device {
        #[cfg(feature = "cuda")]
        Device::Cuda(gpu) => cuda_pool::reset_used_high(gpu).is_some(),
        _ => false,
    }
}

/// The device allocator's peak since [`reset_device_peak`]: bytes in use at the high-water
/// mark of the GPU's memory pool (tensors only; the CUDA context, cuBLAS workspaces and
/// kernels are not in it). `None` on the CPU and Metal, and where the reset failed.
pub fn read_device_peak(device: &Device, was_reset: bool) -> Option<PeakMemory> {
    if !was_reset {
        return None;
    }
    match device {
        #[cfg(feature = "cuda")]
        Device::Cuda(gpu) => cuda_pool::used_high(gpu).map(|bytes| PeakMemory {
            bytes,
            method: "cuda-mempool-used-high",
        }),
        _ => None,
    }
}

/// Let the GPU's memory pool keep what tensors free, for the process's lifetime, instead of
/// returning it to the driver at every synchronization (the pool's default release threshold is
/// 0). candle allocates each tensor from the pool (`cuMemAllocAsync`); with the default, every
/// timed step or generated token, which ends in a synchronization, maps its working memory
/// afresh. PyTorch's caching allocator keeps freed memory the same way. Returns whether the
/// setting took (false on the CPU and Metal).
pub fn keep_freed_device_memory(device: &Device) -> bool {
    match device {
        #[cfg(feature = "cuda")]
        Device::Cuda(gpu) => cuda_pool::keep_freed(gpu).is_some(),
        _ => false,
    }
}

/// The CUDA memory pool candle allocates from (`cuMemAllocAsync`): its high-water mark and
/// what it keeps of freed memory.
#[cfg(feature = "cuda")]
mod cuda_pool {
    use candle_core::cuda_backend::cudarc::driver::{result, sys};
    use candle_core::cuda_backend::CudaDevice;

    fn pool(gpu: &CudaDevice) -> Option<sys::CUmemoryPool> {
        let stream = gpu.cuda_stream();
        let context = stream.context();
        if !context.has_async_alloc() {
            return None;
        }
        // SAFETY: the device handle comes from a live context.
        unsafe { result::device::get_mem_pool(context.cu_device()) }.ok()
    }

    /// Keep freed memory in the pool (release threshold: all of it).
    pub fn keep_freed(gpu: &CudaDevice) -> Option<()> {
        let pool = pool(gpu)?;
        let mut threshold: u64 = u64::MAX;
        // SAFETY: RELEASE_THRESHOLD takes a cuuint64_t, the bytes the pool may hold unused.
        unsafe {
            result::mem_pool::set_attribute(
                pool,
                sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                (&mut threshold as *mut u64).cast(),
            )
        }
        .ok()
    }

    /// Reset the mark to what is in use now. `None` where the pool cannot be read.
    pub fn reset_used_high(gpu: &CudaDevice) -> Option<()> {
        let pool = pool(gpu)?;
        gpu.cuda_stream().synchronize().ok()?;
        let mut zero: u64 = 0;
        // SAFETY: USED_MEM_HIGH takes a cuuint64_t; setting it to 0 resets it to the
        // current use, as the driver API documents.
        unsafe {
            result::mem_pool::set_attribute(
                pool,
                sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_USED_MEM_HIGH,
                (&mut zero as *mut u64).cast(),
            )
        }
        .ok()
    }

    /// Bytes in use at the mark, after the device's queued work has finished.
    pub fn used_high(gpu: &CudaDevice) -> Option<u64> {
        let pool = pool(gpu)?;
        gpu.cuda_stream().synchronize().ok()?;
        let mut bytes: u64 = 0;
        // SAFETY: USED_MEM_HIGH is read into a cuuint64_t.
        unsafe {
            result::mem_pool::get_attribute(
                pool,
                sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_USED_MEM_HIGH,
                (&mut bytes as *mut u64).cast(),
            )
        }
        .ok()?;
        Some(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_has_no_device_peak() {
        assert!(!reset_device_peak(&Device::Cpu));
        assert_eq!(read_device_peak(&Device::Cpu, true), None);
    }
}
