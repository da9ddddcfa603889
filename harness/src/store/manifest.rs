//! `manifest.json`: what a run was asked to do and where it ran.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::environment::Environment;
use crate::hardware::Hardware;
use crate::plan::Plan;
use crate::power::Baseline;

/// Version of the run-store layout written by this bench.
pub const STORE_FORMAT: u32 = 1;

/// Everything needed to interpret, compare and resume a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`STORE_FORMAT`]).
    pub format: u32,
    /// The run's id, also its folder name.
    pub run_id: String,
    /// Where the run stands.
    pub status: RunStatus,
    /// When the run was created (RFC 3339, UTC).
    pub started_at: String,
    /// When its last session ended, if it ended normally.
    #[serde(default)]
    pub finished_at: Option<String>,
    /// When each `--resume` session started.
    #[serde(default)]
    pub resumed_at: Vec<String>,
    /// The bench that ran it.
    pub bench: BenchBuild,
    /// The suite exactly as given, and as parsed.
    pub suite: SuiteRecord,
    /// The resolved plan.
    pub plan: Plan,
    /// The machine.
    pub environment: Environment,
    /// The chip and GPUs as detected, and the hardware-table rows they matched (absent in
    /// manifests written before bench detected them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware: Option<Hardware>,
    /// Per target: the engine, its versions, device, dtype, and the model it loaded.
    #[serde(default)]
    pub engines: BTreeMap<String, serde_json::Value>,
    /// How power was sampled.
    pub power: PowerRecord,
    /// The pauses before cases the suite asked for (`cooldown_s`, `wait_thermal`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pauses: Vec<CasePause>,
    /// Per workload with prompts of its own (a prompt file, or lengths drawn from a
    /// distribution): where they come from and how long they are.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompt_sets: BTreeMap<String, crate::prompt_sets::PromptSetRecord>,
}

/// One pause before one case, as kept in the manifest's `pauses`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CasePause {
    /// The case that waited.
    pub case: String,
    /// Seconds of cooldown idled.
    pub cooldown_s: f64,
    /// Seconds waited for nominal thermal pressure (absent when not asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thermal_wait_s: Option<f64>,
    /// The thermal pressure last read before the case (absent when the sampler reports none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pressure: Option<String>,
    /// Whether nominal pressure was reached within the limit (absent when not asked, or when
    /// the sampler reports no pressure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached: Option<bool>,
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// A session is running it, or was killed (then `bench run --resume` finishes it).
    Running,
    /// Every planned measurement is stored and ok.
    Complete,
    /// The session ended with measurements missing or failed.
    Incomplete,
    /// The session was stopped by SIGINT or SIGTERM: what finished is stored, the rest is
    /// missing (`bench run --resume` finishes it).
    Interrupted,
}

/// The bench binary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchBuild {
    /// Crate version.
    pub version: String,
    /// Git revision it was built from (`-dirty` when the tree had changes), or `unknown`.
    pub git_revision: String,
    /// Cargo features compiled in (`metal`, `cuda`).
    pub features: Vec<String>,
}

impl BenchBuild {
    /// This binary.
    pub fn current() -> Self {
        let mut features = Vec::new();
        if cfg!(feature = "metal") {
            features.push("metal".into());
        }
        if cfg!(feature = "cuda") {
            features.push("cuda".into());
        }
        Self {
            version: env!("CARGO_PKG_VERSION").into(),
            git_revision: env!("BENCH_GIT_REVISION").into(),
            features,
        }
    }
}

/// The suite as given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuiteRecord {
    /// The path it was read from.
    pub path: String,
    /// Its text, byte for byte: `--resume` re-plans from this, not from the file.
    pub source: String,
    /// The parsed suite with defaults filled in.
    pub parsed: serde_json::Value,
}

/// Power sampling of the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PowerRecord {
    /// The sampler the suite asked for.
    pub requested: String,
    /// The sampler used (`none` when nothing was sampled).
    pub used: String,
    /// What was measured (rails, devices, endpoint), or why nothing was.
    pub note: String,
    /// Sampling interval, milliseconds.
    #[serde(default)]
    pub interval_ms: u64,
    /// For `auto`: the samplers passed over, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tried: Vec<String>,
    /// Idle power per rail measured before the suite (for `active` energy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// How sampling failed during the run, if it did (measurements after it have no energy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}
