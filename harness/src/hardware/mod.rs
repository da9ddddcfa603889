//! What this machine is, in the terms that set inference speed: the chip or GPU, matched to a
//! row of the hardware table (memory bandwidth, matrix throughput, each with its source).
//!
//! [`table`] reads `harness/data/hardware.toml`; one small parser per tool output
//! ([`sysctl`], [`system_profiler`], [`sw_vers`], [`mlx_device`], [`cpuinfo`], [`nvidia`]); [`detect`] puts their facts
//! together; [`matching`] finds the rows. `bench hw` prints the result and every run manifest
//! records it.

pub mod cpuinfo;
pub mod detect;
pub mod matching;
pub mod mlx_device;
pub mod nvidia;
pub mod sw_vers;
pub mod sysctl;
pub mod system_profiler;
pub mod table;

use serde::{Deserialize, Serialize};

pub use detect::Facts;
pub use matching::Match;
pub use table::{Row, Table, TableError};

use crate::environment::Environment;

/// The detected facts and the rows they matched, as a manifest records them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hardware {
    /// What the OS tools said.
    pub facts: Facts,
    /// The chip's match, then one per distinct NVIDIA GPU model.
    pub matches: Vec<Match>,
}

impl Hardware {
    /// Probe this machine and match it against `table`.
    pub fn probe(env: &Environment, table: &Table) -> Self {
        Self::of(detect::probe(env), table)
    }

    /// Match already gathered facts.
    pub fn of(facts: Facts, table: &Table) -> Self {
        let matches = matching::match_facts(table, &facts);
        Self { facts, matches }
    }
}
