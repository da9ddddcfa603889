//! Which ceiling a case's rates are held against: the matched hardware-table row for a GPU
//! (its dense FP16/BF16 throughput and memory bandwidth), else the calibration `bench
//! calibrate` stored for the run's machine (matmul rate per device and dtype; the CPU's memory
//! read rate), else none.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::calibration::{Calibration, CalibrationError};
use crate::hardware::table::{Row, Table, Vendor};
use crate::store::Manifest;

pub use super::work::canonical_dtype;
use super::work::EngineView;

/// A ceiling and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ceiling {
    /// FLOP/s for compute, bytes/s for memory.
    pub value: f64,
    /// `table:<row id>` or `calibration:<file name>`.
    pub source: String,
    /// What the figure is of: the dtype of a compute peak (`bf16`), `memory` for bandwidth.
    pub of: String,
}

/// Everything a run offers to find ceilings and costs in.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Each target's engine, as the manifest describes it (targets that failed to load are
    /// absent).
    pub engines: BTreeMap<String, EngineView>,
    /// The hardware-table rows the run's devices matched.
    pub rows: Vec<Row>,
    /// The calibration of the run's machine and its file name.
    pub calibration: Option<(String, Calibration)>,
}

impl Sources {
    /// Read the engines and matched rows of `manifest` (rows looked up in `table`), with the
    /// machine's `calibration` (file name, contents) where one was stored.
    pub fn of(
        manifest: &Manifest,
        table: &Table,
        calibration: Option<(String, Calibration)>,
    ) -> Self {
        let engines = manifest
            .engines
            .iter()
            .filter_map(|(target, value)| {
                let view = serde_json::from_value::<EngineView>(value.clone()).ok()?;
                Some((target.clone(), view))
            })
            .collect();
        let rows = manifest
            .hardware
            .iter()
            .flat_map(|h| &h.matches)
            .filter_map(|m| m.row())
            .filter_map(|id| table.rows.iter().find(|r| r.id == id).cloned())
            .collect();
        Self {
            engines,
            rows,
            calibration,
        }
    }

    /// [`Self::of`] a run stored under `results`, with the calibration stored there for the
    /// manifest's machine fingerprint (none when it was never calibrated).
    pub fn load(
        results: &Path,
        manifest: &Manifest,
        table: &Table,
    ) -> Result<Self, CalibrationError> {
        let fingerprint = &manifest.environment.fingerprint;
        let calibration =
            Calibration::load(results, fingerprint)?.map(|c| (format!("{fingerprint}.json"), c));
        Ok(Self::of(manifest, table, calibration))
    }

    /// The engine of `target`.
    pub fn engine(&self, target: &str) -> Option<EngineView> {
        self.engines.get(target).cloned()
    }

    /// The table row of a GPU `device` (`cuda:0` → the NVIDIA row, `metal:0` → the Apple
    /// chip's row); none for the CPU, whose row's figures are the GPU's.
    fn gpu_row(&self, device: &str) -> Option<&Row> {
        let vendor = if device.starts_with("cuda") {
            Vendor::Nvidia
        } else if device.starts_with("metal") {
            Vendor::Apple
        } else {
            return None;
        };
        self.rows.iter().find(|r| r.vendor == vendor)
    }

    /// Peak FLOP/s of `device` multiplying in `dtype`. The table's figure is dense FP16/BF16,
    /// so it serves those dtypes only; other dtypes and devices fall to the calibration.
    pub fn compute(&self, device: &str, dtype: &str) -> Option<Ceiling> {
        let dtype = canonical_dtype(dtype)?;
        let table = self
            .gpu_row(device)
            .filter(|_| matches!(dtype, "bf16" | "f16"))
            .and_then(|row| {
                let tflops = row.matrix.value.filter(|v| *v > 0.0)?;
                Some(Ceiling {
                    value: tflops * 1e12,
                    source: format!("table:{}", row.id),
                    of: dtype.to_string(),
                })
            });
        table.or_else(|| {
            let (file, cal) = self.calibration.as_ref()?;
            let gflops = cal.peak_gflops(device, dtype).filter(|v| *v > 0.0)?;
            Some(Ceiling {
                value: gflops * 1e9,
                source: format!("calibration:{file}"),
                of: dtype.to_string(),
            })
        })
    }

    /// Memory bandwidth of `device`, bytes/s: the GPU's table row, else the calibrated read
    /// rate of that device (the CPU's, or a CUDA GPU's).
    pub fn memory(&self, device: &str) -> Option<Ceiling> {
        if let Some(row) = self.gpu_row(device) {
            let gbps = row.bandwidth.value.filter(|v| *v > 0.0)?;
            return Some(Ceiling {
                value: gbps * 1e9,
                source: format!("table:{}", row.id),
                of: "memory".into(),
            });
        }
        let (file, cal) = self.calibration.as_ref()?;
        let gbps = cal.read_gb_per_s(device)?;
        (gbps > 0.0).then(|| Ceiling {
            value: gbps * 1e9,
            source: format!("calibration:{file}"),
            of: "memory".into(),
        })
    }
}
