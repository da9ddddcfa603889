//! Send times of an open-loop pattern.

use super::Arrival;
use crate::rng::SplitMix64;

/// Offsets (seconds from the start of a pattern) at which an open-loop pattern sends its
/// requests, in order. Endless: the pattern's stop rule ends it.
#[derive(Debug, Clone)]
pub struct Schedule {
    arrival: Arrival,
    next_s: f64,
    index: u64,
    rng: SplitMix64,
}

impl Schedule {
    /// The schedule of `arrival`; `None` for a closed loop, which has none.
    pub fn new(arrival: Arrival) -> Option<Self> {
        let seed = match arrival {
            Arrival::Closed => return None,
            Arrival::Constant { .. } => 0,
            Arrival::Poisson { seed, .. } => seed,
        };
        Some(Self {
            arrival,
            next_s: 0.0,
            index: 0,
            rng: SplitMix64(seed),
        })
    }
}

impl Iterator for Schedule {
    type Item = f64;

    fn next(&mut self) -> Option<f64> {
        let at = match self.arrival {
            Arrival::Closed => return None,
            // i / rate rather than a running sum, so rounding does not drift.
            Arrival::Constant { rate } => self.index as f64 / rate,
            Arrival::Poisson { rate, .. } => {
                // The first request goes at 0; each later one after an exponential gap.
                let at = self.next_s;
                let u = self.rng.unit_open();
                self.next_s += -u.ln() / rate;
                at
            }
        };
        self.index += 1;
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_rate_is_evenly_spaced() {
        let times: Vec<f64> = Schedule::new(Arrival::Constant { rate: 4.0 })
            .unwrap()
            .take(5)
            .collect();
        assert_eq!(times, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
    }

    #[test]
    fn closed_loop_has_no_schedule() {
        assert!(Schedule::new(Arrival::Closed).is_none());
    }

    #[test]
    fn poisson_is_seeded_and_has_the_asked_rate() {
        let take = |seed| -> Vec<f64> {
            Schedule::new(Arrival::Poisson { rate: 10.0, seed })
                .unwrap()
                .take(20_001)
                .collect()
        };
        let a = take(7);
        assert_eq!(a, take(7), "the same seed gives the same schedule");
        assert_ne!(a, take(8), "another seed gives another schedule");
        assert_eq!(a[0], 0.0);
        assert!(a.windows(2).all(|w| w[1] > w[0]));
        // 20,000 exponential gaps of mean 0.1 s: the mean is within 3 % (about 4 sd).
        let mean_gap = a[20_000] / 20_000.0;
        assert!((mean_gap - 0.1).abs() < 0.003, "mean gap {mean_gap}");
        // Exponential: the standard deviation equals the mean.
        let gaps: Vec<f64> = a.windows(2).map(|w| w[1] - w[0]).collect();
        let var = gaps.iter().map(|g| (g - mean_gap).powi(2)).sum::<f64>() / gaps.len() as f64;
        assert!((var.sqrt() - 0.1).abs() < 0.005, "sd {}", var.sqrt());
    }
}
