//! Memory-read bandwidth: a multi-threaded sum over a buffer much larger than the last-level
//! cache, the access pattern of decode (`crate::llm::gemv` streams every weight once a token).

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// f32 values handed to one rayon task: 1 MiB, large enough that scheduling is noise, small
/// enough that every thread gets many.
const CHUNK: usize = 1 << 18;

/// One measured read bandwidth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadRate {
    /// Bytes of the buffer read each trial.
    pub bytes: u64,
    /// Threads of the rayon pool that read it.
    pub threads: usize,
    /// Trials timed (after one warm-up that also faults the pages in).
    pub trials: usize,
    /// Best trial: bytes / seconds, in GB/s (10⁹ bytes).
    pub gb_per_s: f64,
}

/// Read a buffer of `bytes` (rounded down to whole f32) `trials` times and keep the best.
pub fn read_rate(bytes: u64, trials: usize) -> ReadRate {
    let len = (bytes / 4) as usize;
    // Non-zero values so no page stays the shared zero page (which would read from cache).
    let buffer: Vec<f32> = (0..len).map(|i| (i % 7) as f32).collect();
    std::hint::black_box(sum(&buffer));
    let mut best = f64::INFINITY;
    for _ in 0..trials.max(1) {
        let started = Instant::now();
        std::hint::black_box(sum(std::hint::black_box(&buffer)));
        best = best.min(started.elapsed().as_secs_f64());
    }
    let bytes = (len * 4) as u64;
    ReadRate {
        bytes,
        threads: rayon::current_num_threads(),
        trials: trials.max(1),
        gb_per_s: gb_per_s(bytes, best),
    }
}

/// Bytes over seconds in GB/s.
pub fn gb_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / seconds / 1e9
}

/// Sum of `values`, chunks across the rayon pool.
pub fn sum(values: &[f32]) -> f32 {
    values.par_chunks(CHUNK).map(chunk_sum).sum()
}

#[inline]
fn chunk_sum(values: &[f32]) -> f32 {
    // Sixteen independent accumulators: the adds vectorize and do not wait on each other,
    // so the loop runs at the rate memory delivers.
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let (chunks, rest) = values.as_chunks::<LANES>();
    for c in chunks {
        for i in 0..LANES {
            acc[i] += c[i];
        }
    }
    acc.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sum_is_right_across_chunks_and_remainders() {
        let values: Vec<f32> = (0..(CHUNK * 2 + 37)).map(|i| (i % 3) as f32).collect();
        let expected: f64 = values.iter().map(|v| f64::from(*v)).sum();
        assert_eq!(f64::from(sum(&values)), expected);
    }

    #[test]
    fn bandwidth_is_bytes_over_seconds() {
        assert_eq!(gb_per_s(2_000_000_000, 0.5), 4.0);
        let r = read_rate(1 << 20, 2);
        assert_eq!(r.bytes, 1 << 20);
        assert!(r.gb_per_s > 0.0);
    }
}
