//! Where a gate's baseline comes from: a run folder, a baseline file (`results/baselines/`),
//! or the newest earlier run of the same suite on the same hardware in the history index.

use std::path::{Path, PathBuf};

use crate::compare::suite_name;
use crate::history::{History, HistoryError, RunRow};
use crate::store::{read_run_or_baseline, StoreError, StoredRun};

/// The baseline asked for on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum BaselineSource {
    /// A run folder or a baseline file.
    Path(PathBuf),
    /// The newest complete run of the same suite and fingerprint in the history.
    History,
}

impl BaselineSource {
    /// `history` (or nothing) means the history; anything else is a path.
    pub fn parse(arg: Option<&str>) -> Self {
        match arg {
            None | Some("history") => Self::History,
            Some(path) => Self::Path(PathBuf::from(path)),
        }
    }
}

/// Why no baseline could be read.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The path is neither a run nor a baseline file.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The path does not exist.
    #[error("baseline {}: no such run folder or baseline file", .0.display())]
    Missing(PathBuf),
    /// The history holds no earlier run to compare with.
    #[error(
        "the history under {root} has no complete run of suite `{suite}` on this hardware \
         (fingerprint {fingerprint}) other than {current}; pass --baseline RUN_DIR or FILE"
    )]
    NoneInHistory {
        /// Results root.
        root: String,
        /// Suite name.
        suite: String,
        /// Hardware fingerprint.
        fingerprint: String,
        /// The current run id.
        current: String,
    },
    /// The history index could not be read.
    #[error("history: {0}")]
    History(String),
}

/// Read the baseline `source` for the `current` run, whose results root is `root`.
pub fn resolve_baseline(
    source: &BaselineSource,
    current: &StoredRun,
    root: &Path,
) -> Result<StoredRun, BaselineError> {
    match source {
        BaselineSource::Path(path) if path.exists() => Ok(read_run_or_baseline(path)?),
        BaselineSource::Path(path) => Err(BaselineError::Missing(path.clone())),
        BaselineSource::History => {
            let suite = suite_name(&current.manifest);
            let fingerprint = current.manifest.environment.fingerprint.clone();
            let row = latest_in_history(root, &suite, &fingerprint, current.id())?;
            match row {
                Some(row) => Ok(StoredRun::read(&row.dir)?),
                None => Err(BaselineError::NoneInHistory {
                    root: root.display().to_string(),
                    suite,
                    fingerprint,
                    current: current.id().to_string(),
                }),
            }
        }
    }
}

/// The newest complete run of `suite` with `fingerprint` under `root`, other than `current`.
fn latest_in_history(
    root: &Path,
    suite: &str,
    fingerprint: &str,
    current: &str,
) -> Result<Option<RunRow>, BaselineError> {
    let history = |e: HistoryError| BaselineError::History(e.to_string());
    let mut index = History::open(root).map_err(history)?;
    index.sync().map_err(history)?;
    index
        .latest_baseline(suite, fingerprint, current)
        .map_err(history)
}
