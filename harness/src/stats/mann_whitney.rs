//! Mann-Whitney U test (Wilcoxon rank-sum test) of two independent samples.
//!
//! Follows `scipy.stats.mannwhitneyu`: the exact null distribution when there are no
//! ties and both samples have at most [`EXACT_MAX_SIZE`] values, otherwise the normal
//! approximation with tie-corrected variance and a continuity correction of 0.5
//! (scipy's `method="asymptotic", use_continuity=True`). Unlike scipy's `method="auto"`,
//! which switches to the approximation above 8 values, the exact test is kept up to 50
//! values because benchmark samples are small and ties between timings are rare.

use serde::Serialize;

/// Largest sample size (of either sample) for which the exact null distribution is used.
pub const EXACT_MAX_SIZE: usize = 50;

/// The alternative hypothesis, about the first sample `x` relative to the second `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alternative {
    /// The distributions of `x` and `y` differ.
    TwoSided,
    /// `x` is stochastically greater than `y` (tends to be larger).
    Greater,
    /// `x` is stochastically less than `y` (tends to be smaller).
    Less,
}

/// How the p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Exact null distribution of U (no ties, both sizes at most [`EXACT_MAX_SIZE`]).
    Exact,
    /// Normal approximation with tie correction and continuity correction.
    Normal,
}

/// Result of a Mann-Whitney U test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MannWhitney {
    /// U statistic of the first sample: the number of pairs with x > y plus half the ties.
    pub u: f64,
    /// p-value for the requested alternative.
    pub p_value: f64,
    /// How the p-value was computed.
    pub method: Method,
    /// Whether any value occurs more than once in the pooled samples.
    pub ties: bool,
}

/// Mann-Whitney U test of the finite values of `x` against those of `y`.
///
/// `None` when either sample has no finite values.
pub fn mann_whitney(x: &[f64], y: &[f64], alternative: Alternative) -> Option<MannWhitney> {
    let x: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    let y: Vec<f64> = y.iter().copied().filter(|v| v.is_finite()).collect();
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let ranks = RankSummary::of(&x, &y);
    let u1 = ranks.rank_sum_x - (n1 * (n1 + 1)) as f64 / 2.0;
    let u2 = (n1 * n2) as f64 - u1;
    let ties = ranks.tie_term > 0.0;

    // As scipy: the upper tail of the U of the side that H1 says is larger, doubled for
    // two-sided (the null distribution is symmetric, so this is 2·min of both tails).
    let (u_tail, factor) = match alternative {
        Alternative::Greater => (u1, 1.0),
        Alternative::Less => (u2, 1.0),
        Alternative::TwoSided => (u1.max(u2), 2.0),
    };
    let (upper_tail, method) = if !ties && n1 <= EXACT_MAX_SIZE && n2 <= EXACT_MAX_SIZE {
        // Without ties U is an integer, so the cast is exact.
        let distribution = exact_null_distribution(n1, n2);
        let tail: f64 = distribution.iter().skip(u_tail as usize).sum();
        (tail, Method::Exact)
    } else {
        (
            normal_upper_tail(u_tail, n1, n2, ranks.tie_term),
            Method::Normal,
        )
    };
    Some(MannWhitney {
        u: u1,
        p_value: (factor * upper_tail).clamp(0.0, 1.0),
        method,
        ties,
    })
}

/// The smallest p-value the exact test can give for samples of `n1` and `n2` values:
/// `1 / C(n1 + n2, n1)`, doubled for a two-sided test, at most 1.
///
/// A test whose smallest p-value is not below α can never be significant, whatever the
/// data (3 against 3 repetitions give at best 0.1 two-sided).
pub fn smallest_p_value(n1: usize, n2: usize, alternative: Alternative) -> f64 {
    let factor = match alternative {
        Alternative::TwoSided => 2.0,
        Alternative::Greater | Alternative::Less => 1.0,
    };
    (factor / binomial(n1 + n2, n1.min(n2))).min(1.0)
}

