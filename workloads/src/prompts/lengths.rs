//! Prompt lengths drawn from a distribution: the n-th draw of a seed is always the same
//! length, on any machine, whatever was drawn before it.

use serde::{Deserialize, Serialize};

use crate::rng::SplitMix64;

/// A distribution of prompt lengths in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum LengthDist {
    /// Every prompt this long.
    Fixed {
        /// Tokens.
        tokens: u32,
    },
    /// Whole numbers of tokens from `min` to `max`, both included, equally likely.
    Uniform {
        /// The shortest, tokens.
        min: u32,
        /// The longest, tokens.
        max: u32,
    },
    /// A log-normal distribution with this mean and standard deviation (of the lengths
    /// themselves, not of their logarithms), rounded to whole tokens, at least 1.
    Lognormal {
        /// Mean length, tokens.
        mean: f64,
        /// Standard deviation of the length, tokens.
        sd: f64,
    },
}

impl LengthDist {
    /// What is wrong with the distribution's figures, if anything.
    pub fn problem(&self) -> Option<String> {
        match *self {
            LengthDist::Fixed { tokens: 0 } => {
                Some("a prompt has at least 1 token: give `tokens` of 1 or more".into())
            }
            LengthDist::Uniform { min, max } if min == 0 || min > max => Some(format!(
                "uniform from {min} to {max}: give 1 ≤ `min` ≤ `max` (tokens)"
            )),
            LengthDist::Lognormal { mean, sd }
                if !(mean.is_finite() && mean >= 1.0 && sd.is_finite() && sd >= 0.0) =>
            {
                Some(format!(
                    "lognormal with mean {mean} and sd {sd}: give a `mean` of at least 1 token and an `sd` of 0 or more"
                ))
            }
            _ => None,
        }
    }

    /// The length of draw `index` from stream `seed`.
    pub fn draw(&self, seed: u64, index: u64) -> u32 {
        // Each draw has a generator of its own, so draws are independent of their order.
        let mut rng =
            SplitMix64(SplitMix64(seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03)).next_u64());
        match *self {
            LengthDist::Fixed { tokens } => tokens,
            LengthDist::Uniform { min, max } => min + rng.below((max - min) as usize + 1) as u32,
            LengthDist::Lognormal { mean, sd } => {
                let sigma2 = (1.0 + (sd / mean).powi(2)).ln();
                let mu = mean.ln() - sigma2 / 2.0;
                // One standard normal; the pair's second is not used.
                let (z, _) = rng.normal_pair();
                let x = (mu + sigma2.sqrt() * z).exp().round();
                x.clamp(1.0, f64::from(u32::MAX)) as u32
            }
        }
    }

    /// A short label for case ids: `lognormal-m512-sd128`, `uniform-128-1024`, `fixed-512`.
    pub fn label(&self) -> String {
        match *self {
            LengthDist::Fixed { tokens } => format!("fixed-{tokens}"),
            LengthDist::Uniform { min, max } => format!("uniform-{min}-{max}"),
            LengthDist::Lognormal { mean, sd } => format!("lognormal-m{mean}-sd{sd}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::LengthStats;

    #[test]
    fn lognormal_draws_have_the_asked_mean_and_spread_and_repeat_with_their_seed() {
        let dist = LengthDist::Lognormal {
            mean: 512.0,
            sd: 128.0,
        };
        let draws: Vec<u64> = (0..20_000).map(|i| u64::from(dist.draw(7, i))).collect();
        let stats = LengthStats::of(draws.iter().copied()).unwrap();
        assert!((stats.mean - 512.0).abs() < 5.0, "{stats:?}");
        let var = draws
            .iter()
            .map(|&d| (d as f64 - stats.mean).powi(2))
            .sum::<f64>()
            / (draws.len() - 1) as f64;
        assert!((var.sqrt() - 128.0).abs() < 5.0, "sd {}", var.sqrt());
        assert!(stats.median < stats.mean, "right-skewed");
        assert_eq!(u64::from(dist.draw(7, 123)), draws[123]);
        assert_ne!(
            (0..10).map(|i| dist.draw(8, i)).collect::<Vec<_>>(),
            draws[..10].iter().map(|&d| d as u32).collect::<Vec<_>>()
        );
    }

    #[test]
    fn uniform_and_fixed_draws_stay_in_their_range() {
        let dist = LengthDist::Uniform { min: 3, max: 6 };
        let draws: Vec<u32> = (0..1000).map(|i| dist.draw(0, i)).collect();
        assert!(draws.iter().all(|d| (3..=6).contains(d)));
        for n in 3..=6 {
            assert!(draws.contains(&n), "{n} never drawn");
        }
        assert_eq!(LengthDist::Fixed { tokens: 9 }.draw(1, 2), 9);
        assert!(LengthDist::Uniform { min: 6, max: 3 }.problem().is_some());
        assert!(LengthDist::Lognormal { mean: 0.0, sd: 1.0 }
            .problem()
            .is_some());
        assert_eq!(dist.label(), "uniform-3-6");
    }
}
