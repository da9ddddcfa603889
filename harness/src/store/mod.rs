//! The run store: `results/<run-id>/` with `manifest.json`, `measurements.jsonl` (one line per
//! measurement, appended and synced as each finishes), `loads.jsonl` (one line per load
//! pattern run, for load cases), `power.jsonl` (power samples, when sampled) and
//! `summary.csv`.
//!
//! A run killed at any moment keeps every measurement that finished: lines are written
//! whole and synced, a torn last line is cut off on resume, and `--resume` runs only the
//! repetitions that have no `ok` line.
//!
//! One process writes a run folder at a time ([`RunLock`]): a second `bench run --resume` of a
//! run that is still being written is refused before it touches a file.

mod baseline_file;
mod header;
mod lock;
mod manifest;
mod metrics;
mod pattern_run;
mod record;
mod stored_run;
mod tool_run;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

pub use baseline_file::{read_baseline, write_baseline, BASELINE_KIND};
pub use header::Header;
pub use lock::{RunLock, Writer, WRITER_LOCK};
pub use manifest::{
    BenchBuild, CasePause, Manifest, PowerRecord, RunStatus, SuiteRecord, STORE_FORMAT,
};
pub use metrics::{EnergyMetrics, ImageMetrics, LoadMetrics, MemoryMetrics, Metrics, TextMetrics};
pub use pattern_run::{PatternRun, SearchMark, PATTERN_RUNS};
pub use record::{ConversationTurn, PatternSlot, PromptDraw, Record, Status};
pub use stored_run::{newest_run, read_manifest, read_power, read_run_or_baseline, StoredRun};
pub use tool_run::{ToolRun, TOOL_RUNS};

/// File names inside a run folder.
pub const MANIFEST: &str = "manifest.json";
/// See [`MANIFEST`].
pub const MEASUREMENTS: &str = "measurements.jsonl";
/// See [`MANIFEST`].
pub const SUMMARY: &str = "summary.csv";
/// Per-turn figures of the run's conversations (cases with `turns`), when it has any.
pub const CONVERSATIONS: &str = "conversations.csv";
/// See [`MANIFEST`]: one power sample per line, appended as they arrive.
pub const POWER: &str = "power.jsonl";

/// Why the store could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file or folder could not be created, written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file of the run is not what bench wrote.
    #[error("{}:{line}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line (0 for the whole file).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// Another process is writing the run folder.
    #[error("{}", lock::locked_message(dir, holder))]
    Locked {
        /// The run folder.
        dir: PathBuf,
        /// Who holds its lock, as its lock file says (`None` when it says nothing readable).
        holder: Option<Writer>,
    },
    /// The disk filled up while a file was written (what was written before stays whole).
    #[error("{}: no space left on the device", path.display())]
    NoSpace {
        /// The file.
        path: PathBuf,
    },
    /// Too little free space to start.
    #[error("{}: only {available} bytes free; bench needs at least {needed} to store a run", path.display())]
    DiskFull {
        /// The results folder.
        path: PathBuf,
        /// Bytes free.
        available: u64,
        /// Bytes required.
        needed: u64,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| {
        if source.kind() == std::io::ErrorKind::StorageFull {
            return StoreError::NoSpace {
                path: path.to_path_buf(),
            };
        }
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Free space the results folder must have before a run starts.
pub const MIN_FREE_BYTES: u64 = 16 << 20;

/// An open run folder.
pub struct RunStore {
    dir: PathBuf,
    measurements: File,
    pattern_runs: Option<File>,
    tool_runs: Option<File>,
    manifest: Manifest,
    /// Held for as long as the store is open.
    _lock: RunLock,
}

impl RunStore {
    /// Create `root/<run_id>/` (adding `-2`, `-3`… if taken) and write the manifest, so that
    /// an unwritable or full results folder is reported before anything runs.
    pub fn create(root: &Path, mut manifest: Manifest) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root).map_err(io(root))?;
        check_free_space(root)?;
        let base = manifest.run_id.clone();
        let mut n = 1;
        let dir = loop {
            let candidate = root.join(&manifest.run_id);
            match std::fs::create_dir(&candidate) {
                Ok(()) => break candidate,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    n += 1;
                    manifest.run_id = format!("{base}-{n}");
                }
                Err(e) => return Err(io(&candidate)(e)),
            }
        };
        let lock = RunLock::acquire(&dir)?;
        let path = dir.join(MEASUREMENTS);
        let measurements = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let store = Self {
            dir,
            measurements,
            pattern_runs: None,
            tool_runs: None,
            manifest,
            _lock: lock,
        };
        store.write_manifest()?;
        Ok(store)
    }

    /// Open an existing run to finish it; returns the measurements already stored. A torn
    /// last line (the process died mid-write) is cut off. Fails with [`StoreError::Locked`]
    /// while another process writes the run.
    pub fn open(dir: &Path) -> Result<(Self, Vec<Record>), StoreError> {
        // Read once before locking, so that a folder that is no run is named as such rather
        // than as a lock file that cannot be made.
        read_manifest(&dir.join(MANIFEST))?;
        let lock = RunLock::acquire(dir)?;
        // Again under the lock: the writer that just ended may have changed it.
        let manifest = read_manifest(&dir.join(MANIFEST))?;
        check_free_space(dir)?;
        let path = dir.join(MEASUREMENTS);
        cut_torn_tail(&path)?;
        let records = read_records(&path)?;
        let measurements = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        for file in [PATTERN_RUNS, TOOL_RUNS] {
            let path = dir.join(file);
            if path.exists() {
                cut_torn_tail(&path)?;
            }
        }
        Ok((
            Self {
                dir: dir.to_path_buf(),
                measurements,
                pattern_runs: None,
                tool_runs: None,
                manifest,
                _lock: lock,
            },
            records,
        ))
    }

    /// The run folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `power.jsonl`, opened for appending (a torn last line from a killed session is cut off
    /// first, so new samples start on a line of their own).
    pub fn power_sink(&self) -> Result<File, StoreError> {
        let path = self.dir.join(POWER);
        if path.exists() {
            cut_torn_tail(&path)?;
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))
    }

    /// The manifest as last written.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Append one measurement as a single write, then sync it to disk.
    pub fn append(&mut self, record: &Record) -> Result<(), StoreError> {
        let path = self.dir.join(MEASUREMENTS);
        let mut line = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            line: 0,
            reason: format!("cannot encode a measurement: {e}"),
        })?;
        line.push(b'\n');
        self.measurements.write_all(&line).map_err(io(&path))?;
        self.measurements.sync_data().map_err(io(&path))
    }

    /// Append one load pattern's summary as a single write, then sync it to disk.
    pub fn append_pattern_run(&mut self, run: &PatternRun) -> Result<(), StoreError> {
        append_line(&mut self.pattern_runs, &self.dir.join(PATTERN_RUNS), run)
    }

    /// Append one run of an engine's own benchmark tool, then sync it to disk.
    pub fn append_tool_run(&mut self, run: &ToolRun) -> Result<(), StoreError> {
        append_line(&mut self.tool_runs, &self.dir.join(TOOL_RUNS), run)
    }

    /// Change the manifest and rewrite it atomically (temp file, then rename).
    pub fn update_manifest(
        &mut self,
        change: impl FnOnce(&mut Manifest),
    ) -> Result<(), StoreError> {
        change(&mut self.manifest);
        self.write_manifest()
    }

    fn write_manifest(&self) -> Result<(), StoreError> {
        let path = self.dir.join(MANIFEST);
        let tmp = self.dir.join(".manifest.json.tmp");
        let json = serde_json::to_vec_pretty(&self.manifest).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            line: 0,
            reason: format!("cannot encode the manifest: {e}"),
        })?;
        let mut file = File::create(&tmp).map_err(io(&tmp))?;
        file.write_all(&json).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }
}

