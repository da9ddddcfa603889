//! A run folder read back whole, without changing it: the input of `bench compare`, `bench
//! gate`, `bench history` and `bench report`.

use std::path::{Path, PathBuf};

use super::{
    read_jsonl, read_pattern_runs, read_tool_runs, Manifest, PatternRun, Record, RunStatus,
    StoreError, ToolRun, MANIFEST, MEASUREMENTS, STORE_FORMAT,
};

/// Everything a run folder holds, read once.
#[derive(Debug, Clone)]
pub struct StoredRun {
    /// The folder.
    pub dir: PathBuf,
    /// `manifest.json`.
    pub manifest: Manifest,
    /// `measurements.jsonl`.
    pub records: Vec<Record>,
    /// The pattern runs of `loads.jsonl`, the field named for its file (empty when the run
    /// had no load case).
    pub loads: Vec<PatternRun>,
    /// `tool_runs.jsonl` (empty when no engine tool ran).
    pub tool_runs: Vec<ToolRun>,
}

impl StoredRun {
    /// Read the run in `dir`. A last line cut off by a killed session is left out (a running
    /// or killed run can be read); any other damage is an error naming file and line.
    pub fn read(dir: &Path) -> Result<Self, StoreError> {
        let manifest_path = dir.join(MANIFEST);
        if !manifest_path.is_file() {
            return Err(StoreError::Corrupt {
                path: dir.to_path_buf(),
                line: 0,
                reason: format!("not a bench run: it has no {MANIFEST}"),
            });
        }
        let manifest = read_manifest(&manifest_path)?;
        let measurements = dir.join(MEASUREMENTS);
        let records = if measurements.exists() {
            read_jsonl(&measurements, "a bench measurement")?
        } else {
            Vec::new()
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
            records,
            loads: read_pattern_runs(dir)?,
            tool_runs: read_tool_runs(dir)?,
        })
    }

    /// The run's id.
    pub fn id(&self) -> &str {
        &self.manifest.run_id
    }

    /// A warning for readers when the run is not complete: still being written, killed, or
    /// ended with measurements missing. Readers use what is stored so far.
    pub fn unfinished_note(&self) -> Option<String> {
        if self.manifest.status == RunStatus::Complete {
            return None;
        }
        let status = serde_json::to_value(self.manifest.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Some(format!(
            "{} is not complete (status {status}: still being written, stopped, or missing \
             measurements); read as it stands, with {} measurement(s) stored. \
             `bench run --resume {}` finishes it",
            self.dir.display(),
            self.records.len(),
            self.dir.display()
        ))
    }
}

/// Read and check a `manifest.json`.
pub fn read_manifest(path: &Path) -> Result<Manifest, StoreError> {
    let text = std::fs::read_to_string(path).map_err(super::io(path))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        line: e.line(),
        reason: format!("not a bench manifest: {e}"),
    })?;
    if manifest.format != STORE_FORMAT {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            line: 0,
            reason: format!(
                "store format {} is not the {STORE_FORMAT} this bench reads",
                manifest.format
            ),
        });
    }
    Ok(manifest)
}

/// Read a run from a run folder or a baseline file, whichever `path` is.
pub fn read_run_or_baseline(path: &Path) -> Result<StoredRun, StoreError> {
    if path.is_file() {
        super::read_baseline(path)
    } else if path.is_dir() {
        StoredRun::read(path)
    } else {
        Err(StoreError::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such run folder or baseline file",
            ),
        })
    }
}

/// The newest run folder under `root` (by start time), if any.
pub fn newest_run(root: &Path) -> Result<Option<PathBuf>, StoreError> {
    let entries = std::fs::read_dir(root).map_err(super::io(root))?;
    let mut newest: Option<(String, PathBuf)> = None;
    for entry in entries.flatten() {
        let dir = entry.path();
        let Ok(manifest) = read_manifest(&dir.join(MANIFEST)) else {
            continue;
        };
        if newest
            .as_ref()
            .is_none_or(|(t, _)| manifest.started_at > *t)
        {
            newest = Some((manifest.started_at, dir));
        }
    }
    Ok(newest.map(|(_, dir)| dir))
}

/// Every power sample of the run in `dir` (none when power was not sampled).
pub fn read_power(dir: &Path) -> Result<Vec<crate::power::Sample>, StoreError> {
    let path = dir.join(super::POWER);
    if !path.exists() {
        return Ok(Vec::new());
    }
    read_jsonl(&path, "a power sample")
}
