//! Tukey's fences: values far outside the interquartile range of their sample.
//!
//! Quartiles are type-7 quantiles. A value is a mild outlier beyond 1.5 IQR outside the
//! quartiles and a severe one beyond 3 IQR; a value exactly on a fence is not an outlier.

use serde::Serialize;

use super::quantile_sorted;

/// How far outside the quartiles a value lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outlier {
    /// Outside the 1.5·IQR fences but within the 3·IQR fences.
    Mild,
    /// Outside the 3·IQR fences.
    Severe,
}

/// Quartiles of a sample and the fences derived from them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fences {
    /// First quartile (type 7).
    pub q1: f64,
    /// Third quartile (type 7).
    pub q3: f64,
    /// `q1 − 1.5·IQR`.
    pub mild_low: f64,
    /// `q3 + 1.5·IQR`.
    pub mild_high: f64,
    /// `q1 − 3·IQR`.
    pub severe_low: f64,
    /// `q3 + 3·IQR`.
    pub severe_high: f64,
}

impl Fences {
    /// Fences of the finite values of `values`; `None` when there are fewer than 4.
    pub fn of(values: &[f64]) -> Option<Self> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        if sorted.len() < 4 {
            return None;
        }
        sorted.sort_unstable_by(f64::total_cmp);
        let q1 = quantile_sorted(&sorted, 0.25);
        let q3 = quantile_sorted(&sorted, 0.75);
        let iqr = q3 - q1;
        Some(Self {
            q1,
            q3,
            mild_low: q1 - 1.5 * iqr,
            mild_high: q3 + 1.5 * iqr,
            severe_low: q1 - 3.0 * iqr,
            severe_high: q3 + 3.0 * iqr,
        })
    }

    /// Whether `value` is an outlier, and how severe; `None` for inliers and non-finite values.
    pub fn classify(&self, value: f64) -> Option<Outlier> {
        if !value.is_finite() {
            None
        } else if value < self.severe_low || value > self.severe_high {
            Some(Outlier::Severe)
        } else if value < self.mild_low || value > self.mild_high {
            Some(Outlier::Mild)
        } else {
            None
        }
    }
}

/// Tukey fences of `values` and the classification of each input value, by index.
///
/// `None` when there are fewer than 4 finite values; non-finite values are left out of
/// the quartiles and classified as `None`. With an IQR of 0 (mostly equal values) every
/// value that differs from the quartiles is a severe outlier.
pub fn tukey(values: &[f64]) -> Option<(Fences, Vec<Option<Outlier>>)> {
    let fences = Fences::of(values)?;
    let labels = values.iter().map(|&v| fences.classify(v)).collect();
    Some((fences, labels))
}

/// Number of mild and severe outliers in a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct OutlierCount {
    /// Values outside the 1.5·IQR fences but within the 3·IQR fences.
    pub mild: usize,
    /// Values outside the 3·IQR fences.
    pub severe: usize,
}

impl OutlierCount {
    /// Counts of already classified outliers (such as a summary's flags).
    pub fn of(flags: impl IntoIterator<Item = Outlier>) -> Self {
        let mut counts = Self::default();
        for flag in flags {
            match flag {
                Outlier::Mild => counts.mild += 1,
                Outlier::Severe => counts.severe += 1,
            }
        }
        counts
    }
}

/// Counts the outliers of `values` by Tukey's fences; zeros when fewer than 4 are finite.
pub fn count(values: &[f64]) -> OutlierCount {
    tukey(values).map_or_else(OutlierCount::default, |(_, flags)| {
        OutlierCount::of(flags.into_iter().flatten())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mild_and_severe_outliers_by_index() {
        // Sorted finite values: 1 2 3 4 5 6 7 8 15 100 (n = 10).
        // q1: h = 9·0.25 = 2.25 → 3 + 0.25·(4 − 3) = 3.25
        // q3: h = 9·0.75 = 6.75 → 7 + 0.75·(8 − 7) = 7.75; IQR = 4.5
        // mild fences 3.25 − 6.75 = −3.5 and 7.75 + 6.75 = 14.5
        // severe fences 3.25 − 13.5 = −10.25 and 7.75 + 13.5 = 21.25
        // → 15 is mild (14.5 < 15 ≤ 21.25), 100 is severe.
        let values = [
            5.0,
            1.0,
            100.0,
            2.0,
            f64::NAN,
            3.0,
            4.0,
            15.0,
            6.0,
            7.0,
            8.0,
        ];
        let Some((fences, labels)) = tukey(&values) else {
            panic!("no fences")
        };
        assert_eq!(
            fences,
            Fences {
                q1: 3.25,
                q3: 7.75,
                mild_low: -3.5,
                mild_high: 14.5,
                severe_low: -10.25,
                severe_high: 21.25,
            }
        );
        let mut expected = vec![None; values.len()];
        expected[2] = Some(Outlier::Severe);
        expected[7] = Some(Outlier::Mild);
        assert_eq!(labels, expected);
        assert_eq!(count(&values), OutlierCount { mild: 1, severe: 1 });
    }

    #[test]
    fn low_side_and_values_on_fences() {
        // Sorted: −12 −4 1 2 3 4 5 6 7 14.5 (n = 10).
        // q1: h = 2.25 → 1 + 0.25·(2 − 1) = 1.25; q3: h = 6.75 → 5 + 0.75·(6 − 5) = 5.75
        // IQR = 4.5; mild fences 1.25 − 6.75 = −5.5 and 5.75 + 6.75 = 12.5;
        // severe fences 1.25 − 13.5 = −12.25 and 5.75 + 13.5 = 19.25
        // → −12 is mild (just inside −12.25), −4 is an inlier, 14.5 is mild.
        let values = [-12.0, -4.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 14.5];
        let Some((fences, labels)) = tukey(&values) else {
            panic!("no fences")
        };
        assert_eq!((fences.q1, fences.q3), (1.25, 5.75));
        assert_eq!((fences.severe_low, fences.mild_high), (-12.25, 12.5));
        assert_eq!(labels[0], Some(Outlier::Mild));
        assert_eq!(labels[1], None);
        assert_eq!(labels[9], Some(Outlier::Mild));
        assert_eq!(count(&values), OutlierCount { mild: 2, severe: 0 });
        // A value exactly on a fence is inside it.
        assert_eq!(fences.classify(fences.mild_high), None);
        assert_eq!(fences.classify(fences.severe_low), Some(Outlier::Mild));
        assert_eq!(fences.classify(f64::INFINITY), None);
    }

    #[test]
    fn zero_iqr_makes_any_different_value_severe() {
        // Sorted: 5 5 5 5 5 6; q1 (h = 1.25) = 5, q3 (h = 3.75) = 5, IQR = 0.
        let values = [5.0, 5.0, 6.0, 5.0, 5.0, 5.0];
        assert_eq!(count(&values), OutlierCount { mild: 0, severe: 1 });
    }

    #[test]
    fn fewer_than_four_finite_values() {
        assert!(tukey(&[1.0, 2.0, 100.0]).is_none());
        assert!(tukey(&[1.0, 2.0, 100.0, f64::NAN]).is_none());
        assert_eq!(count(&[1.0, 2.0, 100.0]), OutlierCount::default());
        assert!(tukey(&[1.0, 2.0, 3.0, 4.0]).is_some());
    }
}
