//! The run clock: one monotonic timeline shared by measurements and power samples, so that a
//! measurement's window can be cut out of the power trace.

use std::time::{Duration, Instant};

/// Seconds since the run started: monotonic within a session; a resumed session continues
/// from the wall-clock time elapsed since the run was created.
#[derive(Debug, Clone, Copy)]
pub struct RunClock {
    epoch: Instant,
    offset_s: f64,
}

impl RunClock {
    /// A clock reading 0 now.
    pub fn start() -> Self {
        Self::resumed(0.0)
    }

    /// A clock reading `offset_s` now (for a resumed run: seconds since the run was created).
    pub fn resumed(offset_s: f64) -> Self {
        Self {
            epoch: Instant::now(),
            offset_s,
        }
    }

    /// Seconds on this clock now.
    pub fn now_s(&self) -> f64 {
        self.at(Instant::now())
    }

    /// Seconds on this clock at `instant` (clamped to the epoch for instants before it).
    pub fn at(&self, instant: Instant) -> f64 {
        self.offset_s + instant.saturating_duration_since(self.epoch).as_secs_f64()
    }

    /// The instant this clock reads `t_s` (the epoch, for times before it).
    pub fn instant(&self, t_s: f64) -> Instant {
        let since = (t_s - self.offset_s).max(0.0);
        self.epoch + Duration::from_secs_f64(since)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumed_clock_continues_from_its_offset() {
        let clock = RunClock::resumed(100.0);
        let t = clock.now_s();
        assert!((100.0..101.0).contains(&t));
        let later = clock.epoch + Duration::from_millis(1500);
        assert!((clock.at(later) - 101.5).abs() < 1e-9);
        assert!((clock.at(clock.instant(102.25)) - 102.25).abs() < 1e-6);
    }
}
