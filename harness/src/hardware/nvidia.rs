//! NVIDIA GPUs: their names (what the table matches), memory, compute capability, and the
//! driver and CUDA versions. Read through NVML where the driver's library loads; otherwise
//! the names come from the `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader`
//! lines [`crate::environment::Environment::gpus`] already holds.

use serde::{Deserialize, Serialize};

/// One NVIDIA GPU.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NvidiaGpu {
    /// The name NVML gives (`NVIDIA H100 80GB HBM3`).
    pub name: String,
    /// Total memory, MiB, where known.
    pub memory_mib: Option<u64>,
    /// CUDA compute capability (`9.0`), from NVML.
    pub compute_capability: Option<String>,
}

/// The NVIDIA side of a machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nvidia {
    /// Every GPU, in NVML's order.
    pub gpus: Vec<NvidiaGpu>,
    /// Driver version (`580.65.06`), from NVML.
    pub driver: Option<String>,
    /// The CUDA version the driver supports (`13.0`), from NVML.
    pub cuda: Option<String>,
}

/// One `name, memory.total` line of nvidia-smi's CSV (`NVIDIA H100 PCIe, 81559 MiB`). The name
/// may itself hold a comma in principle, so memory is taken from the last field only when it
/// reads as `N MiB`.
pub fn parse_smi_line(line: &str) -> Option<NvidiaGpu> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let (name, memory_mib) = match line.rsplit_once(',') {
        Some((name, last)) => match last.trim().strip_suffix("MiB").map(|n| n.trim().parse()) {
            Some(Ok(mib)) => (name.trim(), Some(mib)),
            _ => (line, None),
        },
        None => (line, None),
    };
    Some(NvidiaGpu {
        name: name.to_string(),
        memory_mib,
        compute_capability: None,
    })
}

/// Ask NVML; `None` where it does not load or sees no GPU (then the caller falls back to
/// nvidia-smi's lines).
pub fn probe_nvml() -> Option<Nvidia> {
    let nvml = nvml_wrapper::Nvml::init().ok()?;
    let count = nvml.device_count().ok()?;
    let mut gpus = Vec::new();
    for i in 0..count {
        let Ok(device) = nvml.device_by_index(i) else {
            continue;
        };
        gpus.push(NvidiaGpu {
            name: device.name().unwrap_or_else(|_| "unknown GPU".into()),
            memory_mib: device.memory_info().ok().map(|m| m.total / (1 << 20)),
            compute_capability: device
                .cuda_compute_capability()
                .ok()
                .map(|c| format!("{}.{}", c.major, c.minor)),
        });
    }
    if gpus.is_empty() {
        return None;
    }
    // NVML gives the CUDA version as 1000 * major + 10 * minor.
    let cuda = nvml
        .sys_cuda_driver_version()
        .ok()
        .map(|v| format!("{}.{}", v / 1000, (v % 1000) / 10));
    Some(Nvidia {
        gpus,
        driver: nvml.sys_driver_version().ok(),
        cuda,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_csv_lines() {
        let text = include_str!("../../tests/fixtures/hw/nvidia_smi_name_memory_documented.csv");
        let gpus: Vec<_> = text.lines().filter_map(parse_smi_line).collect();
        let names: Vec<_> = gpus.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "NVIDIA H100 80GB HBM3",
                "NVIDIA H100 PCIe",
                "NVIDIA H200",
                "NVIDIA A100-SXM4-80GB",
                "NVIDIA GeForce RTX 4090",
                "NVIDIA H100 NVL",
            ]
        );
        assert_eq!(gpus[0].memory_mib, Some(81559));
    }

    #[test]
    fn reads_a_line_captured_on_an_h100() {
        let text = include_str!("../../tests/fixtures/hw/nvidia_smi_h100_captured.csv");
        let gpus: Vec<_> = text.lines().filter_map(parse_smi_line).collect();
        assert_eq!(gpus.len(), 1);
        assert_eq!(gpus[0].name, "NVIDIA H100 80GB HBM3");
        assert_eq!(gpus[0].memory_mib, Some(81559));
    }

    #[test]
    fn a_line_without_memory_keeps_its_whole_name() {
        let g = parse_smi_line("Some GPU, Rev. B").unwrap_or_default();
        assert_eq!((g.name.as_str(), g.memory_mib), ("Some GPU, Rev. B", None));
        assert_eq!(parse_smi_line("   "), None);
    }
}
