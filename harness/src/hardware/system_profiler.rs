//! macOS `system_profiler SPHardwareDataType SPDisplaysDataType -json`: the Mac's model, the
//! chip, its memory, the GPU core count (which tells bins of one chip apart) and the Metal GPU
//! family.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The arguments bench runs system_profiler with.
pub const ARGS: &[&str] = &["SPHardwareDataType", "SPDisplaysDataType", "-json"];

/// Why system_profiler's output could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProfilerError {
    /// Not JSON at all (a truncated or non-JSON output).
    #[error("system_profiler output is not JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// What system_profiler said.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// `machine_model` (`Mac16,6`).
    pub machine_model: Option<String>,
    /// `machine_name` (`MacBook Pro`).
    pub machine_name: Option<String>,
    /// `chip_type` (`Apple M4 Max`).
    pub chip: Option<String>,
    /// `physical_memory` as given (`48 GB`).
    pub memory: Option<String>,
    /// The built-in GPU's `sppci_model`.
    pub gpu_model: Option<String>,
    /// `sppci_cores`: a string in the output (`"40"`), a number here.
    pub gpu_cores: Option<u32>,
    /// `spdisplays_mtlgpufamilysupport` without its prefix (`metal3`).
    pub metal_family: Option<String>,
}

/// Parse the JSON. Missing keys leave facts unknown; only text that is not JSON is an error.
pub fn parse(text: &str) -> Result<Profile, ProfilerError> {
    let root: Value = serde_json::from_str(text)?;
    let first = |section: &str| {
        root.get(section)
            .and_then(Value::as_array)
            .and_then(|a| a.first())
    };
    let string = |v: Option<&Value>, key: &str| {
        v.and_then(|v| v.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let hardware = first("SPHardwareDataType");
    // The Apple GPU is the display entry with a core count; an eGPU or none at all leaves the
    // GPU facts unknown.
    let gpu = root
        .get("SPDisplaysDataType")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|g| g.get("sppci_cores").is_some()));
    Ok(Profile {
        machine_model: string(hardware, "machine_model"),
        machine_name: string(hardware, "machine_name"),
        chip: string(hardware, "chip_type"),
        memory: string(hardware, "physical_memory"),
        gpu_model: string(gpu, "sppci_model"),
        gpu_cores: gpu
            .and_then(|g| g.get("sppci_cores"))
            .and_then(|c| match c {
                Value::String(s) => s.trim().parse().ok(),
                Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
                _ => None,
            }),
        metal_family: string(gpu, "spdisplays_mtlgpufamilysupport")
            .map(|s| s.trim_start_matches("spdisplays_").to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_output() {
        let text = include_str!("../../tests/fixtures/hw/system_profiler_m4max_documented.json");
        let p = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.machine_model.as_deref(), Some("Mac16,6"));
        assert_eq!(p.machine_name.as_deref(), Some("MacBook Pro"));
        assert_eq!(p.chip.as_deref(), Some("Apple M4 Max"));
        assert_eq!(p.memory.as_deref(), Some("48 GB"));
        assert_eq!(p.gpu_model.as_deref(), Some("Apple M4 Max"));
        assert_eq!(p.gpu_cores, Some(40));
        assert_eq!(p.metal_family.as_deref(), Some("metal3"));
    }

    #[test]
    fn missing_sections_leave_facts_unknown_and_non_json_is_an_error() {
        assert_eq!(parse("{}").ok(), Some(Profile::default()));
        let p = parse(r#"{"SPDisplaysDataType":[{"sppci_cores":"many"}]}"#).ok();
        assert_eq!(p.and_then(|p| p.gpu_cores), None);
        assert!(parse("SPHardwareDataType: truncated").is_err());
    }
}