/// `C(n, k)` in floating point (infinite when it overflows).
fn binomial(n: usize, k: usize) -> f64 {
    // Multiplying before dividing keeps every partial product an integer C(n - k + i, i).
    (1..=k).fold(1.0, |acc, i| acc * (n - k + i) as f64 / i as f64)
}

/// Rank sum of `x` in the pooled sample and the tie term Σ(t³ − t) over groups of ties.
struct RankSummary {
    rank_sum_x: f64,
    tie_term: f64,
}

impl RankSummary {
    fn of(x: &[f64], y: &[f64]) -> Self {
        let mut pooled: Vec<(f64, bool)> = x
            .iter()
            .map(|&v| (v, true))
            .chain(y.iter().map(|&v| (v, false)))
            .collect();
        pooled.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut rank_sum_x = 0.0;
        let mut tie_term = 0.0;
        let mut start = 0;
        while start < pooled.len() {
            let value = pooled[start].0;
            let end = start + pooled[start..].partition_point(|p| p.0 == value);
            // Ranks start+1 ..= end share their mean (midrank).
            let midrank = (start + 1 + end) as f64 / 2.0;
            let from_x = pooled[start..end].iter().filter(|p| p.1).count();
            rank_sum_x += midrank * from_x as f64;
            let t = (end - start) as f64;
            tie_term += t * t * t - t;
            start = end;
        }
        Self {
            rank_sum_x,
            tie_term,
        }
    }
}

/// P(U = u) for u = 0 ..= n1·n2 under H0, for samples of `n1` and `n2` values without ties.
///
/// Recursion on the largest pooled value: with probability i/(i+j) it belongs to x and
/// exceeds all j values of y (adding j to U), otherwise it belongs to y (adding 0). Working
/// in probabilities with only additions of positive terms keeps f64 accurate to a few ulps
/// without the overflow of raw counts (C(100, 50) ≈ 1e29).
fn exact_null_distribution(n1: usize, n2: usize) -> Vec<f64> {
    // previous[j] = distribution for (i - 1, j); current[j] = distribution for (i, j).
    let mut previous: Vec<Vec<f64>> = vec![vec![1.0]; n2 + 1];
    for i in 1..=n1 {
        let mut current: Vec<Vec<f64>> = Vec::with_capacity(n2 + 1);
        current.push(vec![1.0]);
        for j in 1..=n2 {
            let x_largest = i as f64 / (i + j) as f64;
            let y_largest = j as f64 / (i + j) as f64;
            let mut distribution = vec![0.0; i * j + 1];
            for (u, p) in previous[j].iter().enumerate() {
                distribution[u + j] += x_largest * p;
            }
            for (u, p) in current[j - 1].iter().enumerate() {
                distribution[u] += y_largest * p;
            }
            current.push(distribution);
        }
        previous = current;
    }
    previous.pop().unwrap_or_else(|| vec![1.0])
}

/// P(U ≥ u) by the normal approximation with tie correction and continuity correction.
fn normal_upper_tail(u: f64, n1: usize, n2: usize, tie_term: f64) -> f64 {
    let (n1, n2) = (n1 as f64, n2 as f64);
    let n = n1 + n2;
    let mean = n1 * n2 / 2.0;
    // n ≥ 2 here whenever there are ties, so n·(n − 1) is not 0 when tie_term is not 0.
    let tie_correction = if tie_term > 0.0 {
        tie_term / (n * (n - 1.0))
    } else {
        0.0
    };
    let variance = n1 * n2 / 12.0 * ((n + 1.0) - tie_correction);
    if variance <= 0.0 {
        // All values equal: no evidence of any difference.
        return 1.0;
    }
    let z = (u - mean - 0.5) / variance.sqrt();
    standard_normal_upper_tail(z)
}

