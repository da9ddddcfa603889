//! The runner's view of power: cut each measurement's phases out of the sampled trace, and
//! notice (once) when the sampler dies so the run can carry on without it.

use std::time::Duration;

use bench_workloads::engine::LlmMeasurement;

use crate::clock::RunClock;
use crate::power::monitor::{Health, Monitor};
use crate::power::{Baseline, MeasurementEnergy, Phase};

/// Power sampling as the runner uses it.
pub struct PowerTap<'a> {
    monitor: Option<&'a Monitor>,
    baseline: Option<&'a Baseline>,
    interval: Duration,
    failure_reported: bool,
}

impl<'a> PowerTap<'a> {
    /// Energy from `monitor` (none: no power figures), `interval` being its sampling interval.
    pub fn new(
        monitor: Option<&'a Monitor>,
        baseline: Option<&'a Baseline>,
        interval: Duration,
    ) -> Self {
        Self {
            monitor,
            baseline,
            interval,
            failure_reported: false,
        }
    }

    /// The sampling interval.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The thermal pressure of the latest sample, when the sampler reports one.
    pub fn pressure(&self) -> Option<String> {
        self.monitor?.latest()?.thermal.pressure
    }

    /// No power sampling.
    pub fn none() -> Self {
        Self::new(None, None, Duration::ZERO)
    }

    /// The phases of an LLM measurement on the run clock: `total` (request start to its end),
    /// `prefill` (start to first token) and `decode` (first to last token).
    pub fn llm_phases(clock: &RunClock, m: &LlmMeasurement) -> Vec<Phase> {
        let start = clock.at(m.started);
        let mut phases = vec![Phase {
            name: "total",
            start_s: start,
            end_s: start + m.e2e_s,
        }];
        if let (Some(first), Some(last)) = (m.token_times_s.first(), m.token_times_s.last()) {
            phases.push(Phase {
                name: "prefill",
                start_s: start,
                end_s: start + first,
            });
            phases.push(Phase {
                name: "decode",
                start_s: start + first,
                end_s: start + last,
            });
        }
        phases
    }

    /// Energy over `phases` (the first spans the measurement): waits for the sample that
    /// closes the measurement. Returns the figures, and the sampler's failure the first time it
    /// is seen.
    pub fn measure(&mut self, phases: &[Phase]) -> (Option<MeasurementEnergy>, Option<String>) {
        let Some(monitor) = self.monitor else {
            return (None, None);
        };
        let end = phases.iter().map(|p| p.end_s).fold(f64::MIN, f64::max);
        // A reading covering the end arrives within one gap; allow a second one and some slack
        // for a slow tool before giving up on this measurement's energy.
        let patience = monitor.max_gap().max(self.interval) * 2 + Duration::from_millis(500);
        monitor.wait_until(end, patience);
        let energy = monitor.energy(phases, self.baseline);
        let failure = match monitor.health() {
            Health::Failed(message) if !self.failure_reported => {
                self.failure_reported = true;
                Some(message)
            }
            _ => None,
        };
        (energy, failure)
    }
}
