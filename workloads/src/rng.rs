//! SplitMix64 (Steele, Lea and Flood 2014): a small, fast generator fully determined by its
//! seed. Everything random in bench (arrival schedules, starting noise, bootstrap resamples)
//! draws from it, so a seed reproduces a run on any machine and any release.

/// The generator; its one word of state is public so a seed can be written as `SplitMix64(s)`.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1]: never 0, so its logarithm is finite.
    pub fn unit_open(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Two independent standard normals from two uniforms (Box–Muller: radius from the
    /// first, angle from the second).
    pub fn normal_pair(&mut self) -> (f64, f64) {
        let (u1, u2) = (self.unit_open(), self.unit_open());
        let r = (-2.0 * u1.ln()).sqrt();
        let a = std::f64::consts::TAU * u2;
        (r * a.cos(), r * a.sin())
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2⁻³² for any `n` bench
    /// uses). `n` must be above 0.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_first_outputs_and_ranges() {
        // Reference values of SplitMix64 seeded with 0 (Vigna's splitmix64.c).
        let mut rng = SplitMix64(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        for _ in 0..1000 {
            let u = rng.unit_open();
            assert!(u > 0.0 && u <= 1.0);
            assert!(rng.below(7) < 7);
        }
    }
}
