//! Percentile bootstrap confidence intervals, seeded so that a report is reproducible.
//!
//! Samples here are small (one value per repetition, 2 to ~100 values), so the resampling
//! loop reuses one scratch buffer and takes medians by selection instead of sorting.

use serde::{Deserialize, Serialize};

use super::quantile_sorted;
use bench_workloads::rng::SplitMix64;

/// How many resamples to draw, the coverage of the interval, and the seed of the resampling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapConfig {
    /// Number of bootstrap resamples; 0 turns the intervals off (the functions return `None`).
    pub resamples: usize,
    /// Coverage of the interval, in [0, 1] (0.95 for a 95 % interval).
    pub confidence: f64,
    /// Seed of the resampling stream: the same seed and data give the same interval.
    pub seed: u64,
}

impl Default for BootstrapConfig {
    /// 10,000 resamples, 95 % coverage, seed `0x5EED`.
    fn default() -> Self {
        Self {
            resamples: 10_000,
            confidence: 0.95,
            seed: 0x5EED,
        }
    }
}

/// A closed interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// Whether `value` lies within the interval, bounds included.
    pub fn contains(&self, value: f64) -> bool {
        self.low <= value && value <= self.high
    }
}

/// The statistic whose sampling distribution is bootstrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Statistic {
    /// Type-7 median (mean of the two middle values for an even count).
    Median,
    /// Arithmetic mean.
    Mean,
}

impl Statistic {
    /// The statistic of the finite values of `values`; NaN when there are none.
    pub fn of(&self, values: &[f64]) -> f64 {
        let mut finite = finite_values(values);
        self.of_scratch(&mut finite)
    }

    /// The statistic of `scratch`, which must hold only finite values; reorders `scratch`.
    fn of_scratch(&self, scratch: &mut [f64]) -> f64 {
        let n = scratch.len();
        if n == 0 {
            return f64::NAN;
        }
        match self {
            Statistic::Mean => scratch.iter().sum::<f64>() / n as f64,
            Statistic::Median => {
                let (below, &mut upper_middle, _) =
                    scratch.select_nth_unstable_by(n / 2, f64::total_cmp);
                if n % 2 == 1 {
                    return upper_middle;
                }
                // For even n the lower middle value is the largest of the lower half.
                let lower_middle =
                    below
                        .iter()
                        .copied()
                        .fold(f64::NEG_INFINITY, |max, v| if v > max { v } else { max });
                // Same arithmetic as `quantile_sorted(_, 0.5)`, so both agree to the bit.
                lower_middle + 0.5 * (upper_middle - lower_middle)
            }
        }
    }
}

/// Percentile bootstrap interval of `stat` over the finite values of `values`.
///
/// Draws `cfg.resamples` resamples with replacement, takes the statistic of each, and
/// returns the type-7 quantiles at `(1 - confidence) / 2` and `1 - (1 - confidence) / 2`
/// of those statistics. `None` when there are fewer than 2 finite values, when
/// `cfg.resamples` is 0, or when `cfg.confidence` is outside [0, 1].
pub fn interval(values: &[f64], stat: Statistic, cfg: &BootstrapConfig) -> Option<Interval> {
    let sample = finite_values(values);
    if sample.len() < 2 || !usable(cfg) {
        return None;
    }
    let mut replicates = replicates(&sample, stat, cfg);
    percentile_interval(&mut replicates, cfg.confidence)
}

/// Percentile bootstrap interval of `stat(current) / stat(base)`.
///
/// Each resample draws `base` and `current` independently with replacement (one rng
/// stream, base first). Resamples whose base statistic is 0 or not finite, or whose ratio
/// is not finite, are skipped. `None` when either sample has fewer than 2 finite values,
/// when more than half of the resamples are skipped, or under the conditions of
/// [`interval`] on `cfg`.
pub fn ratio_interval(
    base: &[f64],
    current: &[f64],
    stat: Statistic,
    cfg: &BootstrapConfig,
) -> Option<Interval> {
    let base = finite_values(base);
    let current = finite_values(current);
    if base.len() < 2 || current.len() < 2 || !usable(cfg) {
        return None;
    }
    let mut rng = SplitMix64(cfg.seed);
    let mut base_scratch = vec![0.0; base.len()];
    let mut current_scratch = vec![0.0; current.len()];
    let mut ratios = Vec::with_capacity(cfg.resamples);
    for _ in 0..cfg.resamples {
        resample_into(&base, &mut base_scratch, &mut rng);
        resample_into(&current, &mut current_scratch, &mut rng);
        let base_stat = stat.of_scratch(&mut base_scratch);
        if base_stat == 0.0 || !base_stat.is_finite() {
            continue;
        }
        let ratio = stat.of_scratch(&mut current_scratch) / base_stat;
        if ratio.is_finite() {
            ratios.push(ratio);
        }
    }
    let skipped = cfg.resamples - ratios.len();
    if 2 * skipped > cfg.resamples {
        return None;
    }
    percentile_interval(&mut ratios, cfg.confidence)
}

