//! Power and thermal sampling.
//!
//! Every source ([`powermetrics`], [`macmon`], [`nvml`], [`rapl`], [`prometheus`],
//! [`replay`]) implements [`Source`] and yields [`Sample`]s on the run clock. The [`monitor`] runs one source on a
//! thread while the suite runs, keeps its samples and writes them to `power.jsonl`; [`energy`]
//! integrates them over each measurement's phases. [`serve`] exposes one source over HTTP
//! (`bench power serve`) for a coordinator to scrape.

mod account;
mod child;
pub mod cluster;
pub mod energy;
mod error;
pub(crate) mod http;
pub mod macmon;
pub mod monitor;
pub mod nvml;
pub mod powermetrics;
pub mod prometheus;
pub mod rapl;
pub mod replay;
mod sample;
pub mod select;
pub mod serve;
mod source;
#[cfg(test)]
mod testing;

pub use account::{Baseline, MeasurementEnergy, Phase, PhaseEnergy, RailEnergy, COUNTER_PERIODS};
pub use error::{Imported, Position, PowerError};
pub use sample::{
    integrated_power_rail, widest, RailPower, RailReading, Sample, Scope, Scrape, Thermal,
    THROTTLE_FLAGGED,
};
pub use source::{Source, Ticker};
