//! The interface every power source implements, and the pacing of polled sources.

use std::time::{Duration, Instant};

use crate::clock::RunClock;
use crate::power::{PowerError, Sample};

/// A power source: yields samples, one at a time, stamped on the run clock.
///
/// Streaming sources (a child process printing at its own interval) block until their next
/// reading arrives; polled sources (counters, HTTP endpoints) sleep until their next tick.
pub trait Source: Send {
    /// The sampler's name as in suites (`powermetrics`, `macmon`, `nvml`, `rapl`, `prometheus`).
    fn name(&self) -> &'static str;
    /// What it measures, in words, for the run manifest (rails, devices, endpoint).
    fn describe(&self) -> String;
    /// The next sample. `Ok(None)` means the source ended and will give no more.
    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError>;
    /// The longest time between two readings of every rail, where it exceeds the sampling
    /// interval (an energy counter read less often than power): how long to wait for the
    /// reading that closes a measurement.
    fn max_gap(&self) -> Duration {
        Duration::ZERO
    }
    /// Something that makes a blocked [`Source::next`] return soon (kills a child process);
    /// `None` when `next` never blocks longer than one interval.
    fn interrupter(&self) -> Option<Box<dyn FnOnce() + Send>> {
        None
    }
}

/// Paces a polled source: ticks every `interval` from its start, skipping ticks it missed
/// rather than bunching them up.
#[derive(Debug)]
pub struct Ticker {
    interval: Duration,
    next: Instant,
}

impl Ticker {
    /// A ticker whose first tick is now.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            next: Instant::now(),
        }
    }

    /// Sleep until the next tick.
    pub fn wait(&mut self) {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        self.next += self.interval;
        let now = Instant::now();
        while self.next < now {
            self.next += self.interval;
        }
    }

    /// The interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }
}