/// Append `item` as one JSON line to `path` (opened on first use into `file`), then sync.
fn append_line<T: serde::Serialize>(
    file: &mut Option<File>,
    path: &Path,
    item: &T,
) -> Result<(), StoreError> {
    let mut line = serde_json::to_vec(item).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        line: 0,
        reason: format!("cannot encode a line: {e}"),
    })?;
    line.push(b'\n');
    if file.is_none() {
        let opened = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io(path))?;
        *file = Some(opened);
    }
    let Some(f) = file.as_mut() else {
        unreachable!("opened above")
    };
    f.write_all(&line).map_err(io(path))?;
    f.sync_data().map_err(io(path))
}

/// Every run of an engine's own benchmark tool in the run in `dir`.
pub fn read_tool_runs(dir: &Path) -> Result<Vec<ToolRun>, StoreError> {
    let path = dir.join(TOOL_RUNS);
    if !path.exists() {
        return Ok(Vec::new());
    }
    read_jsonl(&path, "a run of an engine's benchmark tool")
}

/// Every record of a `measurements.jsonl`.
pub fn read_records(path: &Path) -> Result<Vec<Record>, StoreError> {
    read_jsonl(path, "a bench measurement")
}

/// Every load pattern summary of the run in `dir` (none when it ran no load case).
pub fn read_pattern_runs(dir: &Path) -> Result<Vec<PatternRun>, StoreError> {
    let path = dir.join(PATTERN_RUNS);
    if !path.exists() {
        return Ok(Vec::new());
    }
    read_jsonl(&path, "a bench load pattern summary")
}

fn read_jsonl<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> Result<Vec<T>, StoreError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    // What follows the last newline is a write the process did not finish: left out.
    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&bytes[..whole]).map_err(|e| StoreError::Corrupt {
        path: path.to_path_buf(),
        line: 0,
        reason: format!("not UTF-8 text: {e}"),
    })?;
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let item = serde_json::from_str(line).map_err(|e| StoreError::Corrupt {
            path: path.to_path_buf(),
            line: i + 1,
            reason: format!("not {what}: {e}"),
        })?;
        items.push(item);
    }
    Ok(items)
}

/// Cut everything after the last newline: what follows it is a write the process did not finish.
fn cut_torn_tail(path: &Path) -> Result<(), StoreError> {
    let bytes = std::fs::read(path).map_err(io(path))?;
    let keep = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if keep < bytes.len() {
        tracing::warn!(
            "{}: dropping {} bytes of a line that was cut off when the run stopped",
            path.display(),
            bytes.len() - keep
        );
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io(path))?;
        file.set_len(keep as u64).map_err(io(path))?;
    }
    Ok(())
}

fn check_free_space(dir: &Path) -> Result<(), StoreError> {
    let Ok(canonical) = dir.canonicalize() else {
        return Ok(());
    };
    let disks = sysinfo::Disks::new_with_refreshed_list();
    let disk = disks
        .list()
        .iter()
        .filter(|d| canonical.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len());
    match disk {
        Some(d) if d.available_space() < MIN_FREE_BYTES => Err(StoreError::DiskFull {
            path: dir.to_path_buf(),
            available: d.available_space(),
            needed: MIN_FREE_BYTES,
        }),
        _ => Ok(()),
    }
}
