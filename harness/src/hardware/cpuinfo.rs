//! Linux `/proc/cpuinfo`: the CPU model and how many logical CPUs the kernel lists.

use serde::{Deserialize, Serialize};

/// What `/proc/cpuinfo` said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuInfo {
    /// `model name` of the first CPU (x86); on Arm, where there is none, `CPU implementer` and
    /// `CPU part` as `arm implementer 0x41 part 0xd4f`.
    pub model: Option<String>,
    /// `vendor_id` (`GenuineIntel`, `AuthenticAMD`), x86 only.
    pub vendor: Option<String>,
    /// `processor` entries.
    pub logical_cpus: u32,
}

/// Parse `field<TAB>: value` lines; unknown fields and odd lines are skipped.
pub fn parse(text: &str) -> CpuInfo {
    let mut out = CpuInfo::default();
    let (mut implementer, mut part) = (None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "processor" => out.logical_cpus += 1,
            "model name" if out.model.is_none() && !value.is_empty() => {
                out.model = Some(value.to_string());
            }
            "vendor_id" if out.vendor.is_none() && !value.is_empty() => {
                out.vendor = Some(value.to_string());
            }
            "CPU implementer" if implementer.is_none() => implementer = Some(value.to_string()),
            "CPU part" if part.is_none() => part = Some(value.to_string()),
            _ => {}
        }
    }
    if out.model.is_none() {
        if let (Some(i), Some(p)) = (implementer, part) {
            out.model = Some(format!("arm implementer {i} part {p}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_real_capture() {
        let text = include_str!("../../tests/fixtures/hw/proc_cpuinfo_linux_x86_64_xeon_2vcpu.txt");
        let c = parse(text);
        assert_eq!(c.model.as_deref(), Some("Intel(R) Xeon(R) Processor"));
        assert_eq!(c.vendor.as_deref(), Some("GenuineIntel"));
        assert_eq!(c.logical_cpus, 2);
    }

    #[test]
    fn arm_without_a_model_name_is_named_by_implementer_and_part() {
        let c = parse("processor\t: 0\nCPU implementer\t: 0x41\nCPU part\t: 0xd4f\n");
        assert_eq!(c.model.as_deref(), Some("arm implementer 0x41 part 0xd4f"));
        assert_eq!(c.logical_cpus, 1);
    }
}
