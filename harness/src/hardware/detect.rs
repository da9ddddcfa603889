//! What bench can tell about this machine's chip and GPUs, gathered from the tools each OS
//! has (sysctl and system_profiler on macOS, `/proc/cpuinfo` on Linux, NVML anywhere with an
//! NVIDIA driver). Facts that a tool does not give stay unknown; nothing here fails.

use std::process::Command;

use serde::{Deserialize, Serialize};

use super::cpuinfo::{self, CpuInfo};
use super::nvidia::{self, Nvidia};
use super::sysctl::{self, PerfLevel, Sysctl};
use super::system_profiler::{self, Profile};
use crate::environment::Environment;

/// The facts the table is matched on, and those that change speed. What
/// [`Environment`] already records (host, OS name, core counts) is not repeated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The chip or CPU: sysctl's brand string on macOS, `/proc/cpuinfo`'s model on Linux.
    pub chip: Option<String>,
    /// Installed memory, bytes, as the OS tool gives it.
    #[serde(default)]
    pub memory_bytes: Option<u64>,
    /// macOS CPU performance levels (performance and efficiency cores).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub perf_levels: Vec<PerfLevel>,
    /// macOS version and build (`15.1 (24B83)`).
    #[serde(default)]
    pub os_build: Option<String>,
    /// The Mac's model and built-in GPU (cores, Metal family), from system_profiler.
    #[serde(default)]
    pub mac: Option<Profile>,
    /// NVIDIA GPUs, driver and CUDA.
    #[serde(default)]
    pub nvidia: Option<Nvidia>,
}

impl Facts {
    /// The built-in Apple GPU's core count, where system_profiler gave it.
    pub fn apple_gpu_cores(&self) -> Option<u32> {
        self.mac.as_ref().and_then(|m| m.gpu_cores)
    }
}

/// Put the tools' outputs together. `env_gpus` are [`Environment::gpus`]'s nvidia-smi lines,
/// used for names when NVML gave nothing.
pub fn assemble(
    sysctl: Option<Sysctl>,
    profile: Option<Profile>,
    cpuinfo: Option<CpuInfo>,
    nvml: Option<Nvidia>,
    env_gpus: &[String],
) -> Facts {
    let sysctl = sysctl.unwrap_or_default();
    let os_build = match (&sysctl.os_version, &sysctl.os_build) {
        (Some(v), Some(b)) => Some(format!("{v} ({b})")),
        (v, b) => v.clone().or_else(|| b.clone()),
    };
    let nvidia = nvml.or_else(|| {
        let gpus: Vec<_> = env_gpus
            .iter()
            .filter_map(|l| nvidia::parse_smi_line(l))
            .collect();
        (!gpus.is_empty()).then(|| Nvidia {
            gpus,
            ..Nvidia::default()
        })
    });
    Facts {
        chip: sysctl
            .brand
            .or_else(|| profile.as_ref().and_then(|p| p.chip.clone()))
            .or_else(|| cpuinfo.and_then(|c| c.model)),
        memory_bytes: sysctl.memory_bytes,
        perf_levels: sysctl.perf_levels,
        os_build,
        mac: profile,
        nvidia,
    }
}

/// Probe this machine. On macOS this runs sysctl and system_profiler (about a second, most of
/// it system_profiler's display scan).
pub fn probe(env: &Environment) -> Facts {
    let (sysctl, profile, cpuinfo) = if cfg!(target_os = "macos") {
        let profile = run("system_profiler", system_profiler::ARGS)
            .and_then(|text| system_profiler::parse(&text).ok());
        (
            run("sysctl", sysctl::ARGS).map(|t| sysctl::parse(&t)),
            profile,
            None,
        )
    } else {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .map(|t| cpuinfo::parse(&t));
        (None, None, cpuinfo)
    };
    let mut facts = assemble(sysctl, profile, cpuinfo, nvidia::probe_nvml(), &env.gpus);
    if facts.chip.is_none() && env.cpu_model != "unknown" {
        facts.chip = Some(env.cpu_model.clone());
    }
    facts
}

/// A tool's standard output, whatever its exit status (sysctl exits non-zero when one of
/// several names is unknown, e.g. `hw.perflevel1` on a chip with one level, yet prints the
/// rest); `None` when it cannot be started.
fn run(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_facts_come_from_sysctl_and_system_profiler() {
        let s = sysctl::parse(include_str!(
            "../../tests/fixtures/hw/sysctl_m4max_documented.txt"
        ));
        let p = system_profiler::parse(include_str!(
            "../../tests/fixtures/hw/system_profiler_m4max_documented.json"
        ))
        .ok();
        let f = assemble(Some(s), p, None, None, &[]);
        assert_eq!(f.chip.as_deref(), Some("Apple M4 Max"));
        assert_eq!(f.apple_gpu_cores(), Some(40));
        assert_eq!(f.os_build.as_deref(), Some("15.1 (24B83)"));
        assert_eq!(f.nvidia, None);
    }

    #[test]
    fn without_nvml_gpu_names_come_from_the_environment_lines() {
        let lines = vec!["NVIDIA H100 PCIe, 81559 MiB".to_string()];
        let f = assemble(None, None, None, None, &lines);
        let nvidia = f.nvidia.unwrap_or_default();
        assert_eq!(nvidia.gpus[0].name, "NVIDIA H100 PCIe");
        assert_eq!(nvidia.driver, None);
    }
}
