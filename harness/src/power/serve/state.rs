//! What the server knows between scrapes: the latest sample, when it came, how many came, and
//! each rail's energy since the server started.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::power::energy::Trace;
use crate::power::Sample;

/// Samples the energy trace holds before it is folded into running totals: it grows with
/// every sample, and a server runs for days.
const COMPACT_EVERY: usize = 10_000;

/// The server's view of the samples so far.
#[derive(Debug, Default)]
pub struct State {
    latest: Option<(Sample, Instant)>,
    count: u64,
    energy: Energy,
}

impl State {
    /// An empty state.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take in a sample that arrived at `at`.
    pub fn push(&mut self, sample: Sample, at: Instant) {
        self.count += 1;
        self.energy.push(&sample);
        self.latest = Some((sample, at));
    }

    /// The latest sample.
    pub fn latest(&self) -> Option<&Sample> {
        self.latest.as_ref().map(|(s, _)| s)
    }

    /// Seconds from the latest sample's arrival to `now`.
    pub fn age_s(&self, now: Instant) -> Option<f64> {
        self.latest
            .as_ref()
            .map(|(_, at)| now.saturating_duration_since(*at).as_secs_f64())
    }

    /// Samples taken in.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Per rail (keyed as [`Trace`] keys them: `host/rail` for remote samples): joules
    /// integrated from the samples since the server started.
    pub fn integrated_j(&self) -> BTreeMap<String, f64> {
        self.energy.totals()
    }
}

/// Energy per rail, integrated by [`Trace`] and folded into totals every
/// [`COMPACT_EVERY`] samples.
#[derive(Debug, Default)]
struct Energy {
    trace: Trace,
    /// Joules before the current trace began.
    base: BTreeMap<String, f64>,
    /// Where the current trace's new energy starts: the time of the sample it was seeded with
    /// (its energy up to then is in `base`). `None` for the first trace, which counts all.
    since: Option<f64>,
    pushed: usize,
}

impl Energy {
    fn push(&mut self, sample: &Sample) {
        self.trace.push(sample);
        self.pushed += 1;
        if self.pushed >= COMPACT_EVERY {
            self.base = self.totals();
            // The new trace starts from the latest sample, so that the next one integrates
            // from it; only energy after it is new.
            self.trace = Trace::from_samples([sample]);
            self.since = Some(sample.t_s);
            self.pushed = 0;
        }
    }

    fn totals(&self) -> BTreeMap<String, f64> {
        let mut totals = self.base.clone();
        for rail in self.trace.rails() {
            let Some((start, end)) = rail.span() else {
                continue;
            };
            let from = self.since.map_or(start, |s| s.max(start));
            let joules = rail.energy(from, end).unwrap_or(0.0);
            *totals.entry(rail.rail.clone()).or_default() += joules;
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::testing::close;
    use crate::power::{RailReading, Scope};

    fn sample(t_s: f64, watts: f64) -> Sample {
        Sample {
            t_s,
            window_s: 0.0,
            source: "test".into(),
            rails: vec![RailReading::watts("sys", Scope::System, watts)],
            ..Sample::default()
        }
    }

    #[test]
    fn energy_is_integrated_and_survives_compaction() {
        let mut state = State::new();
        let start = Instant::now();
        // 10 W held for COMPACT_EVERY + 500 samples 0.1 s apart (trapezoid: exact).
        let n = COMPACT_EVERY + 500;
        for i in 0..n {
            state.push(sample(i as f64 * 0.1, 10.0), start);
        }
        let expected = 10.0 * 0.1 * (n - 1) as f64;
        let got = state.integrated_j()["sys"];
        assert!(close(got, expected), "{got} vs {expected}");
        assert_eq!(state.count(), n as u64);
        assert_eq!(state.latest().unwrap().t_s, (n - 1) as f64 * 0.1);
    }

    #[test]
    fn age_counts_from_the_latest_arrival() {
        let mut state = State::new();
        let t0 = Instant::now();
        assert!(state.age_s(t0).is_none());
        state.push(sample(0.0, 1.0), t0);
        let age = state
            .age_s(t0 + std::time::Duration::from_millis(1500))
            .unwrap();
        assert!(close(age, 1.5), "{age}");
    }
}
