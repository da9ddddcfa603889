//! `bench report`: runs turned into a static site people publish (an index, a page per run, a
//! comparison page), or into Markdown and CSV tables for issues and papers.
//!
//! Pages are self-contained (inline stylesheet, inline SVG charts, no script, font or remote
//! asset) and every string that comes from a run is escaped, so a model name or a server's
//! message can never become markup: the pages are askama templates
//! (`harness/templates/report/`) that escape every value they show unless its type says it is
//! markup already (the tables and charts, which escape their own strings); and each page's
//! Content-Security-Policy forbids scripts and every fetch, so that even a value that slipped
//! past the escaping could not run or call out.

mod conversation;
mod conversations_csv;
mod csv_file;
mod figure;
mod figures;
mod html;
mod pages;
mod soak;
mod summary_csv;
mod tables;
mod warnings;
pub use conversations_csv::write_conversations_csv;
pub use summary_csv::write_summary_csv;

use std::path::{Path, PathBuf};

use crate::compare::{self, Comparison, Options, RunSide};
use crate::stats::bootstrap::BootstrapConfig;
use crate::stats::verdict::{Rule, Sidedness};
use crate::store::StoredRun;
use crate::summary::CaseSummary;

pub use crate::present::{Cell, Table};
pub use html::CONTENT_SECURITY_POLICY;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A page's template could not be rendered (only a value's `Display` failing could do it).
    #[error("the page {page} could not be rendered: {source}")]
    Render {
        /// The page's file name.
        page: String,
        /// askama's error.
        source: askama::Error,
    },
}

/// One run, read and summarized.
#[derive(Debug, Clone)]
pub struct ReportedRun {
    /// The run as stored.
    pub run: StoredRun,
    /// Its per-case summaries.
    pub summaries: Vec<CaseSummary>,
    /// Its power samples (empty when power was not sampled).
    pub power: Vec<crate::power::Sample>,
    /// Its cases' roofline figures, against the hardware table and the calibration stored
    /// beside the run folder (as `bench run` computed them).
    pub rooflines: Vec<crate::roofline::CaseRoofline>,
}

/// Runs and the comparisons of each later run with the first.
#[derive(Debug, Clone)]
pub struct Report {
    /// The runs, in the order given.
    pub runs: Vec<ReportedRun>,
    /// Each run after the first compared with the first (across hardware: a report is where
    /// machines are set side by side); a pair with no case in common is left out.
    pub comparisons: Vec<Comparison>,
    /// Why a pair could not be compared.
    pub not_compared: Vec<String>,
}

impl Report {
    /// Summarize `runs` and compare each later run with the first.
    pub fn build(runs: Vec<(StoredRun, Vec<crate::power::Sample>)>, cfg: &BootstrapConfig) -> Self {
        let runs: Vec<ReportedRun> = runs
            .into_iter()
            .map(|(run, power)| {
                let side = RunSide::of(&run, cfg);
                ReportedRun {
                    rooflines: crate::roofline::of_stored_run(&run, &side.summaries),
                    summaries: side.summaries,
                    run,
                    power,
                }
            })
            .collect();
        let options = Options {
            rule: Rule {
                alpha: 0.05,
                max_change_pct: 0.0,
                min_repetitions: 3,
                alternative: Sidedness::TwoSided,
            },
            rules: Vec::new(),
            metrics: Vec::new(),
            bootstrap: *cfg,
            cross_hardware: true,
        };
        let mut comparisons = Vec::new();
        let mut not_compared = Vec::new();
        if let Some((first, rest)) = runs.split_first() {
            let base = side(first);
            for r in rest {
                match compare::compare(&base, &side(r), &options) {
                    Ok(c) => comparisons.push(c),
                    Err(e) => not_compared.push(e.to_string()),
                }
            }
        }
        Self {
            runs,
            comparisons,
            not_compared,
        }
    }

    /// Write the site into `out` (created if needed); returns the pages written.
    pub fn write_html(&self, out: &Path) -> Result<Vec<PathBuf>, ReportError> {
        std::fs::create_dir_all(out).map_err(|source| ReportError::Write {
            path: out.to_path_buf(),
            source,
        })?;
        let mut written = Vec::new();
        let mut write = |name: String, text: String| -> Result<(), ReportError> {
            let path = out.join(name);
            std::fs::write(&path, text).map_err(|source| ReportError::Write {
                path: path.clone(),
                source,
            })?;
            written.push(path);
            Ok(())
        };
        write("index.html".into(), pages::index(self)?)?;
        for r in &self.runs {
            write(pages::run_file(r.run.id()), pages::run(r)?)?;
        }
        if !self.comparisons.is_empty() || !self.not_compared.is_empty() {
            write(pages::COMPARE_FILE.into(), pages::comparisons(self)?)?;
        }
        Ok(written)
    }

    /// Every table of the report, as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for t in self.tables() {
            out.push_str(&t.to_markdown());
        }
        out
    }

    /// Every table of the report, as one CSV file each in `out`; returns the files written.
    pub fn write_csv(&self, out: &Path) -> Result<Vec<PathBuf>, ReportError> {
        std::fs::create_dir_all(out).map_err(|source| ReportError::Write {
            path: out.to_path_buf(),
            source,
        })?;
        let mut written = Vec::new();
        for (i, t) in self.tables().iter().enumerate() {
            let path = out.join(format!(
                "{:02}-{}.csv",
                i + 1,
                html::file_name(&slug(&t.title))
            ));
            std::fs::write(&path, t.to_csv()).map_err(|source| ReportError::Write {
                path: path.clone(),
                source,
            })?;
            written.push(path);
        }
        Ok(written)
    }

    /// The tables of every run, then of every comparison.
    fn tables(&self) -> Vec<Table> {
        let mut out = Vec::new();
        for r in &self.runs {
            let id = r.run.id();
            let titled = |mut t: Table| {
                t.title = format!("{id}: {}", t.title);
                t
            };
            out.push(titled(tables::environment(&r.run)));
            out.push(titled(tables::engines(&r.run)));
            out.extend(tables::text_cases(&r.summaries).map(titled));
            out.extend(tables::image_cases(&r.summaries).map(titled));
            out.extend(
                tables::scaling(&crate::summary::scaling::scaling(&r.summaries)).map(titled),
            );
            out.extend(tables::roofline(&r.rooflines).map(titled));
            out.extend(conversation::table(&r.summaries).map(titled));
            out.extend(r.summaries.iter().map(|s| titled(tables::case_metrics(s))));
        }
        out.extend(self.comparisons.iter().map(tables::comparison));
        out
    }
}

fn side(r: &ReportedRun) -> RunSide {
    RunSide {
        source: r.run.dir.display().to_string(),
        manifest: r.run.manifest.clone(),
        summaries: r.summaries.clone(),
    }
}

/// A title as a file-name part: lower case, runs of other characters as one `-`.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').chars().take(80).collect()
}
