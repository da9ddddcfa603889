//! Throughput over a long run (a soak: back-to-back requests for `duration_s`), and how much
//! of it was lost from the start to the end, as laptops that heat up lose it.
//!
//! Each request's generated tokens are spread evenly over its decode (first token to end), so
//! a long request adds to every bin it spans rather than to the one it ends in. The drop is
//! `(first − last) / first × 100` over the first and the last `window_s` of the run: a minute
//! when the run lasts two minutes or more, else a third of it (stated with the figure).

use serde::{Deserialize, Serialize};

/// One request's decode: when it produced tokens and how many.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decode {
    /// Start of decode (first token), seconds on any clock shared by all requests.
    pub start_s: f64,
    /// End of the request, same clock.
    pub end_s: f64,
    /// Tokens generated.
    pub tokens: f64,
}

/// Throughput over time and its drop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sustained {
    /// Width of each timeline bin, seconds.
    pub bin_s: f64,
    /// Output tokens per second in each bin, from the run's start.
    pub timeline_tps: Vec<f64>,
    /// Length of the first and last windows compared, seconds.
    pub window_s: f64,
    /// Output tokens per second over the first window.
    pub first_tps: f64,
    /// Output tokens per second over the last window.
    pub last_tps: f64,
    /// `(first − last) / first × 100`: positive when the run slowed down.
    pub drop_pct: f64,
}

/// Tokens of `decodes` that fall within `[a, b]` (seconds from `origin`).
fn tokens_within(decodes: &[Decode], origin: f64, a: f64, b: f64) -> f64 {
    decodes
        .iter()
        .map(|d| {
            let (s, e) = (d.start_s - origin, d.end_s - origin);
            if e <= s {
                // Everything at one instant: counted where it happened.
                return if (a..b).contains(&e) { d.tokens } else { 0.0 };
            }
            let overlap = (e.min(b) - s.max(a)).max(0.0);
            d.tokens * overlap / (e - s)
        })
        .sum()
}

/// The throughput of `decodes` over `[start_s, end_s]`; `None` for a run under 3 s or with
/// no tokens in its first window.
pub fn sustained(decodes: &[Decode], start_s: f64, end_s: f64) -> Option<Sustained> {
    let duration = end_s - start_s;
    // Also refuses a NaN duration.
    if duration.is_nan() || duration < 3.0 {
        return None;
    }
    let window_s = if duration >= 120.0 {
        60.0
    } else {
        duration / 3.0
    };
    let bin_s = if duration >= 100.0 {
        10.0
    } else {
        duration / 10.0
    };
    let bins = (duration / bin_s).ceil() as usize;
    let timeline_tps = (0..bins)
        .map(|i| {
            let a = i as f64 * bin_s;
            let b = (a + bin_s).min(duration);
            tokens_within(decodes, start_s, a, b) / (b - a)
        })
        .collect();
    let first_tps = tokens_within(decodes, start_s, 0.0, window_s) / window_s;
    let last_tps = tokens_within(decodes, start_s, duration - window_s, duration) / window_s;
    (first_tps > 0.0).then(|| Sustained {
        bin_s,
        timeline_tps,
        window_s,
        first_tps,
        last_tps,
        drop_pct: (first_tps - last_tps) / first_tps * 100.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Back-to-back 1 s requests of `tokens(i)` tokens each over `n` seconds.
    fn run(n: usize, tokens: impl Fn(usize) -> f64) -> Vec<Decode> {
        (0..n)
            .map(|i| Decode {
                start_s: i as f64,
                end_s: i as f64 + 1.0,
                tokens: tokens(i),
            })
            .collect()
    }

    #[test]
    fn a_steady_run_has_no_drop_and_a_flat_timeline() {
        let s = sustained(&run(300, |_| 50.0), 0.0, 300.0).unwrap();
        assert_eq!((s.window_s, s.bin_s), (60.0, 10.0));
        assert_eq!(s.timeline_tps.len(), 30);
        assert!(s.timeline_tps.iter().all(|t| (t - 50.0).abs() < 1e-9));
        assert!(s.drop_pct.abs() < 1e-9);
    }

    #[test]
    fn a_run_that_slows_from_50_to_35_tokens_per_second_drops_30_percent() {
        let decodes = run(300, |i| if i < 150 { 50.0 } else { 35.0 });
        let s = sustained(&decodes, 0.0, 300.0).unwrap();
        assert!((s.first_tps - 50.0).abs() < 1e-9);
        assert!((s.last_tps - 35.0).abs() < 1e-9);
        assert!((s.drop_pct - 30.0).abs() < 1e-9);
    }

    #[test]
    fn a_request_spanning_bins_adds_to_each_and_short_runs_use_a_third() {
        // One 4 s decode of 40 tokens over a 6 s run: 10 tok/s for 4 s, then nothing.
        let decodes = [Decode {
            start_s: 100.0,
            end_s: 104.0,
            tokens: 40.0,
        }];
        let s = sustained(&decodes, 100.0, 106.0).unwrap();
        assert_eq!(s.window_s, 2.0);
        assert!((s.first_tps - 10.0).abs() < 1e-9);
        assert_eq!(s.last_tps, 0.0);
        assert!((s.drop_pct - 100.0).abs() < 1e-9);
        assert!(sustained(&decodes, 100.0, 101.0).is_none(), "under 3 s");
    }
}
