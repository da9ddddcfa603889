//! The machine a run ran on.

use serde::{Deserialize, Serialize};

/// What the run manifest records about the machine.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Environment {
    /// Host name.
    pub hostname: String,
    /// Operating system name and version.
    pub os: String,
    /// Kernel version.
    pub kernel: String,
    /// CPU architecture (`x86_64`, `aarch64`).
    pub arch: String,
    /// CPU model (on Apple Silicon, the chip: `Apple M3 Ultra`).
    pub cpu_model: String,
    /// Physical cores, where known.
    pub physical_cores: Option<usize>,
    /// Logical cores.
    pub logical_cores: usize,
    /// Installed memory, bytes.
    pub memory_bytes: u64,
    /// GPUs visible to bench (NVIDIA through `nvidia-smi`; Apple GPUs are part of the chip).
    pub gpus: Vec<String>,
    /// A short id of the hardware and OS (CPU model, cores, memory, GPUs, OS, arch): runs
    /// compare only within one fingerprint unless forced.
    pub fingerprint: String,
}

impl Environment {
    /// Probe this machine.
    pub fn probe() -> Self {
        use sysinfo::System;
        let sys = System::new_with_specifics(
            sysinfo::RefreshKind::nothing()
                .with_memory(sysinfo::MemoryRefreshKind::nothing().with_ram())
                .with_cpu(sysinfo::CpuRefreshKind::nothing()),
        );
        let cpu_model = sys
            .cpus()
            .first()
            .map(|c| c.brand().trim().to_string())
            .filter(|b| !b.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let mut env = Self {
            hostname: System::host_name().unwrap_or_else(|| "unknown".into()),
            os: System::long_os_version().unwrap_or_else(|| std::env::consts::OS.into()),
            kernel: System::kernel_version().unwrap_or_else(|| "unknown".into()),
            arch: std::env::consts::ARCH.into(),
            cpu_model,
            physical_cores: System::physical_core_count(),
            logical_cores: sys.cpus().len().max(1),
            memory_bytes: sys.total_memory(),
            gpus: nvidia_gpus(),
            fingerprint: String::new(),
        };
        env.fingerprint = fingerprint(&env);
        env
    }
}

fn nvidia_gpus() -> Vec<String> {
    let output = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name,memory.total", "--format=csv,noheader"])
        .output();
    match output {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// FNV-1a over the hardware fields: stable across runs and builds.
fn fingerprint(env: &Environment) -> String {
    let text = format!(
        "{}|{}|{:?}|{}|{}|{}|{}",
        env.cpu_model,
        env.arch,
        env.physical_cores,
        env.logical_cores,
        env.memory_bytes / (1 << 30),
        env.gpus.join(";"),
        env.os
    );
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}
