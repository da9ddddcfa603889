//! macOS `sysctl` output: the chip's brand string, memory size, CPU performance levels and OS
//! build, from
//! `sysctl machdep.cpu.brand_string hw.memsize hw.perflevel0 hw.perflevel1 kern.osversion kern.osproductversion`.

use serde::{Deserialize, Serialize};

/// The sysctl command bench runs, and what [`parse`] reads.
pub const ARGS: &[&str] = &[
    "machdep.cpu.brand_string",
    "hw.memsize",
    "hw.perflevel0",
    "hw.perflevel1",
    "kern.osversion",
    "kern.osproductversion",
];

/// One CPU performance level (`hw.perflevelN`): 0 is the performance cores, 1 the efficiency
/// cores.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerfLevel {
    /// `hw.perflevelN.name` (`Performance`, `Efficiency`).
    pub name: String,
    /// `hw.perflevelN.logicalcpu`.
    pub logical_cpus: Option<u32>,
}

/// What sysctl said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sysctl {
    /// `machdep.cpu.brand_string` (`Apple M4 Max`).
    pub brand: Option<String>,
    /// `hw.memsize`, bytes.
    pub memory_bytes: Option<u64>,
    /// `hw.perflevel0`, `hw.perflevel1`, in order.
    pub perf_levels: Vec<PerfLevel>,
    /// `kern.osversion`: the macOS build (`24B83`).
    pub os_build: Option<String>,
    /// `kern.osproductversion` (`15.1`).
    pub os_version: Option<String>,
}

/// The `key: value` lines of `text` (sysctl's, sw_vers's), both sides trimmed; lines without
/// a colon or with an empty value are skipped.
pub(crate) fn fields(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|line| {
        let (key, value) = line.split_once(':')?;
        let value = value.trim();
        (!value.is_empty()).then(|| (key.trim(), value))
    })
}

/// Read `key: value` lines. Lines that are not (sysctl's complaints about an unknown name go
/// to stderr, but a wrapper may merge them) and values that do not parse are skipped: a
/// missing fact is reported as unknown, never as an error.
pub fn parse(text: &str) -> Sysctl {
    let mut out = Sysctl::default();
    for (key, value) in fields(text) {
        match key {
            "machdep.cpu.brand_string" => out.brand = Some(value.to_string()),
            "hw.memsize" => out.memory_bytes = value.parse().ok(),
            "kern.osversion" => out.os_build = Some(value.to_string()),
            "kern.osproductversion" => out.os_version = Some(value.to_string()),
            key => {
                if let Some((level, field)) = perf_level_key(key) {
                    if out.perf_levels.len() <= level {
                        out.perf_levels.resize(level + 1, PerfLevel::default());
                    }
                    match field {
                        "name" => out.perf_levels[level].name = value.to_string(),
                        "logicalcpu" => out.perf_levels[level].logical_cpus = value.parse().ok(),
                        _ => {}
                    }
                }
            }
        }
    }
    out
}

/// `hw.perflevel1.logicalcpu` → (1, "logicalcpu"). Levels above 7 are not Apple's and are
/// ignored, so a damaged line cannot make a huge vector.
fn perf_level_key(key: &str) -> Option<(usize, &str)> {
    let rest = key.strip_prefix("hw.perflevel")?;
    let (level, field) = rest.split_once('.')?;
    let level: usize = level.parse().ok()?;
    (level < 8).then_some((level, field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_output() {
        let text = include_str!("../../tests/fixtures/hw/sysctl_m4max_documented.txt");
        let s = parse(text);
        assert_eq!(s.brand.as_deref(), Some("Apple M4 Max"));
        assert_eq!(s.memory_bytes, Some(48 * (1 << 30)));
        assert_eq!(s.os_build.as_deref(), Some("24B83"));
        assert_eq!(s.os_version.as_deref(), Some("15.1"));
        assert_eq!(s.perf_levels.len(), 2);
        assert_eq!(s.perf_levels[0].name, "Performance");
        assert_eq!(s.perf_levels[0].logical_cpus, Some(12));
        assert_eq!(s.perf_levels[1].name, "Efficiency");
        assert_eq!(s.perf_levels[1].logical_cpus, Some(4));
    }

    #[test]
    fn damage_leaves_facts_unknown() {
        let s = parse("hw.memsize: lots\nhw.perflevel999.name: X\nno colon\nkern.osversion:\n");
        assert_eq!(s, Sysctl::default());
    }
}