/// The finite values of `values`, in order.
fn finite_values(values: &[f64]) -> Vec<f64> {
    values.iter().copied().filter(|v| v.is_finite()).collect()
}

/// Whether `cfg` asks for an interval that can be computed.
fn usable(cfg: &BootstrapConfig) -> bool {
    cfg.resamples > 0 && (0.0..=1.0).contains(&cfg.confidence)
}

/// The bootstrap statistics of `sample` (non-empty, finite), one per resample, unsorted.
fn replicates(sample: &[f64], stat: Statistic, cfg: &BootstrapConfig) -> Vec<f64> {
    let mut rng = SplitMix64(cfg.seed);
    let mut scratch = vec![0.0; sample.len()];
    (0..cfg.resamples)
        .map(|_| {
            resample_into(sample, &mut scratch, &mut rng);
            stat.of_scratch(&mut scratch)
        })
        .collect()
}

/// Fills `scratch` with `scratch.len()` draws from `sample` (non-empty), with replacement.
fn resample_into(sample: &[f64], scratch: &mut [f64], rng: &mut SplitMix64) {
    for slot in scratch.iter_mut() {
        *slot = sample[rng.below(sample.len())];
    }
}

/// Central percentile interval of `replicates` with the given coverage; sorts them.
fn percentile_interval(replicates: &mut [f64], confidence: f64) -> Option<Interval> {
    if replicates.is_empty() {
        return None;
    }
    replicates.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - confidence) / 2.0;
    Some(Interval {
        low: quantile_sorted(replicates, tail),
        high: quantile_sorted(replicates, 1.0 - tail),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(resamples: usize, confidence: f64) -> BootstrapConfig {
        BootstrapConfig {
            resamples,
            confidence,
            ..BootstrapConfig::default()
        }
    }

    /// `n` draws from Normal(mean, sd) by Box-Muller.
    fn normal_sample(n: usize, mean: f64, sd: f64, seed: u64) -> Vec<f64> {
        let mut rng = SplitMix64(seed);
        (0..n)
            .map(|_| {
                let radius = (-2.0 * rng.unit_open().ln()).sqrt();
                let angle = 2.0 * std::f64::consts::PI * rng.unit_open();
                mean + sd * radius * angle.cos()
            })
            .collect()
    }

    #[test]
    fn median_by_selection_matches_type_7_on_sorted_copy() {
        let mut rng = SplitMix64(7);
        for n in 1..40 {
            let values: Vec<f64> = (0..n).map(|_| rng.unit_open() * 100.0).collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            assert_eq!(
                Statistic::Median.of(&values),
                quantile_sorted(&sorted, 0.5),
                "n = {n}"
            );
        }
        assert_eq!(Statistic::Median.of(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(Statistic::Mean.of(&[4.0, f64::NAN, 1.0]), 2.5);
        assert!(Statistic::Median.of(&[]).is_nan());
        assert!(Statistic::Mean.of(&[f64::INFINITY]).is_nan());
    }

    #[test]
    fn constant_sample_gives_degenerate_interval() {
        let values = [3.25; 12];
        for stat in [Statistic::Median, Statistic::Mean] {
            let got = interval(&values, stat, &BootstrapConfig::default());
            assert_eq!(
                got,
                Some(Interval {
                    low: 3.25,
                    high: 3.25
                })
            );
        }
    }

    #[test]
    fn too_few_values_or_no_resamples_give_none() {
        let cfg = BootstrapConfig::default();
        assert_eq!(interval(&[1.0], Statistic::Median, &cfg), None);
        assert_eq!(interval(&[1.0, f64::NAN], Statistic::Median, &cfg), None);
        assert_eq!(
            interval(&[1.0, 2.0], Statistic::Median, &config(0, 0.95)),
            None
        );
        assert_eq!(
            interval(&[1.0, 2.0], Statistic::Median, &config(10, 1.5)),
            None
        );
        assert_eq!(
            interval(&[1.0, 2.0], Statistic::Median, &config(10, f64::NAN)),
            None
        );
        assert_eq!(
            ratio_interval(&[1.0], &[1.0, 2.0], Statistic::Median, &cfg),
            None
        );
        assert_eq!(
            ratio_interval(&[1.0, 2.0], &[1.0], Statistic::Median, &cfg),
            None
        );
    }

    #[test]
    fn median_of_one_two_three_has_known_bootstrap_distribution() {
        // The median of a resample of [1, 2, 3] is 1 when at least two of the three draws
        // are 1: 3·(1/3)²·(2/3) + (1/3)³ = 7/27; likewise 3 with 7/27, so 2 has 13/27.
        let cfg = config(100_000, 0.95);
        let replicates = replicates(&[1.0, 2.0, 3.0], Statistic::Median, &cfg);
        for (value, expected) in [(1.0, 7.0 / 27.0), (2.0, 13.0 / 27.0), (3.0, 7.0 / 27.0)] {
            let frequency = replicates.iter().filter(|&&r| r == value).count() as f64 / 1e5;
            // The binomial standard error is below 0.0016; allow about 4 of them.
            assert!(
                (frequency - expected).abs() < 0.0065,
                "P({value}) = {frequency}"
            );
        }
        let values = [1.0, 2.0, 3.0];
        let ends = |confidence| {
            interval(&values, Statistic::Median, &config(100_000, confidence))
                .map(|i| (i.low, i.high))
        };
        // 95 %: the 2.5 % and 97.5 % points fall inside the masses of 1 and 3.
        assert_eq!(ends(0.95), Some((1.0, 3.0)));
        // 50 %: the 25 % point is still 1 because P(1) = 7/27 ≈ 0.259 > 0.25.
        assert_eq!(ends(0.50), Some((1.0, 3.0)));
        // 40 %: the 30 % and 70 % points both fall inside the mass of 2 (0.259 to 0.741).
        assert_eq!(ends(0.40), Some((2.0, 2.0)));
    }

    #[test]
    fn same_seed_gives_identical_intervals() {
        let values = normal_sample(15, 100.0, 5.0, 1);
        let other = normal_sample(15, 100.0, 5.0, 2);
        let cfg = BootstrapConfig::default();
        for stat in [Statistic::Median, Statistic::Mean] {
            assert_eq!(interval(&values, stat, &cfg), interval(&values, stat, &cfg));
            assert_eq!(
                ratio_interval(&values, &other, stat, &cfg),
                ratio_interval(&values, &other, stat, &cfg)
            );
        }
        let reseeded = BootstrapConfig { seed: 1, ..cfg };
        assert_ne!(
            interval(&values, Statistic::Mean, &cfg),
            interval(&values, Statistic::Mean, &reseeded)
        );
    }

    #[test]
    fn mean_interval_of_large_normal_sample_matches_normal_theory() {
        let values = normal_sample(1_000, 10.0, 2.0, 42);
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let half_width = 1.96 * sd / n.sqrt();
        let got = interval(&values, Statistic::Mean, &BootstrapConfig::default());
        let Some(got) = got else {
            panic!("no interval")
        };
        assert!(
            (got.low - (mean - half_width)).abs() < 0.1 * half_width,
            "{got:?} vs {mean} ± {half_width}"
        );
        assert!(
            (got.high - (mean + half_width)).abs() < 0.1 * half_width,
            "{got:?} vs {mean} ± {half_width}"
        );
    }

    #[test]
    fn ratio_of_identical_constant_samples_is_exactly_one() {
        let values = [0.1; 7];
        for stat in [Statistic::Median, Statistic::Mean] {
            let got = ratio_interval(&values, &values, stat, &BootstrapConfig::default());
            assert_eq!(
                got,
                Some(Interval {
                    low: 1.0,
                    high: 1.0
                })
            );
        }
    }

    #[test]
    fn ratio_interval_contains_true_ratio() {
        let base = normal_sample(20, 50.0, 3.0, 9);
        let current: Vec<f64> = base.iter().map(|v| 1.1 * v).collect();
        for stat in [Statistic::Median, Statistic::Mean] {
            let got = ratio_interval(&base, &current, stat, &BootstrapConfig::default());
            let Some(got) = got else {
                panic!("no interval")
            };
            assert!(got.contains(1.1), "{stat:?}: {got:?}");
            assert!(got.low > 1.0 && got.high < 1.2, "{stat:?}: {got:?}");
        }
    }

    #[test]
    fn ratio_interval_gives_none_when_base_statistic_is_mostly_zero() {
        // Most resamples of this base have median 0, so most ratios are undefined.
        let base = [0.0, 0.0, 0.0, 0.0, 1.0];
        let current = [1.0, 2.0, 3.0];
        let cfg = BootstrapConfig::default();
        assert_eq!(
            ratio_interval(&base, &current, Statistic::Median, &cfg),
            None
        );
    }
}
