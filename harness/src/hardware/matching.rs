//! Which table row a machine's chip and each of its GPUs is.

use serde::{Deserialize, Serialize};

use super::detect::Facts;
use super::table::{Table, Vendor};

/// How one device (the chip, or one NVIDIA GPU model) matched the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Match {
    /// Exactly one row.
    Row {
        /// The device as detected.
        device: String,
        /// The row's id.
        row: String,
    },
    /// Several rows (bins of one chip) and no fact to choose between them.
    Ambiguous {
        /// The device as detected.
        device: String,
        /// The candidate rows.
        rows: Vec<String>,
        /// What was missing.
        reason: String,
    },
    /// No row in the table.
    NoRow {
        /// The device as detected.
        device: String,
    },
}

impl Match {
    /// The matched row's id, if exactly one.
    pub fn row(&self) -> Option<&str> {
        match self {
            Self::Row { row, .. } => Some(row),
            _ => None,
        }
    }
}

/// Match the chip (Apple brand string and GPU core count) and every distinct NVIDIA GPU name.
pub fn match_facts(table: &Table, facts: &Facts) -> Vec<Match> {
    let mut out = Vec::new();
    if let Some(chip) = &facts.chip {
        out.push(match_chip(table, chip, facts.apple_gpu_cores()));
    }
    let mut seen = Vec::new();
    for gpu in facts.nvidia.iter().flat_map(|n| &n.gpus) {
        if !seen.contains(&gpu.name) {
            seen.push(gpu.name.clone());
            out.push(match_nvidia(table, &gpu.name));
        }
    }
    out
}

/// An Apple chip by its exact brand string; the GPU core count picks the bin where bins are
/// rows of their own. A CPU that is not an Apple chip has no row.
pub fn match_chip(table: &Table, brand: &str, gpu_cores: Option<u32>) -> Match {
    let brand = brand.trim();
    let same_chip: Vec<_> = table
        .rows
        .iter()
        .filter(|r| r.vendor == Vendor::Apple && r.brand.as_deref() == Some(brand))
        .collect();
    let fits: Vec<_> = match gpu_cores {
        Some(cores) => same_chip
            .iter()
            .filter(|r| r.gpu_cores.contains(&cores))
            .collect(),
        None => same_chip.iter().collect(),
    };
    let device = match gpu_cores {
        Some(c) => format!("{brand} ({c}-core GPU)"),
        None => brand.to_string(),
    };
    match fits.as_slice() {
        [] => Match::NoRow { device },
        [one] => Match::Row {
            device,
            row: one.id.clone(),
        },
        many => Match::Ambiguous {
            device,
            rows: many.iter().map(|r| r.id.clone()).collect(),
            reason: "the GPU core count, which tells the bins apart, was not detected".into(),
        },
    }
}

