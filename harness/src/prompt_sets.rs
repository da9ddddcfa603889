//! The prompt files a suite names (`prompts = "file"`), read once before the run: each
//! resolved against the suite file's folder, checked line by line, and described in the
//! manifest (`prompt_sets`: the file's path, SHA-256, layout, prompt count, and the length
//! distribution of its prompts in characters and, per target, in tokens by that target's
//! tokenizer; for lengths drawn from a distribution, the distribution, its seed and what
//! was drawn). A resumed run reads the same files again and refuses one that changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bench_workloads::load::LoadPattern;
use bench_workloads::prompts::{Dataset, DatasetError, DatasetFormat, LengthDist, LengthStats};
use serde::{Deserialize, Serialize};

use crate::plan::{Case, Plan, PromptSource, TextWork};
use crate::suite::Suite;

/// Places per repetition of a pattern whose length is not known in advance.
const DURATION_STRIDE: u64 = 1024;

/// The length of draw `place` of `lengths` with `seed`: the prompt length the runner sends at
/// that place of a case whose lengths are drawn, and what the manifest describes.
pub fn drawn_length(lengths: &LengthDist, seed: u64, place: u64) -> u32 {
    // Even draws for measured places, odd ones for warmups.
    lengths.draw(seed, place.wrapping_mul(2))
}

/// The measured requests `case` makes: its repetitions, times the requests of its pattern.
pub fn measured_positions(case: &Case) -> u64 {
    let per = match case.text() {
        Some(TextWork {
            load: Some(pattern),
            ..
        }) => stride(pattern),
        Some(text) => u64::from(text.params.turns.max(1)),
        None => 1,
    };
    u64::from(case.repetitions).saturating_mul(per)
}

/// The places one repetition of `pattern` takes: the requests it sends, or 1024 for a pattern
/// that runs for a duration.
pub(crate) fn stride(pattern: &LoadPattern) -> u64 {
    pattern
        .planned_requests()
        .map_or(DURATION_STRIDE, u64::from)
        .max(1)
}

/// The prompt files of a run, by the path the suite gives.
#[derive(Debug, Clone, Default)]
pub struct PromptSets {
    files: BTreeMap<String, Arc<Dataset>>,
}

/// Why a suite's prompt files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PromptSetError {
    /// The file is missing or a line of it is malformed.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// A prompt has no `max_tokens` and its workload no `gen_tokens`.
    #[error("{}:{line}: this prompt gives no \"max_tokens\" and workload `{workload}` has no `gen_tokens`; give one or the other", path.display())]
    NoMaxTokens {
        /// The file.
        path: PathBuf,
        /// The prompt's line.
        line: u32,
        /// The workload reading it.
        workload: String,
    },
    /// The file a run read is not the same any more.
    #[error("{}: the prompt file changed since the run began (SHA-256 {was} then, {now} now); put the original back to resume the run", path.display())]
    Changed {
        /// The file.
        path: PathBuf,
        /// Its hash when the run began.
        was: String,
        /// Its hash now.
        now: String,
    },
}

/// What the manifest keeps of one workload's prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptSetRecord {
    /// Where they come from, as planned (the file as the suite names it, its order and seed;
    /// or the distribution and its seed).
    pub source: PromptSource,
    /// The file as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRecord>,
    /// Lengths drawn from the distribution for the measured requests the plan makes (at most
    /// [`MAX_DRAWS_DESCRIBED`]), in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drawn_tokens: Option<LengthStats>,
    /// Per target, the file's prompts in tokens by the target's tokenizer (written when the
    /// target loads).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompt_tokens: BTreeMap<String, TokenStats>,
}

/// A prompt file as read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    /// The file's full path.
    pub path: PathBuf,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its layout.
    pub format: DatasetFormat,
    /// Prompts in it.
    pub prompts: usize,
    /// Lines of ShareGPT entries left out for having no user turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_lines: Vec<u32>,
    /// Lengths of its prompts in characters.
    pub chars: LengthStats,
}

