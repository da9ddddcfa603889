//! The rate search (`rate = "search"`): which request rate to probe next, and when to stop.
//!
//! Pure: it sees only the probes measured so far (rate, SLO attainment, what each cost), so
//! a search cut short by a crash carries on from its stored probes and chooses exactly what
//! it would have chosen.
//!
//! A rate *passes* when the share of its requests that met the SLO is at least the target.
//! From the start rate the search doubles while rates pass; once one fails it bisects
//! between the highest passing rate and the lowest failing rate above it, until the failing
//! one is within 10 % of the passing one. If the start rate already fails, it halves until
//! one passes. It stops early, before a probe that would go past the budget of requests or
//! seconds. The knee is the highest passing rate measured.
//!
//! Measurements are noisy, so passing need not be monotone in the rate: a failure at or
//! below the highest passing rate is left out of the bracket (it is kept in the curve).

use serde::{Deserialize, Serialize};

/// Each step up multiplies the rate by this.
pub const GROWTH: f64 = 2.0;

/// The search has converged once the lowest failing rate is at most this much (relative)
/// above the highest passing one.
pub const RESOLUTION: f64 = 0.1;

/// Seconds' worth of requests a probe sends at its rate when the workload gives no
/// `requests`, and the fewest requests a probe sends then.
const DEFAULT_PROBE_SECONDS: f64 = 10.0;
const MIN_PROBE_REQUESTS: u32 = 10;

/// Default share of requests that must meet the SLO.
pub const DEFAULT_TARGET_ATTAINMENT: f64 = 0.9;
/// Default budget of requests of a whole search.
pub const DEFAULT_MAX_REQUESTS: u32 = 2000;
/// Default budget of seconds of a whole search.
pub const DEFAULT_MAX_S: f64 = 300.0;
/// Default first rate, requests per second.
pub const DEFAULT_START_RPS: f64 = 1.0;

/// How a search runs: what passes, where it starts, what it may spend.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SearchSpec {
    /// The share of a probe's requests that must meet the SLO for its rate to pass.
    pub target_attainment: f64,
    /// The first rate probed, requests per second.
    pub start_rps: f64,
    /// The most requests the search may send, warmups included.
    pub max_requests: u32,
    /// The most seconds its probes may take together.
    pub max_s: f64,
    /// Measured requests per probe; `None`: 10 seconds' worth at the probe's rate, at
    /// least 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u32>,
    /// Unmeasured requests each probe sends first, under the same load.
    #[serde(default)]
    pub warmup_requests: u32,
}

impl SearchSpec {
    /// Measured requests a probe at `rate` sends.
    pub fn probe_requests(&self, rate: f64) -> u32 {
        self.requests.unwrap_or_else(|| {
            // Saturating: a huge rate asks for many requests, and the budget then says no.
            ((rate * DEFAULT_PROBE_SECONDS)
                .ceil()
                .min(f64::from(u32::MAX)) as u32)
                .max(MIN_PROBE_REQUESTS)
        })
    }
}

/// One measured probe: a load pattern at one rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// The offered rate, requests per second.
    pub rate_rps: f64,
    /// The share of its measured requests that met the SLO (failed requests did not).
    pub attainment: f64,
    /// Requests it sent, warmups included.
    pub requests: u32,
    /// Seconds it took.
    pub duration_s: f64,
}

impl Probe {
    /// Whether its rate passes under `spec`.
    pub fn passes(&self, spec: &SearchSpec) -> bool {
        self.attainment >= spec.target_attainment
    }
}

/// Why a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// The lowest failing rate is within [`RESOLUTION`] of the highest passing one.
    Converged,
    /// The next probe would have sent more requests than the budget left.
    RequestBudget,
    /// The next probe would likely have run past the budget of seconds.
    TimeBudget,
}

