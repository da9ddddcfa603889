//! Bringing the index up to date with the run folders under the root.

use std::collections::HashSet;
use std::path::PathBuf;

use rusqlite::TransactionBehavior;
use serde::Serialize;

use super::index::{stamp, write_run};
use super::{io, History, HistoryError};
use crate::store::{StoredRun, MANIFEST};

/// What [`History::sync`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// Runs read and (re)indexed: new, changed since last time, or all on a rebuild.
    pub indexed: usize,
    /// Runs whose files had not changed since they were indexed.
    pub unchanged: usize,
    /// Runs dropped from the index because their folder is gone or no longer readable.
    pub removed: usize,
    /// Folders with a manifest that could not be read, or that repeat another folder's run
    /// id (each is warned about).
    pub skipped: usize,
}

impl History {
    /// Index every run folder directly under the root that is not indexed yet or changed since
    /// (a file's size or modification time differs), and drop runs whose folder is gone. A
    /// folder that cannot be read is skipped with a warning; the others are indexed all the
    /// same. One transaction: a reader sees the index before or after, never half.
    pub fn sync(&mut self) -> Result<SyncReport, HistoryError> {
        self.sync_with(false)
    }

    /// Empty the index and fill it again from the run folders.
    pub fn rebuild(&mut self) -> Result<SyncReport, HistoryError> {
        self.sync_with(true)
    }

    fn sync_with(&mut self, start_over: bool) -> Result<SyncReport, HistoryError> {
        let folders = run_folders(&self.root)?;
        let path = self.path.clone();
        let db = super::sqlite(&path);
        // Immediate, as in `index_summaries`: it reads, then writes.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&db)?;
        if start_over {
            tx.execute("DELETE FROM runs", []).map_err(&db)?;
        }
        // (dir, run id, stamp) of every indexed run.
        let known: Vec<(String, String, String)> = {
            let mut stmt = tx
                .prepare("SELECT dir, run_id, stamp FROM runs")
                .map_err(&db)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(&db)?;
            rows.collect::<rusqlite::Result<_>>().map_err(&db)?
        };
        let mut report = SyncReport::default();
        let mut kept: HashSet<String> = HashSet::new();
        for dir in folders {
            let key = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let current = stamp(&dir);
            let same = known
                .iter()
                .find(|(d, id, s)| *d == key && *s == current && !kept.contains(id));
            if let Some((_, id, _)) = same {
                kept.insert(id.clone());
                report.unchanged += 1;
                continue;
            }
            let run = match StoredRun::read(&dir) {
                Ok(run) => run,
                Err(e) => {
                    tracing::warn!("history: skipping {}: {e}", dir.display());
                    report.skipped += 1;
                    continue;
                }
            };
            if !kept.insert(run.id().to_string()) {
                tracing::warn!(
                    "history: skipping {}: its run id {} is also another folder's (a copy?)",
                    dir.display(),
                    run.id()
                );
                report.skipped += 1;
                continue;
            }
            write_run(
                &tx,
                &key,
                &current,
                &run.manifest,
                &crate::summary::of_run(&run),
            )
            .map_err(&db)?;
            report.indexed += 1;
        }
        for (dir, id, _) in &known {
            // A run indexed from outside the root stays while its folder does.
            let outside = PathBuf::from(dir);
            if kept.contains(id) || (outside.is_absolute() && outside.join(MANIFEST).is_file()) {
                continue;
            }
            tx.execute("DELETE FROM runs WHERE run_id = ?1", [id])
                .map_err(&db)?;
            report.removed += 1;
        }
        tx.commit().map_err(&db)?;
        Ok(report)
    }
}

/// Folders directly under `root` that hold a manifest, by name.
fn run_folders(root: &std::path::Path) -> Result<Vec<PathBuf>, HistoryError> {
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(root).map_err(io(root))? {
        let entry = entry.map_err(io(root))?;
        let dir = entry.path();
        if dir.is_dir() && dir.join(MANIFEST).is_file() {
            folders.push(dir);
        }
    }
    folders.sort();
    Ok(folders)
}
