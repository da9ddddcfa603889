//! Load patterns: how many requests a serving engine gets, and when.
//!
//! - **Closed loop** (`concurrency = C`): C workers, each sending its next request the moment
//!   its previous one ends, so C requests are always in flight.
//! - **Open loop** (`rate = R`): requests are sent on a schedule of R per second, evenly spaced
//!   (`constant`) or with exponential gaps (`poisson`, seeded), whether or not earlier ones
//!   have finished; `concurrency` then caps how many may be in flight, and a request waiting
//!   for a free slot spends that time in bench's own queue (`queue_s`).
//!
//! A pattern stops after a number of requests or after a duration; its first
//! `warmup_requests` are sent under the same load and left out of the results.

mod schedule;

pub use schedule::Schedule;

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// When requests arrive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Arrival {
    /// Each worker sends its next request when its previous one ends.
    Closed,
    /// `rate` requests per second, evenly spaced.
    Constant {
        /// Requests per second.
        rate: f64,
    },
    /// `rate` requests per second on average, exponential gaps drawn from `seed`.
    Poisson {
        /// Requests per second.
        rate: f64,
        /// Seed of the gaps: the same seed gives the same schedule.
        seed: u64,
    },
}

impl Arrival {
    /// The offered rate in requests per second (open loop only).
    pub fn rate(&self) -> Option<f64> {
        match self {
            Arrival::Closed => None,
            Arrival::Constant { rate } | Arrival::Poisson { rate, .. } => Some(*rate),
        }
    }
}

/// When a pattern stops sending.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// After this many measured requests (warmup requests come on top).
    Requests(u32),
    /// No request is started later than this many seconds after the pattern began (warmup
    /// included); requests in flight then finish.
    DurationS(f64),
}

/// A load pattern.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadPattern {
    /// When requests arrive.
    pub arrival: Arrival,
    /// Closed loop: the number of workers. Open loop: the most requests in flight at once
    /// (`None`: no limit).
    pub concurrency: Option<u32>,
    /// When to stop.
    pub stop: Stop,
    /// Requests sent first, under the same load, and left out of the results.
    pub warmup_requests: u32,
}

impl LoadPattern {
    /// Whether request `index` (0-based, in sending order) is a warmup.
    pub fn is_warmup(&self, index: u32) -> bool {
        index < self.warmup_requests
    }

    /// How many requests the pattern sends at most, when that is known in advance.
    pub fn planned_requests(&self) -> Option<u32> {
        match self.stop {
            Stop::Requests(n) => Some(n.saturating_add(self.warmup_requests)),
            Stop::DurationS(_) => None,
        }
    }
}

/// One request of a load pattern, as it went, with the engine's measurement `M` of it (the
/// engines' is [`LlmPatternRequest`](crate::engine::LlmPatternRequest)).
#[derive(Debug)]
pub struct PatternRequest<M> {
    /// Its place in sending order, from 0 (warmups first).
    pub index: u32,
    /// Left out of the results.
    pub warmup: bool,
    /// Seconds from the start of the pattern to the time the schedule gave it (open loop),
    /// or to the moment its worker became free (closed loop).
    pub scheduled_s: f64,
    /// Seconds it waited in bench's own queue for a free slot (open loop with a
    /// concurrency cap); not part of its ttft.
    pub queue_s: f64,
    /// Seconds between being due (scheduled and a slot free) and being sent: bench's own
    /// lateness, which should be near zero.
    pub lag_s: f64,
    /// When it was sent.
    pub sent: Instant,
    /// Its measurement, or why it failed.
    pub result: Result<M, RequestFailure>,
}

/// Why one request of a load pattern failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestFailure {
    /// The kind, as counted in summaries (`connect`, `status`, `timeout`, `cut`, `garbage`,
    /// `server`).
    pub kind: String,
    /// The details.
    pub message: String,
}

/// What a whole pattern did, from the engine's side.
#[derive(Debug, Clone, Copy)]
pub struct LoadTimeline {
    /// When the pattern began (the zero of every `scheduled_s`).
    pub started: Instant,
    /// When its last request ended.
    pub ended: Instant,
    /// CPU seconds bench's whole process used from `started` to `ended` (every thread: the
    /// network thread, the one storing results, a power sampler), prompts prepared before.
    pub process_cpu_s: Option<f64>,
    /// CPU seconds of the one thread that sent and read every request (Linux).
    pub network_cpu_s: Option<f64>,
}
