//! Reading the index: runs, the cases and metrics they hold, and a metric's series.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, Row};
use serde::Serialize;

use crate::stats::Summary;

use super::{History, HistoryError};

/// One indexed run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    /// The run's id.
    pub run_id: String,
    /// Its folder.
    pub dir: PathBuf,
    /// When it was created (RFC 3339, UTC).
    pub started_at: String,
    /// When its last session ended, if it ended normally.
    pub finished_at: Option<String>,
    /// `running`, `complete`, `incomplete` or `interrupted`.
    pub status: String,
    /// `[suite] name`.
    pub suite_name: String,
    /// The suite file it was started from.
    pub suite_path: String,
    /// Git revision of the bench that ran it.
    pub git_revision: String,
    /// Version of the bench that ran it.
    pub bench_version: String,
    /// Hardware fingerprint of the machine (see [`crate::environment::Environment`]).
    pub fingerprint: String,
    /// Host name.
    pub hostname: String,
    /// CPU model (on Apple Silicon, the chip).
    pub cpu_model: String,
    /// Operating system.
    pub os: String,
    /// Installed memory, bytes.
    pub memory_bytes: u64,
    /// Cases with at least one metric.
    pub cases: usize,
}

/// One run's value of one case's metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The run.
    pub run_id: String,
    /// When the run was created (RFC 3339, UTC).
    pub started_at: String,
    /// The run's status.
    pub status: String,
    /// Git revision of the bench that ran it.
    pub git_revision: String,
    /// Hardware fingerprint of its machine.
    pub fingerprint: String,
    /// The metric's unit.
    pub unit: String,
    /// The run's summary of the metric (as in its `summary.csv`).
    #[serde(flatten)]
    pub summary: Summary,
}

/// A metric some run recorded for a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricInfo {
    /// Metric name.
    pub metric: String,
    /// Its unit.
    pub unit: String,
    /// Runs that have it.
    pub runs: usize,
}

const RUN_COLUMNS: &str = "r.run_id, r.dir, r.started_at, r.finished_at, r.status, r.suite_name,
    r.suite_path, r.git_revision, r.bench_version, r.fingerprint, r.hostname, r.cpu_model, r.os,
    r.memory_bytes,
    (SELECT COUNT(DISTINCT c.case_id) FROM case_metrics c WHERE c.run_id = r.run_id)";

impl History {
    /// Every indexed run, newest first.
    pub fn runs(&self) -> Result<Vec<RunRow>, HistoryError> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM runs r ORDER BY r.started_at DESC, r.run_id DESC");
        self.collect(&sql, [], |row| self.run_row(row))
    }

    /// The newest complete run of suite `suite_name` on the machine `fingerprint`, other than
    /// `exclude_run_id`: what a new run of that suite is compared with.
    pub fn latest_baseline(
        &self,
        suite_name: &str,
        fingerprint: &str,
        exclude_run_id: &str,
    ) -> Result<Option<RunRow>, HistoryError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r
             WHERE r.status = 'complete' AND r.suite_name = ?1 AND r.fingerprint = ?2
               AND r.run_id <> ?3
             ORDER BY r.started_at DESC, r.run_id DESC LIMIT 1"
        );
        self.conn
            .query_row(&sql, [suite_name, fingerprint, exclude_run_id], |row| {
                self.run_row(row)
            })
            .optional()
            .map_err(self.db_error())
    }

    /// Metric `metric` of case `case_id` in every run that has it, oldest first.
    pub fn series(&self, case_id: &str, metric: &str) -> Result<Vec<Point>, HistoryError> {
        self.series_on(case_id, metric, None)
    }

    /// [`History::series`], only runs on machines whose fingerprint starts with `fingerprint`
    /// (all of them with `None`).
    pub fn series_on(
        &self,
        case_id: &str,
        metric: &str,
        fingerprint: Option<&str>,
    ) -> Result<Vec<Point>, HistoryError> {
        // `instr(...) = 1` is a prefix test without LIKE's wildcards.
        let sql = "SELECT r.run_id, r.started_at, r.status, r.git_revision, r.fingerprint,
                c.unit, c.n, c.mean, c.stddev, c.min, c.median, c.p90, c.p99, c.max
             FROM case_metrics c JOIN runs r ON r.run_id = c.run_id
             WHERE c.case_id = ?1 AND c.metric = ?2 AND instr(r.fingerprint, ?3) = 1
             ORDER BY r.started_at, r.run_id";
        self.collect(sql, [case_id, metric, fingerprint.unwrap_or("")], |r| {
            Ok(Point {
                run_id: r.get(0)?,
                started_at: r.get(1)?,
                status: r.get(2)?,
                git_revision: r.get(3)?,
                fingerprint: r.get(4)?,
                unit: r.get(5)?,
                summary: Summary {
                    n: count(r.get(6)?),
                    mean: r.get(7)?,
                    stddev: r.get(8)?,
                    min: r.get(9)?,
                    median: r.get(10)?,
                    p90: r.get(11)?,
                    p99: r.get(12)?,
                    max: r.get(13)?,
                },
            })
        })
    }

    /// Every case id with a metric in some run, sorted.
    pub fn cases(&self) -> Result<Vec<String>, HistoryError> {
        self.collect(
            "SELECT DISTINCT case_id FROM case_metrics ORDER BY case_id",
            [],
            |r| r.get(0),
        )
    }

    /// The metrics recorded for case `case_id`, by name.
    pub fn metrics(&self, case_id: &str) -> Result<Vec<MetricInfo>, HistoryError> {
        self.collect(
            "SELECT metric, MIN(unit), COUNT(*) FROM case_metrics WHERE case_id = ?1
             GROUP BY metric ORDER BY metric",
            [case_id],
            |r| {
                Ok(MetricInfo {
                    metric: r.get(0)?,
                    unit: r.get(1)?,
                    runs: count(r.get(2)?),
                })
            },
        )
    }

    fn collect<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, HistoryError> {
        let mut stmt = self.conn.prepare(sql).map_err(self.db_error())?;
        let rows = stmt.query_map(params, map).map_err(self.db_error())?;
        rows.collect::<rusqlite::Result<Vec<T>>>()
            .map_err(self.db_error())
    }

    fn run_row(&self, r: &Row<'_>) -> rusqlite::Result<RunRow> {
        let dir: String = r.get(1)?;
        Ok(RunRow {
            run_id: r.get(0)?,
            // Folders in the root are stored by name, so the root can move.
            dir: self.root.join(dir),
            started_at: r.get(2)?,
            finished_at: r.get(3)?,
            status: r.get(4)?,
            suite_name: r.get(5)?,
            suite_path: r.get(6)?,
            git_revision: r.get(7)?,
            bench_version: r.get(8)?,
            fingerprint: r.get(9)?,
            hostname: r.get(10)?,
            cpu_model: r.get(11)?,
            os: r.get(12)?,
            memory_bytes: u64::try_from(r.get::<_, i64>(13)?).unwrap_or(0),
            cases: count(r.get(14)?),
        })
    }
}

/// A count SQLite keeps as a signed integer.
fn count(n: i64) -> usize {
    usize::try_from(n).unwrap_or(0)
}
