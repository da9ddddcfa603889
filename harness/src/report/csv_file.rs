//! A CSV file of a run folder being written (`summary.csv`, `conversations.csv`): one place
//! where the csv crate's errors become [`StoreError`]s naming the file.

use std::fs::File;
use std::path::Path;

use crate::store::StoreError;

/// A CSV file being written, row by row; [`CsvFile::finish`] flushes it.
pub(super) struct CsvFile<'a> {
    path: &'a Path,
    writer: csv::Writer<File>,
}

impl<'a> CsvFile<'a> {
    /// Create `path` (replacing it) and write its header row, `columns`.
    pub(super) fn create<I, T>(path: &'a Path, columns: I) -> Result<Self, StoreError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let writer = csv::Writer::from_path(path).map_err(|e| error(path, e))?;
        let mut file = Self { path, writer };
        file.row(columns)?;
        Ok(file)
    }

    /// Write one row.
    pub(super) fn row<I, T>(&mut self, cells: I) -> Result<(), StoreError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.writer
            .write_record(cells)
            .map_err(|e| error(self.path, e))
    }

    /// Flush what is buffered: a write that fails here is an error, not lost on drop.
    pub(super) fn finish(mut self) -> Result<(), StoreError> {
        self.writer.flush().map_err(|source| StoreError::Io {
            path: self.path.to_path_buf(),
            source,
        })
    }
}

/// A csv error as the store's I/O error of `path`.
fn error(path: &Path, e: csv::Error) -> StoreError {
    StoreError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    }
}
