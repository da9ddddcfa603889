//! Change points in a series of results: where the level of a metric shifted across runs.
//!
//! # Method
//!
//! E-Divisive with means (Matteson & James 2014, "A nonparametric approach for multiple
//! change point analysis of multivariate data", JASA 109(505):334–345), with α = 1 (absolute
//! differences), by binary segmentation. Within a segment, every split τ that leaves at least
//! `min_size` points on each side, with left part X (m points) and right part Y (k points),
//! is scored by the scaled energy distance
//!
//! ```text
//! Q(τ) = m·k/(m+k) · ( 2/(m·k)·Σ|xᵢ−yⱼ| − 1/C(m,2)·Σ_{i<j}|xᵢ−xⱼ| − 1/C(k,2)·Σ_{i<j}|yᵢ−yⱼ| )
//! ```
//!
//! As in the paper (and its R package `ecp`), the series is cut one change point at a time:
//! the candidate is the best split over all current segments, tested by permutation. Each
//! segment is shuffled on its own `permutations` times (seeded, so the answer is
//! reproducible) and the largest Q over the shuffled segments is recomputed;
//! `p = (1 + #{shuffles with max Q ≥ observed}) / (permutations + 1)`. A candidate with
//! `p < alpha` becomes a change point and the search goes on; the first that fails ends it.
//! Each evaluation of a segment of n points costs O(n²) (running sums of distances, no matrix
//! is stored), so a few hundred runs take well under a second even with 199 shuffles per test.
//!
//! # Limits
//!
//! - It needs data: no split is tried with fewer than `min_size` points on either side, so a
//!   shift in the last `min_size − 1` runs is not reported yet, and a series shorter than
//!   `2·min_size` has none.
//! - Each test is at level `alpha`, uncorrected: on a flat series the chance of a false change
//!   point is about `alpha`, and after true ones, about `alpha` again of one more.
//! - The smallest attainable p is `1 / (permutations + 1)` (0.005 with 199).
//! - It compares distributions of the values, one per run (a run's median, say), not the
//!   repetitions inside runs; a shift smaller than the run-to-run noise is not found.
//! - Non-finite values are not comparable: a series holding one has no change points.
//! - A gradual drift is reported, if at all, as one or more steps.

use bench_workloads::rng::SplitMix64;
use serde::Serialize;

/// How change points are searched for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePointConfig {
    /// The fewest points on each side of a change point (at least 2: a side's spread needs
    /// two points).
    pub min_size: usize,
    /// Significance level of each permutation test.
    pub alpha: f64,
    /// Shuffles per test.
    pub permutations: usize,
    /// Seed of the shuffles: the same seed gives the same answer.
    pub seed: u64,
}

impl Default for ChangePointConfig {
    fn default() -> Self {
        Self {
            min_size: 3,
            alpha: 0.05,
            permutations: 199,
            seed: 0,
        }
    }
}

/// Where a shift began.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ChangePoint {
    /// Index of the first point of the new level.
    pub index: usize,
    /// p-value of the permutation test that accepted it.
    pub p_value: f64,
    /// Median of the points from the previous change point (or the start) up to this one.
    pub before_median: f64,
    /// Median of the points from this change point up to the next one (or the end).
    pub after_median: f64,
}

/// The change points of `series`, sorted by index (see the module documentation).
pub fn change_points(series: &[f64], cfg: &ChangePointConfig) -> Vec<ChangePoint> {
    let min_size = cfg.min_size.max(2);
    if series.len() < 2 * min_size || series.iter().any(|v| !v.is_finite()) {
        return Vec::new();
    }
    let mut rng = SplitMix64(cfg.seed);
    // The series cut at the change points found so far: [start, end) with its best split.
    let mut segments = vec![Segment::new(series, 0, series.len(), min_size)];
    let mut found: Vec<(usize, f64)> = Vec::new();
    // As Matteson & James: the best split over all segments is the candidate, and the
    // shuffles keep the segments, so one test decides whether there is one more change.
    while let Some((at, (split, observed))) = best_of(&segments) {
        let p = permutation_p(
            series,
            &segments,
            min_size,
            observed,
            cfg.permutations,
            &mut rng,
        );
        if p >= cfg.alpha {
            break;
        }
        let Segment { start, end, .. } = segments.remove(at);
        let cut = start + split;
        found.push((cut, p));
        segments.push(Segment::new(series, start, cut, min_size));
        segments.push(Segment::new(series, cut, end, min_size));
        segments.sort_by_key(|s| s.start);
    }
    found.sort_by_key(|&(index, _)| index);
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(found.iter().map(|&(i, _)| i))
        .chain(std::iter::once(series.len()))
        .collect();
    found
        .iter()
        .enumerate()
        .map(|(n, &(index, p_value))| ChangePoint {
            index,
            p_value,
            before_median: median(&series[bounds[n]..index]),
            after_median: median(&series[index..bounds[n + 2]]),
        })
        .collect()
}

