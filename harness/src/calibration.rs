//! The device's measured ceilings (`bench calibrate`), stored per machine so rates measured in
//! runs can be read as fractions of them.
//!
//! One file per machine: `<results>/calibration/<fingerprint>.json`, the fingerprint being
//! [`Environment::fingerprint`]. Next to the runs, so a results folder carried to another
//! machine keeps the ceilings its runs were measured against; a new calibration of the same
//! machine replaces the file.

use std::path::{Path, PathBuf};

use bench_workloads::calibrate::{gpu_read::GpuReadRate, read::ReadRate, MatmulRate};
use serde::{Deserialize, Serialize};

use crate::environment::Environment;

/// What `bench calibrate` measured on one machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The machine's fingerprint (also the file's name).
    pub fingerprint: String,
    /// The machine as probed when calibrating.
    pub environment: Environment,
    /// When, RFC 3339 UTC.
    pub measured_at: String,
    /// Matrix-multiply rates per device, dtype and size.
    pub matmul: Vec<MatmulRate>,
    /// CPU memory-read bandwidth.
    pub memory_read: ReadRate,
    /// GPU memory-read bandwidth, per GPU measured (none in a CPU-only build, or before GPUs
    /// were calibrated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpu_memory_read: Vec<GpuReadRate>,
}

/// Why a calibration could not be stored or read.
#[derive(Debug, thiserror::Error)]
pub enum CalibrationError {
    /// Writing or reading the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The file is not a calibration.
    #[error("{}: not a calibration: {source}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The parse failure.
        source: serde_json::Error,
    },
}

impl Calibration {
    /// The best rate measured for `device` and `dtype`, GFLOP/s, over all sizes.
    pub fn peak_gflops(&self, device: &str, dtype: &str) -> Option<f64> {
        self.matmul
            .iter()
            .filter(|r| r.device == device && r.dtype == dtype)
            .map(|r| r.gflops)
            .reduce(f64::max)
    }

    /// The memory-read bandwidth measured on `device` (`cpu`, `cuda:0`), GB/s.
    pub fn read_gb_per_s(&self, device: &str) -> Option<f64> {
        if device == "cpu" {
            return Some(self.memory_read.gb_per_s);
        }
        self.gpu_memory_read
            .iter()
            .find(|r| r.device == device)
            .map(|r| r.gb_per_s)
    }

    /// Where the calibration of machine `fingerprint` lives under `results`.
    pub fn path(results: &Path, fingerprint: &str) -> PathBuf {
        results
            .join("calibration")
            .join(format!("{fingerprint}.json"))
    }

    /// Write it to [`Self::path`] (through a temporary file, so a reader never sees half of
    /// one), and return the path.
    pub fn save(&self, results: &Path) -> Result<PathBuf, CalibrationError> {
        let path = Self::path(results, &self.fingerprint);
        let io = |source| CalibrationError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text =
            serde_json::to_string_pretty(self).map_err(|source| CalibrationError::Format {
                path: path.clone(),
                source,
            })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n").map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(path)
    }

    /// Read the calibration of machine `fingerprint`, if one was stored.
    pub fn load(results: &Path, fingerprint: &str) -> Result<Option<Self>, CalibrationError> {
        let path = Self::path(results, fingerprint);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CalibrationError::Io { path, source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| CalibrationError::Format { path, source })
    }
}
