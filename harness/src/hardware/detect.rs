//! What bench can tell about this machine's chip and GPUs, gathered from the tools each OS
//! has (sysctl and system_profiler on macOS, `/proc/cpuinfo` on Linux, NVML anywhere with an
//! NVIDIA driver). Facts that a tool does not give stay unknown; nothing here fails.

use std::process::Command;

use serde::{Deserialize, Serialize};

use super::cpuinfo::{self, CpuInfo};
use super::mlx_device::{self, MatrixUnits};
use super::nvidia::{self, Nvidia};
use super::sw_vers::{self, SwVers};
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
    /// An Apple GPU's matrix units (M5's Neural Accelerators): whether it has them, the
    /// architecture MLX reports, and whether an engine says it uses them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matrix_units: Option<MatrixUnits>,
}

impl Facts {
    /// The built-in Apple GPU's core count, where system_profiler gave it.
    pub fn apple_gpu_cores(&self) -> Option<u32> {
        self.mac.as_ref().and_then(|m| m.gpu_cores)
    }
}

/// The macOS tools' outputs: sysctl, system_profiler, sw_vers, and MLX's device answer.
#[derive(Debug, Clone, Default)]
pub struct MacTools {
    /// `sysctl`.
    pub sysctl: Option<Sysctl>,
    /// `system_profiler`.
    pub profile: Option<Profile>,
    /// `sw_vers`: the version and build where sysctl gave none.
    pub sw_vers: Option<SwVers>,
    /// MLX's `device_info`, where a Python with MLX answered.
    pub mlx: Option<MatrixUnits>,
}

/// Put the tools' outputs together. `env_gpus` are [`Environment::gpus`]'s nvidia-smi lines,
/// used for names when NVML gave nothing.
pub fn assemble(
    mac: MacTools,
    cpuinfo: Option<CpuInfo>,
    nvml: Option<Nvidia>,
    env_gpus: &[String],
) -> Facts {
    let MacTools {
        sysctl,
        profile,
        sw_vers,
        mlx,
    } = mac;
    let mut sysctl = sysctl.unwrap_or_default();
    if let Some(sw) = sw_vers {
        sysctl.os_version = sysctl.os_version.or(sw.product_version);
        sysctl.os_build = sysctl.os_build.or(sw.build_version);
    }
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
    let chip = sysctl
        .brand
        .or_else(|| profile.as_ref().and_then(|p| p.chip.clone()))
        .or_else(|| cpuinfo.and_then(|c| c.model));
    // Only an Apple chip has these matrix units to speak of.
    let apple = chip.as_deref().filter(|c| c.starts_with("Apple "));
    let matrix_units = match (mlx, apple) {
        (Some(mlx), Some(brand)) => Some(MatrixUnits {
            present: mlx.present.or(mlx_device::from_chip(brand).present),
            ..mlx
        }),
        (None, Some(brand)) => Some(mlx_device::from_chip(brand)),
        (mlx, None) => mlx,
    };
    Facts {
        chip,
        memory_bytes: sysctl.memory_bytes,
        perf_levels: sysctl.perf_levels,
        os_build,
        mac: profile,
        nvidia,
        matrix_units,
    }
}

/// Probe this machine. On macOS this runs sysctl and system_profiler (about a second, most of
/// it system_profiler's display scan).
pub fn probe(env: &Environment) -> Facts {
    let (mac, cpuinfo) = if cfg!(target_os = "macos") {
        let python = std::env::var("BENCH_MLX_LM_PYTHON").unwrap_or_else(|_| "python3".to_string());
        let mac = MacTools {
            sysctl: run("sysctl", sysctl::ARGS).map(|t| sysctl::parse(&t)),
            profile: run("system_profiler", system_profiler::ARGS)
                .and_then(|text| system_profiler::parse(&text).ok()),
            sw_vers: run("sw_vers", &[]).map(|t| sw_vers::parse(&t)),
            mlx: run(&python, &["-c", mlx_device::SCRIPT]).and_then(|t| mlx_device::parse(&t)),
        };
        (mac, None)
    } else {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .map(|t| cpuinfo::parse(&t));
        (MacTools::default(), cpuinfo)
    };
    let mut facts = assemble(mac, cpuinfo, nvidia::probe_nvml(), &env.gpus);
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
        let mac = MacTools {
            sysctl: Some(s),
            profile: p,
            ..MacTools::default()
        };
        let f = assemble(mac, None, None, &[]);
        assert_eq!(f.chip.as_deref(), Some("Apple M4 Max"));
        assert_eq!(f.apple_gpu_cores(), Some(40));
        assert_eq!(f.os_build.as_deref(), Some("15.1 (24B83)"));
        assert_eq!(f.nvidia, None);
        // An M4's GPU has no matrix units; no engine said anything about their use.
        let units = f.matrix_units.expect("said for an Apple chip");
        assert_eq!(
            (units.present, units.used.as_str()),
            (Some(false), "not reported")
        );
    }

    #[test]
    fn sw_vers_fills_the_build_and_mlx_the_architecture() {
        let sw = sw_vers::parse(include_str!(
            "../../tests/fixtures/hw/sw_vers_documented.txt"
        ));
        let mlx = mlx_device::parse(include_str!(
            "../../tests/fixtures/hw/mlx_device_info_m5_documented.json"
        ));
        let sysctl = sysctl::parse("machdep.cpu.brand_string: Apple M5\n");
        let mac = MacTools {
            sysctl: Some(sysctl),
            sw_vers: Some(sw),
            mlx,
            ..MacTools::default()
        };
        let f = assemble(mac, None, None, &[]);
        assert_eq!(f.os_build.as_deref(), Some("26.2 (25C56)"));
        let units = f.matrix_units.expect("matrix units");
        assert_eq!(units.architecture.as_deref(), Some("applegpu_g17s"));
        assert_eq!(units.present, Some(true));
        assert_eq!(units.used, "not reported");
        // Linux: nothing is said about Apple matrix units.
        let linux = assemble(MacTools::default(), None, None, &[]);
        assert_eq!(linux.matrix_units, None);
    }

    #[test]
    fn without_nvml_gpu_names_come_from_the_environment_lines() {
        let lines = vec!["NVIDIA H100 PCIe, 81559 MiB".to_string()];
        let f = assemble(MacTools::default(), None, None, &lines);
        let nvidia = f.nvidia.unwrap_or_default();
        assert_eq!(nvidia.gpus[0].name, "NVIDIA H100 PCIe");
        assert_eq!(nvidia.driver, None);
    }
}
