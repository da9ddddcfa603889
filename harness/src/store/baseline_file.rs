//! A baseline file: a whole run (manifest, measurements, load patterns, tool runs) in one
//! JSON document, small enough to commit under `results/baselines/` for CI gates to compare
//! against. Reading one gives back the same [`StoredRun`] as its folder.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{io, Manifest, PatternRun, Record, StoreError, StoredRun, ToolRun, STORE_FORMAT};

/// The `kind` of a baseline file.
pub const BASELINE_KIND: &str = "bench-baseline";

#[derive(Serialize, Deserialize)]
struct BaselineFile {
    kind: String,
    format: u32,
    manifest: Manifest,
    records: Vec<Record>,
    /// Stored as `loads`, like the run folder's `loads.jsonl`.
    #[serde(rename = "loads", default)]
    pattern_runs: Vec<PatternRun>,
    #[serde(default)]
    tool_runs: Vec<ToolRun>,
}

/// Write `run` to `path` as a baseline file (replacing it).
pub fn write_baseline(run: &StoredRun, path: &Path) -> Result<(), StoreError> {
    let file = BaselineFile {
        kind: BASELINE_KIND.into(),
        format: STORE_FORMAT,
        manifest: run.manifest.clone(),
        records: run.records.clone(),
        pattern_runs: run.loads.clone(),
        tool_runs: run.tool_runs.clone(),
    };
    let json = serde_json::to_vec(&file).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        line: 0,
        reason: format!("cannot encode the baseline: {e}"),
    })?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(path, json).map_err(io(path))
}

/// Read a baseline file written by [`write_baseline`].
pub fn read_baseline(path: &Path) -> Result<StoredRun, StoreError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let not_baseline = |line: usize, why: String| StoreError::Corrupt {
        path: path.to_path_buf(),
        line,
        reason: format!(
            "not a bench baseline ({why}); make one with `bench baseline RUN_DIR --out FILE`"
        ),
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| not_baseline(e.line(), e.to_string()))?;
    if value["kind"].as_str() != Some(BASELINE_KIND) {
        return Err(not_baseline(
            0,
            format!("its \"kind\" is not \"{BASELINE_KIND}\""),
        ));
    }
    if value["format"].as_u64() != Some(u64::from(STORE_FORMAT)) {
        return Err(not_baseline(
            0,
            format!(
                "store format {} is not the {STORE_FORMAT} this bench reads",
                value["format"]
            ),
        ));
    }
    let file: BaselineFile =
        serde_json::from_value(value).map_err(|e| not_baseline(0, e.to_string()))?;
    Ok(StoredRun {
        dir: path.to_path_buf(),
        manifest: file.manifest,
        records: file.records,
        loads: file.pattern_runs,
        tool_runs: file.tool_runs,
    })
}
