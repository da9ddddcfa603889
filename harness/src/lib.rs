//! bench: measure LLM inference, and the power it costs, on Apple Silicon and anywhere else.
//!
//! The data flow: a [`suite`] file is expanded into a [`plan`] of cases; the [`runner`]
//! drives an engine (from `bench-workloads`) through them and appends every measurement to
//! the run [`store`]; [`summary`] and [`stats`] turn measurements into the tables the
//! [`terminal`] prints and [`report`] writes (`summary.csv`, `conversations.csv`, pages), and
//! [`history`] indexes the run.
//!
//! Layers point down: [`store`] is persistence only (it reads and writes what was measured,
//! and imports no summary, roofline or report); [`summary`] computes from stored runs;
//! [`roofline`] from summaries; [`compare`], [`gate`], [`export`] and [`report`] above them;
//! [`cli`] at the top. [`stats`], [`charts`], [`net`] (whether a URL names this machine) and
//! [`units`] (every number and unit written for people, one minus sign) are leaves any layer may
//! use; [`present`] (the one table model and its terminal, Markdown, CSV and HTML renderers) is
//! a leaf of the presentation layers ([`terminal`], [`report`], [`export`], [`cli`]).
//!
//! [`calibration`] keeps the device's measured matmul and memory-read ceilings.
//!
//! After a run: [`compare`] matches the cases of two runs and judges each metric, [`gate`]
//! applies a gate file's thresholds to that for CI, [`export`] writes comparisons as Markdown,
//! JUnit and JSON, and [`report`] turns runs into a static site with [`charts`].

pub mod calibration;
pub mod charts;
pub mod cli;
pub mod clock;
pub mod compare;
pub use bench_workloads::cpu_time;
pub mod environment;
pub mod export;
pub mod gate;
pub mod hardware;
pub mod history;
pub mod markup;
pub mod metrics;
pub mod net;
pub mod plan;
pub mod power;
pub mod present;
pub mod prompt_sets;
pub mod rate_search;
pub mod report;
pub mod roofline;
pub mod runner;
pub mod stats;
pub mod store;
pub mod suite;
pub mod summary;
pub mod terminal;
pub mod units;