/// The segment with the largest best split, as (its place in `segments`, its best split).
fn best_of(segments: &[Segment]) -> Option<(usize, (usize, f64))> {
    segments
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.best.map(|b| (i, b)))
        .max_by(|a, b| a.1 .1.total_cmp(&b.1 .1))
}

/// A stretch of the series between change points.
struct Segment {
    start: usize,
    end: usize,
    /// Its best split (relative to `start`) and that split's Q.
    best: Option<(usize, f64)>,
}

impl Segment {
    fn new(series: &[f64], start: usize, end: usize, min_size: usize) -> Self {
        Self {
            start,
            end,
            best: best_split(&series[start..end], min_size),
        }
    }
}

/// The split with the largest Q, as (index of the first point on the right, Q); `None` when
/// the segment is too short to split or no split separates anything (Q ≤ 0 everywhere).
fn best_split(x: &[f64], min_size: usize) -> Option<(usize, f64)> {
    let n = x.len();
    if n < 2 * min_size {
        return None;
    }
    // left[p] = Σ_{i<p} |x_i − x_p|, right[p] = Σ_{j>p} |x_p − x_j|.
    let mut left = vec![0.0; n];
    let mut right = vec![0.0; n];
    for p in 0..n {
        for i in 0..p {
            let d = (x[i] - x[p]).abs();
            left[p] += d;
            right[i] += d;
        }
    }
    let total: f64 = left.iter().sum();
    // Within-left and within-right sums for the split at τ, moved one point at a time.
    let mut within_left = 0.0;
    let mut within_right = total;
    let mut best: Option<(usize, f64)> = None;
    for tau in 1..n {
        within_left += left[tau - 1];
        within_right -= right[tau - 1];
        if tau < min_size || n - tau < min_size {
            continue;
        }
        let (m, k) = (tau as f64, (n - tau) as f64);
        let cross = total - within_left - within_right;
        let energy = 2.0 * cross / (m * k)
            - within_left / (m * (m - 1.0) / 2.0)
            - within_right / (k * (k - 1.0) / 2.0);
        let q = m * k / (m + k) * energy;
        if best.is_none_or(|(_, b)| q > b) {
            best = Some((tau, q));
        }
    }
    best.filter(|&(_, q)| q > 0.0)
}

/// The permutation test of the best split over `segments`, whose Q is `observed`: each
/// segment is shuffled on its own, and a shuffle counts against the split when the best Q of
/// any of its segments is as large.
fn permutation_p(
    series: &[f64],
    segments: &[Segment],
    min_size: usize,
    observed: f64,
    permutations: usize,
    rng: &mut SplitMix64,
) -> f64 {
    // Equal up to rounding counts as large.
    let threshold = observed * (1.0 - 1e-9);
    let mut scratch = Vec::with_capacity(series.len());
    let mut as_large = 0usize;
    for _ in 0..permutations {
        let mut largest = f64::NEG_INFINITY;
        for s in segments.iter().filter(|s| s.end - s.start >= 2 * min_size) {
            scratch.clear();
            scratch.extend_from_slice(&series[s.start..s.end]);
            shuffle(&mut scratch, rng);
            if let Some((_, q)) = best_split(&scratch, min_size) {
                largest = largest.max(q);
            }
        }
        if largest >= threshold {
            as_large += 1;
        }
    }
    (1 + as_large) as f64 / (permutations + 1) as f64
}