impl Stop {
    /// Words for the end-of-run lines and the report.
    pub fn describe(self) -> &'static str {
        match self {
            Stop::Converged => "converged",
            Stop::RequestBudget => "request budget spent",
            Stop::TimeBudget => "time budget spent",
        }
    }
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// Measure this rate, requests per second.
    Probe(f64),
    /// The search is over.
    Done(Stop),
}

/// The highest passing rate, and the lowest failing rate above it.
fn bracket(spec: &SearchSpec, probes: &[Probe]) -> (Option<f64>, Option<f64>) {
    let passing = probes
        .iter()
        .filter(|p| p.passes(spec))
        .map(|p| p.rate_rps)
        .reduce(f64::max);
    let failing = probes
        .iter()
        .filter(|p| !p.passes(spec) && passing.is_none_or(|lo| p.rate_rps > lo))
        .map(|p| p.rate_rps)
        .reduce(f64::min);
    (passing, failing)
}

/// The next step of a search that has measured `probes`.
pub fn next(spec: &SearchSpec, probes: &[Probe]) -> Step {
    let rate = match bracket(spec, probes) {
        (None, None) => return Step::Probe(spec.start_rps),
        (Some(lo), None) => lo * GROWTH,
        (None, Some(hi)) => hi / GROWTH,
        (Some(lo), Some(hi)) if hi <= lo * (1.0 + RESOLUTION) => {
            return Step::Done(Stop::Converged)
        }
        (Some(lo), Some(hi)) => (lo + hi) / 2.0,
    };
    let spent_requests: u64 = probes.iter().map(|p| u64::from(p.requests)).sum();
    let spent_s: f64 = probes.iter().map(|p| p.duration_s).sum();
    let requests = spec
        .probe_requests(rate)
        .saturating_add(spec.warmup_requests);
    if spent_requests + u64::from(requests) > u64::from(spec.max_requests) {
        return Step::Done(Stop::RequestBudget);
    }
    // Sending alone takes requests / rate; an overloaded server takes longer, which the
    // spent seconds of the next decision then count.
    if spent_s + f64::from(requests) / rate > spec.max_s {
        return Step::Done(Stop::TimeBudget);
    }
    Step::Probe(rate)
}

/// The knee: the highest passing rate measured.
pub fn knee(spec: &SearchSpec, probes: &[Probe]) -> Option<f64> {
    bracket(spec, probes).0
}

/// A whole search.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Every probe, in the order measured.
    pub probes: Vec<Probe>,
    /// The highest passing rate (none when no rate passed).
    pub knee_rps: Option<f64>,
    /// Why it ended.
    pub stop: Stop,
}

