//! Putting one run into the index.

use std::path::Path;
use std::time::UNIX_EPOCH;

use rusqlite::{params, Connection, TransactionBehavior};

use super::{History, HistoryError};
use crate::store::{Manifest, StoredRun, MANIFEST, MEASUREMENTS, PATTERN_RUNS, TOOL_RUNS};
use crate::summary::CaseSummary;

impl History {
    /// Index `run` (replacing what the index held of it), in one transaction.
    pub fn index(&mut self, run: &StoredRun) -> Result<(), HistoryError> {
        self.index_summaries(&run.dir, &run.manifest, &crate::summary::of_run(run))
    }

    /// Index the run in `dir` from its manifest and the summaries already computed from it
    /// (as [`crate::summary::of_run`] makes them), without reading its measurements again.
    pub fn index_summaries(
        &mut self,
        dir: &Path,
        manifest: &Manifest,
        summaries: &[CaseSummary],
    ) -> Result<(), HistoryError> {
        let key = self.dir_key(dir);
        // Immediate: the write lock is taken (waiting out another bench) before anything is
        // read, so two runs that end together queue instead of one failing on a lock upgrade.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(super::sqlite(&self.path))?;
        write_run(&tx, &key, &stamp(dir), manifest, summaries)
            .map_err(super::sqlite(&self.path))?;
        tx.commit().map_err(super::sqlite(&self.path))
    }

    /// How the index names a run folder: by name when it is directly in the root (so the
    /// root can move), else by its full path.
    pub(super) fn dir_key(&self, dir: &Path) -> String {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let inside = parent.canonicalize().is_ok_and(|p| p == self.root);
        match dir.file_name() {
            Some(name) if inside => name.to_string_lossy().into_owned(),
            _ => dir
                .canonicalize()
                .unwrap_or_else(|_| dir.to_path_buf())
                .display()
                .to_string(),
        }
    }
}

/// Delete what the index holds of the run, then insert it again.
pub(super) fn write_run(
    conn: &Connection,
    dir_key: &str,
    stamp: &str,
    manifest: &Manifest,
    summaries: &[CaseSummary],
) -> rusqlite::Result<()> {
    let env = &manifest.environment;
    // `case_metrics` rows go with their run (ON DELETE CASCADE).
    conn.execute("DELETE FROM runs WHERE run_id = ?1", [&manifest.run_id])?;
    conn.execute(
        "INSERT INTO runs (run_id, dir, started_at, finished_at, status, suite_name, suite_path,
             git_revision, bench_version, fingerprint, hostname, cpu_model, os, memory_bytes,
             stamp, indexed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
        params![
            manifest.run_id,
            dir_key,
            manifest.started_at,
            manifest.finished_at,
            status_name(manifest),
            suite_name(manifest),
            manifest.suite.path,
            manifest.bench.git_revision,
            manifest.bench.version,
            env.fingerprint,
            env.hostname,
            env.cpu_model,
            env.os,
            i64::try_from(env.memory_bytes).unwrap_or(i64::MAX),
            stamp,
            super::now(),
        ],
    )?;
    let mut insert = conn.prepare(
        "INSERT OR REPLACE INTO case_metrics (run_id, case_id, target, workload, metric, unit,
             n, mean, stddev, min, median, p90, p99, max)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?;
    for s in summaries {
        for m in &s.metrics {
            let v = &m.summary;
            insert.execute(params![
                manifest.run_id,
                s.case.id,
                s.case.target,
                s.case.workload,
                m.name,
                m.unit,
                i64::try_from(v.n).unwrap_or(i64::MAX),
                v.mean,
                v.stddev,
                v.min,
                v.median,
                v.p90,
                v.p99,
                v.max,
            ])?;
        }
    }
    Ok(())
}

/// The suite's name (`[suite] name`), from the parsed suite the manifest keeps.
pub fn suite_name(manifest: &Manifest) -> &str {
    manifest.suite.parsed["suite"]["name"]
        .as_str()
        .unwrap_or_default()
}

fn status_name(manifest: &Manifest) -> String {
    serde_json::to_value(manifest.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Size and modification time of each file the summaries are made from: when none changed,
/// the run's rows are current (a resumed or still running run changes them).
pub(super) fn stamp(dir: &Path) -> String {
    [MANIFEST, MEASUREMENTS, PATTERN_RUNS, TOOL_RUNS]
        .iter()
        .map(|file| match std::fs::metadata(dir.join(file)) {
            Ok(meta) => {
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{file}:{}:{modified}", meta.len())
            }
            Err(_) => format!("{file}:-"),
        })
        .collect::<Vec<_>>()
        .join("|")
}