/// An NVIDIA GPU by the exact name NVML gives (case and surrounding space aside): variants
/// with other names (H100 NVL, RTX 4090 D, laptop parts) have no row rather than a wrong one.
pub fn match_nvidia(table: &Table, name: &str) -> Match {
    let name = name.trim();
    let row = table.rows.iter().find(|r| {
        r.vendor == Vendor::Nvidia && r.nvml_names.iter().any(|n| n.eq_ignore_ascii_case(name))
    });
    match row {
        Some(r) => Match::Row {
            device: name.to_string(),
            row: r.id.clone(),
        },
        None => Match::NoRow {
            device: name.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table::builtin().unwrap_or_else(|e| panic!("{e}"))
    }

    fn bandwidth(t: &Table, m: &Match) -> Option<f64> {
        m.row()
            .and_then(|id| t.row(id))
            .and_then(|r| r.bandwidth.value)
    }

    #[test]
    fn m4_max_bins_pick_different_bandwidths() {
        let t = table();
        let m32 = match_chip(&t, "Apple M4 Max", Some(32));
        let m40 = match_chip(&t, "Apple M4 Max", Some(40));
        assert_eq!(m32.row(), Some("apple-m4-max-32c"));
        assert_eq!(m40.row(), Some("apple-m4-max-40c"));
        assert_eq!(bandwidth(&t, &m32), Some(410.0));
        assert_eq!(bandwidth(&t, &m40), Some(546.0));
    }

    #[test]
    fn m5_pro_and_max_match_only_their_recorded_bins() {
        let t = table();
        let pro = match_chip(&t, "Apple M5 Pro", Some(20));
        let max = match_chip(&t, "Apple M5 Max", Some(40));
        assert_eq!(pro.row(), Some("apple-m5-pro-20c"));
        assert_eq!(max.row(), Some("apple-m5-max-40c"));
        assert_eq!(bandwidth(&t, &pro), Some(307.0));
        assert_eq!(bandwidth(&t, &max), Some(614.0));
        // Apple's figures are "up to": a smaller bin is no row, not the top bin's figure.
        assert!(matches!(
            match_chip(&t, "Apple M5 Max", Some(32)),
            Match::NoRow { .. }
        ));
        assert!(matches!(
            match_chip(&t, "Apple M5 Ultra", None),
            Match::NoRow { .. }
        ));
    }

    #[test]
    fn a_binned_chip_without_a_core_count_is_ambiguous_and_an_unbinned_one_is_not() {
        let t = table();
        let m = match_chip(&t, "Apple M4 Max", None);
        assert!(
            matches!(m, Match::Ambiguous { ref rows, .. } if rows.len() == 2),
            "{m:?}"
        );
        assert_eq!(
            match_chip(&t, "Apple M2 Ultra", None).row(),
            Some("apple-m2-ultra")
        );
        // A core count no bin has is no row, not the nearest one.
        assert!(matches!(
            match_chip(&t, "Apple M4 Max", Some(36)),
            Match::NoRow { .. }
        ));
    }

    #[test]
    fn h100_sxm_and_pcie_are_told_apart_and_variants_have_no_row() {
        let t = table();
        let sxm = match_nvidia(&t, "NVIDIA H100 80GB HBM3");
        let pcie = match_nvidia(&t, " nvidia h100 pcie ");
        assert_eq!(sxm.row(), Some("nvidia-h100-sxm"));
        assert_eq!(pcie.row(), Some("nvidia-h100-pcie"));
        assert_eq!(bandwidth(&t, &sxm), Some(3350.0));
        assert_eq!(bandwidth(&t, &pcie), Some(2000.0));
        assert_eq!(match_nvidia(&t, "NVIDIA H100 NVL").row(), None);
        assert_eq!(match_nvidia(&t, "NVIDIA GeForce RTX 4090 D").row(), None);
    }

    #[test]
    fn a_line_captured_on_an_h100_matches_the_sxm_row() {
        let text = include_str!("../../tests/fixtures/hw/nvidia_smi_h100_captured.csv");
        let gpus: Vec<_> = text
            .lines()
            .filter_map(super::super::nvidia::parse_smi_line)
            .collect();
        let row = match_nvidia(&table(), &gpus[0].name);
        assert_eq!(row.row(), Some("nvidia-h100-sxm"));
    }

    #[test]
    fn every_documented_gpu_name_and_a_linux_cpu_match_as_expected() {
        let t = table();
        let text = include_str!("../../tests/fixtures/hw/nvidia_smi_name_memory_documented.csv");
        let rows: Vec<_> = text
            .lines()
            .filter_map(super::super::nvidia::parse_smi_line)
            .map(|g| match_nvidia(&t, &g.name).row().map(String::from))
            .collect();
        let expected = [
            Some("nvidia-h100-sxm"),
            Some("nvidia-h100-pcie"),
            Some("nvidia-h200-sxm"),
            Some("nvidia-a100-sxm4-80gb"),
            Some("nvidia-rtx-4090"),
            None,
        ];
        assert_eq!(rows, expected.map(|r| r.map(String::from)));
        let cpu = match_chip(&t, "Intel(R) Xeon(R) Processor", None);
        assert_eq!(
            cpu,
            Match::NoRow {
                device: "Intel(R) Xeon(R) Processor".into()
            }
        );
    }
}