/// Run a search from the probes measured so far (`probes`, empty for a new one), measuring
/// each next rate with `measure`; its first error ends the search.
pub fn drive<E>(
    spec: &SearchSpec,
    mut probes: Vec<Probe>,
    mut measure: impl FnMut(f64) -> Result<Probe, E>,
) -> Result<Outcome, E> {
    loop {
        match next(spec, &probes) {
            Step::Probe(rate) => probes.push(measure(rate)?),
            Step::Done(stop) => {
                return Ok(Outcome {
                    knee_rps: knee(spec, &probes),
                    probes,
                    stop,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SearchSpec {
        SearchSpec {
            target_attainment: 0.9,
            start_rps: 1.0,
            max_requests: 100_000,
            max_s: 1e9,
            requests: Some(50),
            warmup_requests: 0,
        }
    }

    /// A server that meets the SLO for every request below `capacity` and for none above.
    fn cliff(capacity: f64) -> impl FnMut(f64) -> Result<Probe, ()> {
        move |rate| {
            Ok(Probe {
                rate_rps: rate,
                attainment: if rate <= capacity { 1.0 } else { 0.3 },
                requests: 50,
                duration_s: 50.0 / rate,
            })
        }
    }

    #[test]
    fn doubles_then_bisects_to_within_ten_percent_of_the_capacity() {
        let out = drive(&spec(), vec![], cliff(37.0)).unwrap();
        let rates: Vec<f64> = out.probes.iter().map(|p| p.rate_rps).collect();
        // 1, 2, ..., 32 pass, 64 fails; then bisection between 32 and 64.
        assert_eq!(&rates[..7], &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]);
        assert_eq!(&rates[7..], &[48.0, 40.0, 36.0, 38.0]);
        assert_eq!(out.stop, Stop::Converged);
        assert_eq!(out.knee_rps, Some(36.0));
        let knee = out.knee_rps.unwrap();
        assert!((37.0 / (1.0 + RESOLUTION)..=37.0).contains(&knee));
    }

    #[test]
    fn a_start_rate_that_fails_halves_until_one_passes() {
        let out = drive(
            &SearchSpec {
                start_rps: 100.0,
                ..spec()
            },
            vec![],
            cliff(10.0),
        )
        .unwrap();
        let rates: Vec<f64> = out.probes.iter().map(|p| p.rate_rps).collect();
        assert_eq!(&rates[..5], &[100.0, 50.0, 25.0, 12.5, 6.25]);
        let knee = out.knee_rps.unwrap();
        assert!((10.0 / 1.1..=10.0).contains(&knee), "{knee}");
    }

    #[test]
    fn the_request_budget_stops_it_before_a_probe_that_would_overspend() {
        // Ten probes of 50 fit in 500 requests; the eleventh would not.
        let out = drive(
            &SearchSpec {
                max_requests: 520,
                ..spec()
            },
            vec![],
            cliff(1e9),
        )
        .unwrap();
        assert_eq!(out.stop, Stop::RequestBudget);
        assert_eq!(out.probes.len(), 10);
        assert_eq!(out.knee_rps, Some(512.0));
    }

    #[test]
    fn the_time_budget_counts_the_seconds_probes_took() {
        // An overloaded server: every probe takes 40 s, far more than its 50 requests' sending.
        let mut slow = |rate: f64| -> Result<Probe, ()> {
            Ok(Probe {
                rate_rps: rate,
                attainment: 1.0,
                requests: 50,
                duration_s: 40.0,
            })
        };
        let out = drive(
            &SearchSpec {
                max_s: 100.0,
                ..spec()
            },
            vec![],
            &mut slow,
        )
        .unwrap();
        assert_eq!(out.stop, Stop::TimeBudget);
        assert_eq!(
            out.probes.len(),
            3,
            "after 80 s the third (12.5 s expected) fit; after 120 s none does"
        );
    }

    #[test]
    fn default_probe_size_is_ten_seconds_of_requests_at_least_ten() {
        let s = SearchSpec {
            requests: None,
            ..spec()
        };
        assert_eq!(s.probe_requests(0.2), 10);
        assert_eq!(s.probe_requests(7.25), 73);
    }

    #[test]
    fn a_search_resumed_from_its_probes_chooses_what_it_would_have_chosen() {
        let whole = drive(&spec(), vec![], cliff(37.0)).unwrap();
        let resumed = drive(&spec(), whole.probes[..8].to_vec(), cliff(37.0)).unwrap();
        assert_eq!(resumed, whole);
    }

    #[test]
    fn a_noisy_failure_below_the_knee_does_not_narrow_the_bracket() {
        let probes = [
            Probe {
                rate_rps: 10.0,
                attainment: 1.0,
                requests: 50,
                duration_s: 5.0,
            },
            Probe {
                rate_rps: 5.0,
                attainment: 0.5,
                requests: 50,
                duration_s: 10.0,
            },
        ];
        assert_eq!(next(&spec(), &probes), Step::Probe(20.0));
        assert_eq!(knee(&spec(), &probes), Some(10.0));
    }

    #[test]
    fn measuring_errors_end_the_search() {
        let out = drive(&spec(), vec![], |_| Err::<Probe, _>("refused"));
        assert_eq!(out, Err("refused"));
    }
}
