//! Prompts a workload brings instead of lengths bench builds: a user's dataset file
//! ([`file`]: the ShareGPT JSON layout or JSONL of `{"prompt": …, "max_tokens": …}`), or
//! prompt lengths drawn from a seeded distribution ([`lengths`]). Nothing is downloaded.

pub mod file;
mod item;
pub mod lengths;
mod sharegpt;

pub use file::{Dataset, DatasetError, DatasetFormat, DatasetItem};
pub use lengths::LengthDist;

/// Min, median, mean, 90th percentile and max of a set of lengths.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LengthStats {
    /// How many lengths.
    pub count: usize,
    /// The shortest.
    pub min: u64,
    /// The median (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The mean.
    pub mean: f64,
    /// The 90th percentile, interpolated between closest ranks (type 7).
    pub p90: f64,
    /// The longest.
    pub max: u64,
}

impl LengthStats {
    /// The statistics of `lengths`; `None` when there are none.
    pub fn of(lengths: impl IntoIterator<Item = u64>) -> Option<Self> {
        let mut sorted: Vec<u64> = lengths.into_iter().collect();
        sorted.sort_unstable();
        let (&min, &max) = (sorted.first()?, sorted.last()?);
        let quantile = |q: f64| {
            let at = q * (sorted.len() - 1) as f64;
            let (low, high) = (at.floor() as usize, at.ceil() as usize);
            let (a, b) = (sorted[low] as f64, sorted[high] as f64);
            a + (b - a) * (at - low as f64)
        };
        Some(Self {
            count: sorted.len(),
            min,
            median: quantile(0.5),
            mean: sorted.iter().map(|&n| n as f64).sum::<f64>() / sorted.len() as f64,
            p90: quantile(0.9),
            max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_of_lengths() {
        let s = LengthStats::of([10, 1, 4, 7]).unwrap();
        assert_eq!((s.count, s.min, s.max), (4, 1, 10));
        assert_eq!(s.median, 5.5);
        assert_eq!(s.mean, 5.5);
        assert!((s.p90 - 9.1).abs() < 1e-9);
        assert_eq!(LengthStats::of([]), None);
    }
}
