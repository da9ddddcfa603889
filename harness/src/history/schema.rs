//! The tables of `history.sqlite`, and what happens when they are of another version.
//!
//! The database is an index of the run folders, which stay the source of truth: a database of
//! another schema version is not migrated but emptied and filled again from the folders.

use rusqlite::{Connection, TransactionBehavior};

/// Version of the tables below, kept in `PRAGMA user_version` (0 is a database bench never
/// wrote). Change it whenever a table or the meaning of a column changes.
pub const SCHEMA_VERSION: i64 = 1;

const CREATE: &str = "
CREATE TABLE runs (
    run_id        TEXT PRIMARY KEY,
    dir           TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    status        TEXT NOT NULL,
    suite_name    TEXT NOT NULL,
    suite_path    TEXT NOT NULL,
    git_revision  TEXT NOT NULL,
    bench_version TEXT NOT NULL,
    fingerprint   TEXT NOT NULL,
    hostname      TEXT NOT NULL,
    cpu_model     TEXT NOT NULL,
    os            TEXT NOT NULL,
    memory_bytes  INTEGER NOT NULL,
    stamp         TEXT NOT NULL,
    indexed_at    TEXT NOT NULL
);
CREATE INDEX runs_by_suite ON runs (suite_name, fingerprint, started_at);
CREATE TABLE case_metrics (
    run_id   TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    case_id  TEXT NOT NULL,
    target   TEXT NOT NULL,
    workload TEXT NOT NULL,
    metric   TEXT NOT NULL,
    unit     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    mean     REAL NOT NULL,
    stddev   REAL NOT NULL,
    min      REAL NOT NULL,
    median   REAL NOT NULL,
    p90      REAL NOT NULL,
    p99      REAL NOT NULL,
    max      REAL NOT NULL,
    PRIMARY KEY (run_id, case_id, metric)
);
CREATE INDEX case_metrics_by_case ON case_metrics (case_id, metric);
";

/// Make the tables current. Returns whether they were (re)created empty, in which case every
/// run folder must be indexed again.
pub fn ensure(conn: &mut Connection) -> rusqlite::Result<bool> {
    // Per connection: SQLite leaves foreign keys (and so the cascade) off by default.
    conn.pragma_update(None, "foreign_keys", true)?;
    if version(conn)? == SCHEMA_VERSION {
        return Ok(false);
    }
    // Looked at again under the write lock: another bench may have just built the tables.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = version(&tx)?;
    if found == SCHEMA_VERSION {
        return Ok(false);
    }
    if found != 0 {
        tracing::warn!(
            "the history index has schema version {found}, this bench uses {SCHEMA_VERSION}: rebuilding it from the run folders"
        );
    }
    tx.execute_batch(&format!(
        "DROP TABLE IF EXISTS case_metrics;
         DROP TABLE IF EXISTS runs;
         {CREATE}
         PRAGMA user_version = {SCHEMA_VERSION};"
    ))?;
    tx.commit()?;
    Ok(true)
}

fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}
