//! The history of runs: every run folder under a results root indexed in
//! `<root>/history.sqlite`, for `bench history` (runs, a metric's series across them) and for
//! finding the baseline a new run is compared with.
//!
//! The run folders stay the source of truth; the database is an index that can always be
//! rebuilt from them ([`History::sync`] brings it up to date, [`History::rebuild`] starts it
//! over). A database of another schema version, or one SQLite cannot read, is rebuilt.

mod index;
mod query;
mod schema;
mod sync;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

pub use query::{MetricInfo, Point, RunRow};
pub use schema::SCHEMA_VERSION;
pub use sync::SyncReport;

/// File name of the index inside a results root.
pub const HISTORY_DB: &str = "history.sqlite";

/// How long a write waits for another bench (a run finishing) to release the database.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the history index could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// SQLite failed.
    #[error("{}: {source}", path.display())]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A folder or file could not be read or created.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The index of the runs under one results root.
pub struct History {
    conn: Connection,
    /// The results root, canonical: run folders directly inside it are stored by name.
    root: PathBuf,
    /// The database file.
    path: PathBuf,
}

impl History {
    /// Open (creating it, and `root`, when absent) `<root>/history.sqlite`. A new database, or
    /// one of another schema version, is filled from every run folder under `root` first.
    pub fn open(root: &Path) -> Result<Self, HistoryError> {
        let (mut history, fresh) = Self::connect_to(root)?;
        if fresh {
            history.sync()?;
        }
        Ok(history)
    }

    /// Delete `<root>/history.sqlite` and build it again from every run folder under `root`:
    /// the repair for an index that is damaged in ways SQLite only finds while writing (it is
    /// only an index; the run folders hold everything it held).
    pub fn recreate(root: &Path) -> Result<(Self, SyncReport), HistoryError> {
        remove_database(&root.join(HISTORY_DB))?;
        let (mut history, _) = Self::connect_to(root)?;
        let report = history.rebuild()?;
        Ok((history, report))
    }

    /// Open the database with current tables; true when they were (re)created empty.
    fn connect_to(root: &Path) -> Result<(Self, bool), HistoryError> {
        std::fs::create_dir_all(root).map_err(io(root))?;
        let canonical = root.canonicalize().map_err(io(root))?;
        let path = canonical.join(HISTORY_DB);
        let mut conn = connect(&path)?;
        let fresh = match schema::ensure(&mut conn) {
            Ok(fresh) => fresh,
            Err(e) if unreadable(&e) => {
                // Only an index: what it held is rebuilt from the run folders.
                tracing::warn!(
                    "{}: {e}; rebuilding it from the run folders",
                    path.display()
                );
                drop(conn);
                remove_database(&path)?;
                conn = connect(&path)?;
                schema::ensure(&mut conn).map_err(sqlite(&path))?
            }
            Err(e) => return Err(sqlite(&path)(e)),
        };
        Ok((
            Self {
                conn,
                root: canonical,
                path,
            },
            fresh,
        ))
    }

    /// The results root, canonical.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn db_error(&self) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
        sqlite(&self.path)
    }
}

fn connect(path: &Path) -> Result<Connection, HistoryError> {
    let conn = Connection::open(path).map_err(sqlite(path))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sqlite(path))?;
    Ok(conn)
}

/// Remove the database at `path` and its rollback journal, where they exist.
fn remove_database(path: &Path) -> Result<(), HistoryError> {
    for file in [path.to_path_buf(), path.with_extension("sqlite-journal")] {
        if file.is_file() {
            std::fs::remove_file(&file).map_err(io(&file))?;
        }
    }
    Ok(())
}

/// Whether SQLite says the file is not a database it can read.
fn unreadable(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
    move |source| HistoryError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HistoryError + '_ {
    move |source| HistoryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Now, as the run store writes times (RFC 3339, UTC, milliseconds).
fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests;