/// Lengths of a file's prompts in tokens, and whose count they are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenStats {
    /// The tokenizer that counted them.
    pub counted_by: String,
    /// The statistics.
    #[serde(flatten)]
    pub stats: LengthStats,
}

/// The most draws of a distribution the manifest describes.
pub const MAX_DRAWS_DESCRIBED: u64 = 100_000;

impl PromptSets {
    /// Read every prompt file `suite` names; relative paths are relative to `base` (the
    /// suite file's folder).
    pub fn load(suite: &Suite, base: &Path) -> Result<Self, PromptSetError> {
        let mut files: BTreeMap<String, Arc<Dataset>> = BTreeMap::new();
        for workload in &suite.workloads {
            let Some(name) = &workload.prompts else {
                continue;
            };
            let set = match files.get(&name.value) {
                Some(set) => set.clone(),
                None => {
                    let set = Arc::new(Dataset::read(&base.join(&name.value))?);
                    files.insert(name.value.clone(), set.clone());
                    set
                }
            };
            if workload.gen_tokens.is_none() {
                if let Some(item) = set.items.iter().find(|i| i.max_tokens.is_none()) {
                    return Err(PromptSetError::NoMaxTokens {
                        path: set.path.clone(),
                        line: item.line,
                        workload: workload.name.value.to_string(),
                    });
                }
            }
        }
        Ok(Self { files })
    }

    /// Read the files a run recorded in its manifest again, refusing any that changed.
    pub fn reload(records: &BTreeMap<String, PromptSetRecord>) -> Result<Self, PromptSetError> {
        let mut files = BTreeMap::new();
        for record in records.values() {
            let (PromptSource::File { path: name, .. }, Some(file)) =
                (&record.source, &record.file)
            else {
                continue;
            };
            let set = Dataset::read(&file.path)?;
            if set.sha256 != file.sha256 {
                return Err(PromptSetError::Changed {
                    path: file.path.clone(),
                    was: file.sha256.clone(),
                    now: set.sha256,
                });
            }
            files.insert(name.clone(), Arc::new(set));
        }
        Ok(Self { files })
    }

    /// The file the suite names `path`, if read.
    pub fn get(&self, path: &str) -> Option<&Arc<Dataset>> {
        self.files.get(path)
    }

    /// What the manifest keeps, per workload whose cases in `plan` have prompts of their own.
    pub fn records(&self, plan: &Plan) -> BTreeMap<String, PromptSetRecord> {
        let mut records = BTreeMap::new();
        for case in &plan.cases {
            let Some(source) = case.text().and_then(|t| t.prompts.as_ref()) else {
                continue;
            };
            let record = records
                .entry(case.workload.clone())
                .or_insert_with(|| PromptSetRecord {
                    source: source.clone(),
                    file: None,
                    drawn_tokens: None,
                    prompt_tokens: BTreeMap::new(),
                });
            match source {
                PromptSource::File { path, .. } => {
                    record.file = self.get(path).map(|set| FileRecord {
                        path: std::fs::canonicalize(&set.path).unwrap_or_else(|_| set.path.clone()),
                        sha256: set.sha256.clone(),
                        format: set.format,
                        prompts: set.items.len(),
                        skipped_lines: set.skipped_lines.clone(),
                        chars: LengthStats::of(
                            set.items.iter().map(|i| i.prompt.chars().count() as u64),
                        )
                        .unwrap_or(LengthStats {
                            count: 0,
                            min: 0,
                            median: 0.0,
                            mean: 0.0,
                            p90: 0.0,
                            max: 0,
                        }),
                    });
                }
                PromptSource::Drawn { lengths, seed } => {
                    let draws = measured_positions(case).min(MAX_DRAWS_DESCRIBED);
                    let stats = LengthStats::of(
                        (0..draws).map(|p| u64::from(drawn_length(lengths, *seed, p))),
                    );
                    // The case that draws the most describes the workload.
                    if stats.map(|s| s.count) > record.drawn_tokens.map(|s| s.count) {
                        record.drawn_tokens = stats;
                    }
                }
            }
        }
        records
    }
}
