//! The suite format (`suite.toml`): types, parsing with located errors, and checks.
//!
//! ```toml
//! [suite]
//! name = "quickstart"
//! repetitions = 3
//! warmup = 1
//!
//! [[target]]
//! name = "cpu"
//! engine = "candle"
//! model = "synth:qwen3-0.6b"
//!
//! [[workload]]
//! name = "ttft"
//! kind = "llm"
//! prompt_tokens = [128, 512]
//! gen_tokens = 32
//! ```

mod check;
mod check_prompts;
mod check_search;
mod check_targets;
mod engine_setup;
mod error;
mod prompts;
mod target;
mod target_keys;
mod turns;
mod types;
mod values;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use engine_setup::{EngineOptions, EngineSetup};
pub use error::{Location, Problem, SuiteError};
pub use prompts::{PromptLengths, PromptOrder};
pub use target::{
    ApiKind, CandleKeys, CommandKeys, DType, DeviceKind, EngineKeys, EngineKind, ExoEndpointKind,
    ExoKeys, MfluxKeys, MlxLmKeys, OpenaiKeys, ShardingKind, Target, TaskKind, TransportKind,
};
pub use types::{
    ArrivalKind, NodeSampler, PowerNode, PowerSection, SamplerKind, Slo, Suite, SuiteSection,
    ThermalTarget, Workload, WorkloadKind,
};
pub use values::{At, Depths, Grid, Name, Positive, Rates, Seconds};

/// A suite read from a file: its source text (kept for the run manifest) and parsed form.
#[derive(Debug, Clone)]
pub struct LoadedSuite {
    /// The file as given.
    pub path: PathBuf,
    /// The file's text, exactly as read.
    pub source: String,
    /// The parsed and checked suite.
    pub suite: Suite,
}

/// Read, parse and check a suite file.
pub fn load(path: &Path) -> Result<LoadedSuite, SuiteError> {
    let source = std::fs::read_to_string(path).map_err(|source| SuiteError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let suite = parse(&source, path)?;
    Ok(LoadedSuite {
        path: path.to_path_buf(),
        source,
        suite,
    })
}

/// Parse and check suite text; `file` names it in errors.
///
/// The text is parsed into toml's tree of spanned values first, so that each target's engine
/// keys can be gathered under its engine before serde reads the tree (`target_keys.rs`);
/// every error keeps its place in the file.
pub fn parse(source: &str, file: &Path) -> Result<Suite, SuiteError> {
    let invalid =
        |e: toml::de::Error| SuiteError::Invalid(vec![Problem::from_toml(file, source, &e)]);
    let mut root = toml::de::DeTable::parse(source).map_err(invalid)?;
    let misplaced = target_keys::regroup(root.get_mut());
    if !misplaced.is_empty() {
        return Err(SuiteError::Invalid(
            misplaced
                .into_iter()
                .map(|(span, message)| Problem::at(file, source, span, message))
                .collect(),
        ));
    }
    let suite = Suite::deserialize(toml::de::Deserializer::from(root)).map_err(invalid)?;
    let problems = check::check(&suite, file, source);
    if problems.is_empty() {
        Ok(suite)
    } else {
        Err(SuiteError::Invalid(problems))
    }
}

/// The JSON Schema of the suite format, derived from the types above.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Suite)).unwrap_or_default()
}