/// Fisher–Yates.
fn shuffle(x: &mut [f64], rng: &mut SplitMix64) {
    for i in (1..x.len()).rev() {
        x.swap(i, rng.below(i + 1));
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    super::quantile_sorted(&sorted, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` values around `level` with uniform noise of ±`spread`.
    fn noisy(level: f64, spread: f64, n: usize, rng: &mut SplitMix64) -> Vec<f64> {
        (0..n)
            .map(|_| level + spread * (2.0 * rng.unit_open() - 1.0))
            .collect()
    }

    #[test]
    fn one_step_is_found_where_it_begins() {
        let mut rng = SplitMix64(1);
        let mut series = noisy(100.0, 1.0, 10, &mut rng);
        series.extend(noisy(110.0, 1.0, 10, &mut rng));
        let found = change_points(&series, &ChangePointConfig::default());
        assert_eq!(found.len(), 1, "{found:?}");
        let c = found[0];
        assert_eq!(c.index, 10);
        assert!(c.p_value < 0.05);
        assert!((c.before_median - 100.0).abs() < 1.0, "{c:?}");
        assert!((c.after_median - 110.0).abs() < 1.0, "{c:?}");
    }

    #[test]
    fn flat_noise_rarely_has_a_change_point() {
        let cfg = ChangePointConfig::default();
        let trials = 50;
        let mut false_alarms = 0;
        for seed in 0..trials {
            let mut rng = SplitMix64(1000 + seed);
            let series = noisy(100.0, 2.0, 20, &mut rng);
            let found = change_points(&series, &ChangePointConfig { seed, ..cfg });
            if !found.is_empty() {
                false_alarms += 1;
            }
        }
        let rate = f64::from(false_alarms) / trials as f64;
        println!("false detections on flat series: {false_alarms}/{trials} = {rate:.2}");
        assert!(
            rate <= 0.10,
            "{false_alarms} of {trials} flat series had a change"
        );
    }

    #[test]
    fn two_steps_are_both_found() {
        let mut rng = SplitMix64(7);
        let mut series = noisy(100.0, 1.0, 10, &mut rng);
        series.extend(noisy(120.0, 1.0, 10, &mut rng));
        series.extend(noisy(90.0, 1.0, 10, &mut rng));
        let found = change_points(&series, &ChangePointConfig::default());
        let at: Vec<usize> = found.iter().map(|c| c.index).collect();
        assert_eq!(at, vec![10, 20], "{found:?}");
        assert!((found[1].before_median - 120.0).abs() < 1.0);
        assert!((found[1].after_median - 90.0).abs() < 1.0);
    }

    #[test]
    fn too_short_or_constant_or_non_finite_has_none() {
        let cfg = ChangePointConfig::default();
        assert!(change_points(&[1.0, 1.0, 1.0, 5.0, 5.0], &cfg).is_empty());
        assert!(change_points(&[], &cfg).is_empty());
        assert!(change_points(&[3.0; 12], &cfg).is_empty());
        let mut series = vec![1.0; 6];
        series.extend([9.0; 6]);
        series[2] = f64::NAN;
        assert!(change_points(&series, &cfg).is_empty());
    }

    #[test]
    fn the_same_seed_gives_the_same_answer() {
        let mut rng = SplitMix64(3);
        let mut series = noisy(1.0, 0.2, 12, &mut rng);
        series.extend(noisy(1.3, 0.2, 12, &mut rng));
        let cfg = ChangePointConfig {
            seed: 42,
            ..ChangePointConfig::default()
        };
        let a = change_points(&series, &cfg);
        assert_eq!(a, change_points(&series, &cfg));
        assert!(!a.is_empty());
    }

    #[test]
    fn running_sums_match_the_definition() {
        let x: [f64; 8] = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let brute = |tau: usize| {
            let (a, b) = x.split_at(tau);
            let (m, k) = (a.len() as f64, b.len() as f64);
            let within = |s: &[f64]| {
                let mut sum = 0.0;
                for i in 0..s.len() {
                    for j in i + 1..s.len() {
                        sum += (s[i] - s[j]).abs();
                    }
                }
                sum
            };
            let cross: f64 = a
                .iter()
                .flat_map(|p| b.iter().map(move |q| (p - q).abs()))
                .sum();
            m * k / (m + k)
                * (2.0 * cross / (m * k)
                    - within(a) / (m * (m - 1.0) / 2.0)
                    - within(b) / (k * (k - 1.0) / 2.0))
        };
        let (tau, q) = best_split(&x, 2).unwrap();
        let expected = (2..=6)
            .map(|t| (t, brute(t)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert_eq!(tau, expected.0);
        assert!((q - expected.1).abs() < 1e-9);
    }

    #[test]
    fn a_few_hundred_points_are_fast() {
        let mut rng = SplitMix64(5);
        let mut series = noisy(100.0, 3.0, 200, &mut rng);
        series.extend(noisy(104.0, 3.0, 200, &mut rng));
        let start = std::time::Instant::now();
        let found = change_points(&series, &ChangePointConfig::default());
        assert!(
            found.iter().any(|c| c.index.abs_diff(200) <= 10),
            "{found:?}"
        );
        // Generous: debug builds on a busy 2-core machine.
        assert!(start.elapsed() < std::time::Duration::from_secs(30));
    }
}