/// P(Z ≥ z) for a standard normal Z, accurate in the far tail.
fn standard_normal_upper_tail(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Complementary error function, accurate to about 1 ulp (relative) over the whole range.
///
/// Port of `erfc` from FreeBSD's msun `s_erf.c` (via the `libm` crate), whose notice
/// follows:
///
/// Copyright (C) 1993 by Sun Microsystems, Inc. All rights reserved.
/// Developed at SunPro, a Sun Microsystems, Inc. business.
/// Permission to use, copy, modify, and distribute this software is freely granted,
/// provided that this notice is preserved.
// fdlibm's constants are kept digit for digit, beyond what f64 holds.
#[allow(clippy::excessive_precision)]
fn erfc(x: f64) -> f64 {
    const ERX: f64 = 8.45062911510467529297e-01;
    // erf on [0, 0.84375]
    const PP0: f64 = 1.28379167095512558561e-01;
    const PP1: f64 = -3.25042107247001499370e-01;
    const PP2: f64 = -2.84817495755985104766e-02;
    const PP3: f64 = -5.77027029648944159157e-03;
    const PP4: f64 = -2.37630166566501626084e-05;
    const QQ1: f64 = 3.97917223959155352819e-01;
    const QQ2: f64 = 6.50222499887672944485e-02;
    const QQ3: f64 = 5.08130628187576562776e-03;
    const QQ4: f64 = 1.32494738004321644526e-04;
    const QQ5: f64 = -3.96022827877536812320e-06;
    // erf on [0.84375, 1.25]
    const PA0: f64 = -2.36211856075265944077e-03;
    const PA1: f64 = 4.14856118683748331666e-01;
    const PA2: f64 = -3.72207876035701323847e-01;
    const PA3: f64 = 3.18346619901161753674e-01;
    const PA4: f64 = -1.10894694282396677476e-01;
    const PA5: f64 = 3.54783043256182359371e-02;
    const PA6: f64 = -2.16637559486879084300e-03;
    const QA1: f64 = 1.06420880400844228286e-01;
    const QA2: f64 = 5.40397917702171048937e-01;
    const QA3: f64 = 7.18286544141962662868e-02;
    const QA4: f64 = 1.26171219808761642112e-01;
    const QA5: f64 = 1.36370839120290507362e-02;
    const QA6: f64 = 1.19844998467991074170e-02;
    // erfc on [1.25, 1/0.35]
    const RA0: f64 = -9.86494403484714822705e-03;
    const RA1: f64 = -6.93858572707181764372e-01;
    const RA2: f64 = -1.05586262253232909814e+01;
    const RA3: f64 = -6.23753324503260060396e+01;
    const RA4: f64 = -1.62396669462573470355e+02;
    const RA5: f64 = -1.84605092906711035994e+02;
    const RA6: f64 = -8.12874355063065934246e+01;
    const RA7: f64 = -9.81432934416914548592e+00;
    const SA1: f64 = 1.96512716674392571292e+01;
    const SA2: f64 = 1.37657754143519042600e+02;
    const SA3: f64 = 4.34565877475229228821e+02;
    const SA4: f64 = 6.45387271733267880336e+02;
    const SA5: f64 = 4.29008140027567833386e+02;
    const SA6: f64 = 1.08635005541779435134e+02;
    const SA7: f64 = 6.57024977031928170135e+00;
    const SA8: f64 = -6.04244152148580987438e-02;
    // erfc on [1/0.35, 28]
    const RB0: f64 = -9.86494292470009928597e-03;
    const RB1: f64 = -7.99283237680523006574e-01;
    const RB2: f64 = -1.77579549177547519889e+01;
    const RB3: f64 = -1.60636384855821916062e+02;
    const RB4: f64 = -6.37566443368389627722e+02;
    const RB5: f64 = -1.02509513161107724954e+03;
    const RB6: f64 = -4.83519191608651397019e+02;
    const SB1: f64 = 3.03380607434824582924e+01;
    const SB2: f64 = 3.25792512996573918826e+02;
    const SB3: f64 = 1.53672958608443695994e+03;
    const SB4: f64 = 3.19985821950859553908e+03;
    const SB5: f64 = 2.55305040643316442583e+03;
    const SB6: f64 = 4.74528541206955367215e+02;
    const SB7: f64 = -2.24409524465858183362e+01;

    if x.is_nan() {
        return x;
    }
    let negative = x.is_sign_negative();
    let ax = x.abs();
    if ax < 0.84375 {
        if ax < f64::EPSILON / 16.0 {
            return 1.0 - x;
        }
        let z = x * x;
        let r = PP0 + z * (PP1 + z * (PP2 + z * (PP3 + z * PP4)));
        let s = 1.0 + z * (QQ1 + z * (QQ2 + z * (QQ3 + z * (QQ4 + z * QQ5))));
        let y = r / s;
        if negative || ax < 0.25 {
            return 1.0 - (x + x * y);
        }
        return 0.5 - (x - 0.5 + x * y);
    }
    if ax >= 28.0 {
        return if negative { 2.0 } else { 0.0 };
    }
    let tail = if ax < 1.25 {
        let s = ax - 1.0;
        let p = PA0 + s * (PA1 + s * (PA2 + s * (PA3 + s * (PA4 + s * (PA5 + s * PA6)))));
        let q = 1.0 + s * (QA1 + s * (QA2 + s * (QA3 + s * (QA4 + s * (QA5 + s * QA6)))));
        if negative {
            return 1.0 + ERX + p / q;
        }
        1.0 - ERX - p / q
    } else {
        let s = 1.0 / (ax * ax);
        let (r, big_s) = if ax < 1.0 / 0.35 {
            (
                RA0 + s
                    * (RA1 + s * (RA2 + s * (RA3 + s * (RA4 + s * (RA5 + s * (RA6 + s * RA7)))))),
                1.0 + s
                    * (SA1
                        + s * (SA2
                            + s * (SA3 + s * (SA4 + s * (SA5 + s * (SA6 + s * (SA7 + s * SA8))))))),
            )
        } else {
            (
                RB0 + s * (RB1 + s * (RB2 + s * (RB3 + s * (RB4 + s * (RB5 + s * RB6))))),
                1.0 + s
                    * (SB1 + s * (SB2 + s * (SB3 + s * (SB4 + s * (SB5 + s * (SB6 + s * SB7)))))),
            )
        };
        // Splitting x² as z² + (x − z)(x + z), with z = x truncated to 32 low zero bits,
        // keeps exp(−x²) accurate (fdlibm's trick).
        let z = f64::from_bits(ax.to_bits() & 0xFFFF_FFFF_0000_0000);
        (-z * z - 0.5625).exp() * ((z - ax) * (z + ax) + r / big_s).exp() / ax
    };
    if negative {
        2.0 - tail
    } else {
        tail
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_close(got: f64, want: f64, what: &str) {
        let tolerance = 1e-9 * want.abs().max(1e-300);
        assert!(
            (got - want).abs() <= tolerance,
            "{what}: got {got:e}, scipy {want:e}"
        );
    }

    fn p(x: &[f64], y: &[f64], alternative: Alternative) -> MannWhitney {
        match mann_whitney(x, y, alternative) {
            Some(result) => result,
            None => panic!("no result for {x:?} vs {y:?}"),
        }
    }

    #[test]
    fn erfc_known_values() {
        // Reference values: Python math.erfc.
        for (x, want) in [
            (0.0, 1.0),
            (0.1, 0.8875370839817152),
            (0.5, 0.4795001221869535),
            (-0.5, 1.5204998778130465),
            (1.0, 0.15729920705028513),
            (-1.0, 1.842700792949715),
            (2.0, 0.004677734981047265),
            (3.0, 2.2090496998585438e-05),
            (5.0, 1.5374597944280351e-12),
            (10.0, 2.088487583762545e-45),
        ] {
            let got = erfc(x);
            assert!(
                (got - want).abs() <= 4.0 * f64::EPSILON * want,
                "erfc({x}) = {got:e}, want {want:e}"
            );
        }
        assert_eq!(erfc(30.0), 0.0);
        assert_eq!(erfc(-30.0), 2.0);
        assert!(erfc(f64::NAN).is_nan());
    }

    #[test]
    fn exact_distribution_sums_to_one_and_is_symmetric() {
        for (n1, n2) in [(1, 1), (3, 5), (10, 10), (50, 50), (7, 1)] {
            let distribution = exact_null_distribution(n1, n2);
            assert_eq!(distribution.len(), n1 * n2 + 1);
            let total: f64 = distribution.iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "{n1}x{n2}: {total}");
            for u in 0..distribution.len() {
                let mirrored = distribution[distribution.len() - 1 - u];
                assert!((distribution[u] - mirrored).abs() <= 1e-12 * distribution[u].max(1e-300));
            }
            assert_close(distribution[0], 1.0 / binomial(n1 + n2, n1), "P(U = 0)");
        }
    }

    // Reference p-values below: scipy 1.17.1, `scipy.stats.mannwhitneyu(x, y,
    // alternative=..., method=...)` with method="exact" for the exact cases and
    // method="asymptotic" (use_continuity=True, the default) for the others.

    #[test]
    fn four_against_four_separated_matches_scipy_exact() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [5.0, 6.0, 7.0, 8.0];
        let two_sided = p(&x, &y, Alternative::TwoSided);
        assert_eq!(two_sided.u, 0.0);
        assert_eq!(two_sided.method, Method::Exact);
        assert!(!two_sided.ties);
        // mannwhitneyu([1,2,3,4], [5,6,7,8], alternative=..., method="exact")
        assert_close(two_sided.p_value, 0.02857142857142857, "two-sided");
        assert_close(
            p(&x, &y, Alternative::Less).p_value,
            0.014285714285714285,
            "less",
        );
        assert_close(p(&x, &y, Alternative::Greater).p_value, 1.0, "greater");
        // Swapping the samples mirrors U and the one-sided alternatives.
        assert_eq!(p(&y, &x, Alternative::Greater).u, 16.0);
        assert_close(
            p(&y, &x, Alternative::Greater).p_value,
            0.014285714285714285,
            "swapped",
        );
    }

    #[test]
    fn ten_against_ten_without_ties_matches_scipy_exact() {
        let x = [12.1, 11.3, 13.8, 10.9, 12.7, 14.2, 11.8, 13.1, 12.4, 15.0];
        let y = [11.0, 10.2, 12.0, 9.8, 11.5, 10.7, 12.9, 10.4, 11.1, 9.5];
        let got = p(&x, &y, Alternative::TwoSided);
        assert_eq!(got.method, Method::Exact);
        assert_eq!(got.u, 87.0);
        // mannwhitneyu(x, y, alternative=..., method="exact")
        assert_close(got.p_value, 0.003886206672584382, "two-sided");
        assert_close(
            p(&x, &y, Alternative::Greater).p_value,
            0.001943103336292191,
            "greater",
        );
        assert_close(
            p(&x, &y, Alternative::Less).p_value,
            0.9985602632661456,
            "less",
        );
    }

    /// 1..=n permuted: distinct multiples of 0.1 for x, shifted by 12.05 for y, so that
    /// there are no ties within or between the samples.
    fn spread_samples(n: usize) -> (Vec<f64>, Vec<f64>) {
        let x = (1..=n).map(|i| (i * 7919 % 1009) as f64 / 10.0).collect();
        let y = (1..=n)
            .map(|i| (i * 104729 % 1009) as f64 / 10.0 + 12.05)
            .collect();
        (x, y)
    }

    #[test]
    fn fifty_against_fifty_without_ties_matches_scipy_exact() {
        let (x, y) = spread_samples(50);
        let got = p(&x, &y, Alternative::TwoSided);
        assert_eq!((got.u, got.method, got.ties), (935.0, Method::Exact, false));
        // mannwhitneyu(x, y, alternative=..., method="exact") with x, y as in spread_samples
        assert_close(got.p_value, 0.02971919367124015, "two-sided");
        assert_close(
            p(&x, &y, Alternative::Greater).p_value,
            0.9854018794546698,
            "greater",
        );
        assert_close(
            p(&x, &y, Alternative::Less).p_value,
            0.014859596835620076,
            "less",
        );
    }

    #[test]
    fn sixty_against_sixty_matches_scipy_asymptotic() {
        let (x, y) = spread_samples(60);
        let got = p(&x, &y, Alternative::TwoSided);
        assert_eq!(
            (got.u, got.method, got.ties),
            (1339.0, Method::Normal, false)
        );
        // mannwhitneyu(x, y, alternative=..., method="asymptotic")
        assert_close(got.p_value, 0.015649095698650712, "two-sided");
        assert_close(
            p(&x, &y, Alternative::Greater).p_value,
            0.9922875648473292,
            "greater",
        );
        assert_close(
            p(&x, &y, Alternative::Less).p_value,
            0.007824547849325356,
            "less",
        );
    }

    #[test]
    fn ties_use_tie_corrected_normal_approximation_as_scipy() {
        let x = [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 5.0, 6.0];
        let y = [3.0, 4.0, 4.0, 5.0, 7.0, 8.0, 8.0, 9.0, 9.0];
        let got = p(&x, &y, Alternative::TwoSided);
        assert_eq!((got.u, got.method, got.ties), (13.5, Method::Normal, true));
        // mannwhitneyu(x, y, alternative=..., method="asymptotic")
        assert_close(got.p_value, 0.03295011419483441, "two-sided");
        assert_close(
            p(&x, &y, Alternative::Greater).p_value,
            0.9871140282477708,
            "greater",
        );
        assert_close(
            p(&x, &y, Alternative::Less).p_value,
            0.016475057097417204,
            "less",
        );
    }

    #[test]
    fn all_values_equal_gives_p_one() {
        // mannwhitneyu([2,2,2], [2,2], method="asymptotic"): U = 3, p = 1 for every
        // alternative (zero variance).
        for alternative in [
            Alternative::TwoSided,
            Alternative::Greater,
            Alternative::Less,
        ] {
            let got = p(&[2.0, 2.0, 2.0], &[2.0, 2.0], alternative);
            assert_eq!((got.u, got.p_value, got.method), (3.0, 1.0, Method::Normal));
            assert_eq!(p(&[2.0], &[2.0], alternative).p_value, 1.0);
        }
    }

    #[test]
    fn smallest_p_values() {
        assert_close(smallest_p_value(3, 3, Alternative::TwoSided), 0.1, "3v3");
        assert_close(
            smallest_p_value(4, 4, Alternative::TwoSided),
            2.0 / 70.0,
            "4v4",
        );
        assert_close(
            smallest_p_value(3, 3, Alternative::Greater),
            0.05,
            "3v3 one-sided",
        );
        assert_close(
            smallest_p_value(4, 4, Alternative::Less),
            1.0 / 70.0,
            "4v4 one-sided",
        );
        assert_eq!(smallest_p_value(1, 1, Alternative::TwoSided), 1.0);
        assert_eq!(smallest_p_value(0, 5, Alternative::Greater), 1.0);
        // The exact test reaches it for completely separated samples.
        let separated = p(
            &[1.0, 2.0, 3.0, 4.0],
            &[5.0, 6.0, 7.0, 8.0],
            Alternative::TwoSided,
        );
        assert_close(
            separated.p_value,
            smallest_p_value(4, 4, Alternative::TwoSided),
            "4v4",
        );
    }

    #[test]
    fn empty_or_non_finite_samples_give_none() {
        assert_eq!(mann_whitney(&[], &[1.0], Alternative::TwoSided), None);
        assert_eq!(
            mann_whitney(&[1.0], &[f64::NAN], Alternative::TwoSided),
            None
        );
        let with_nan = p(
            &[1.0, f64::NAN, 2.0],
            &[3.0, f64::INFINITY],
            Alternative::Less,
        );
        let without = p(&[1.0, 2.0], &[3.0], Alternative::Less);
        assert_eq!(with_nan, without);
    }
}
