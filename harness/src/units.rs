//! Numbers and units written for people: the formatters the terminal, the report pages, the
//! exports, the charts and the verdicts' reasons share.
//!
//! One sign convention: a signed figure (a change) always carries its sign, `+` or `−`
//! (U+2212, the minus sign, never the hyphen `-`): `+4.2 %`, `−3.1 %`.
//!
//! This module is a leaf: it imports nothing of bench, so `stats` may use it as well as the
//! presentation layers above.
//!
//! The families, by how many digits they keep:
//! - [`human`], [`significant`], [`significant_or`]: three significant digits, zeros kept (`2.50 GB`, `0.500`);
//! - [`trimmed`], [`distinct`]: a given number of significant digits, trailing zeros dropped
//!   (`0.003`, `1.2e-5`), for figures inside sentences;
//! - [`compact`], [`compact_significant`], [`duration`], [`energy`], [`factor`]: short labels
//!   for charts (`25k`, `12.5 ms`, `1.23 kJ`, `×3.8`);
//! - [`seconds_fixed`], [`rate_fixed`], [`fixed`]: fixed decimals for the columns of the
//!   end-of-run table, `-` when absent;
//! - [`four_digits`]: four significant digits, for a metric's series across runs;
//! - [`percent`], [`percent_trimmed`], [`signed`]: signed changes; [`ratio`]: `×1.042`.

/// The sign of a signed figure: `−` (U+2212) below zero, `+` otherwise.
pub fn sign(v: f64) -> &'static str {
    if v < 0.0 {
        "−"
    } else {
        "+"
    }
}

/// `v` in `unit`, scaled and rounded for reading: seconds as ms below 10 s, bytes in GB,
/// FLOP/s in GFLOP/s, everything else to three significant digits.
pub fn human(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    match unit {
        "s" if v.abs() < 10.0 => format!("{} ms", significant(v * 1e3)),
        "B" => format!("{} GB", significant(v / 1e9)),
        "FLOP/s" => format!("{} GFLOP/s", significant(v / 1e9)),
        "" => significant(v),
        _ => format!("{} {unit}", significant(v)),
    }
}

/// Three significant digits, without an exponent for everyday magnitudes.
pub fn significant(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let magnitude = v.abs().log10().floor() as i32;
    if !(-4..=9).contains(&magnitude) {
        return format!("{v:.2e}");
    }
    let decimals = (2 - magnitude).max(0) as usize;
    format!("{v:.decimals$}")
}

/// [`significant`] followed by `suffix` (`" W"`, `"×"`), or `absent` when there is no value.
pub fn significant_or(v: Option<f64>, suffix: &str, absent: &str) -> String {
    v.map_or_else(|| absent.into(), |v| format!("{}{suffix}", significant(v)))
}

/// `x` rounded to `digits` significant digits, without trailing zeros ("0.003", "2.1",
/// "1.2e-5" below 1e-4).
pub fn trimmed(x: f64, digits: usize) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let digits = digits.max(1);
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{:.*e}", digits - 1, x);
    }
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    trim_zeros(&format!("{x:.decimals$}"))
}

/// `value` with 2 significant digits, or more when 2 would print it the same as
/// `reference` (so that "p = 0.05 < α = 0.05" cannot happen).
pub fn distinct(value: f64, reference: f64) -> String {
    for digits in 2..=6 {
        let text = trimmed(value, digits);
        if text != trimmed(reference, digits) || value == reference {
            return text;
        }
    }
    trimmed(value, 6)
}

/// A change in percent with its sign and one decimal: `+4.2 %`, `−3.1 %`.
pub fn percent(change_pct: f64) -> String {
    format!("{}{:.1} %", sign(change_pct), change_pct.abs())
}

/// A change in percent with its sign and two significant digits (`+19 %`, `−4.2 %`); with
/// `threshold`, enough digits for the magnitude to differ from it (`+4.996 %` beside 5).
pub fn percent_trimmed(change_pct: f64, threshold: Option<f64>) -> String {
    let magnitude = match threshold {
        Some(threshold) => distinct(change_pct.abs(), threshold),
        None => trimmed(change_pct.abs(), 2),
    };
    format!("{}{magnitude} %", sign(change_pct))
}

/// `v` with its sign and `decimals` decimals: `+3`, `−0.25`.
pub fn signed(v: f64, decimals: usize) -> String {
    format!("{}{:.decimals$}", sign(v), v.abs())
}

/// Seconds with fixed decimals: `12.3 ms` below 10 s, `12.35 s` above; `-` when absent.
pub fn seconds_fixed(v: Option<f64>) -> String {
    match v {
        Some(s) if s < 10.0 => format!("{:.1} ms", s * 1e3),
        Some(s) => format!("{s:.2} s"),
        None => "-".into(),
    }
}

/// A token rate with one decimal, `12.3 tok/s`; `-` when absent.
pub fn rate_fixed(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |r| format!("{r:.1} tok/s"))
}

/// A value with its unit and a fixed number of decimals, `-` when absent.
pub fn fixed(v: Option<f64>, decimals: usize, unit: &str) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.decimals$} {unit}"))
}

/// A value with its unit, to about four significant digits (`1.234`, `65.18`, `1234`);
/// seconds below 1 s as ms.
pub fn four_digits(v: f64, unit: &str) -> String {
    let (v, unit) = if unit == "s" && v.abs() < 1.0 {
        (v * 1e3, "ms")
    } else {
        (v, unit)
    };
    let a = v.abs();
    let number = if a == 0.0 {
        "0".to_string()
    } else if (1e-3..1e7).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.3e}")
    };
    if unit.is_empty() {
        number
    } else {
        format!("{number} {unit}")
    }
}

/// `v` with `decimals` decimals for chart labels: large whole numbers get k/M/G/T suffixes
/// (`25k`) and very small ones scientific notation, so labels stay short; `-0` is `0`.
pub fn compact(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    if a >= 1e4 {
        for (div, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] {
            if a >= div {
                return format!("{}{}", trim_zeros(&format!("{:.2}", v / div)), suffix);
            }
        }
    }
    if a != 0.0 && a < 1e-4 {
        return format!("{v:.0e}");
    }
    let s = format!("{v:.decimals$}");
    if s.chars().all(|c| c == '-' || c == '0' || c == '.') {
        return "0".into();
    }
    s
}

/// `v` with about `sig` significant digits, trailing zeros removed, for chart labels; from
/// 10 000 on as [`compact`] writes it; `n/a` when not finite.
pub fn compact_significant(v: f64, sig: i32) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if a >= 1e4 {
        return compact(v, 0);
    }
    if a < 1e-4 {
        return format!("{v:.1e}");
    }
    let mag = a.log10().floor() as i32;
    let d = (sig - 1 - mag).clamp(0, 12) as usize;
    trim_zeros(&format!("{v:.d$}"))
}

/// The time unit that suits values up to `max_abs` seconds: (factor, unit).
pub fn time_unit(max_abs: f64) -> (f64, &'static str) {
    if max_abs >= 1.0 {
        (1.0, "s")
    } else if max_abs >= 1e-3 {
        (1e3, "ms")
    } else {
        (1e6, "µs")
    }
}

/// A duration given in seconds with a unit that suits it: "850 µs", "12.5 ms", "1.2 s",
/// "95 s". Three significant digits; non-finite input gives "n/a".
pub fn duration(s: f64) -> String {
    if !s.is_finite() {
        return "n/a".into();
    }
    let (f, u) = time_unit(s.abs());
    format!("{} {u}", compact_significant(s * f, 3))
}

/// Joules with a unit that suits them: "850 mJ", "12.3 J", "4.5 kJ".
pub fn energy(j: f64) -> String {
    if !j.is_finite() {
        return "n/a".into();
    }
    let a = j.abs();
    let (f, u) = if a >= 1e6 {
        (1e-6, "MJ")
    } else if a >= 1e3 {
        (1e-3, "kJ")
    } else if a >= 1.0 || a == 0.0 {
        (1.0, "J")
    } else {
        (1e3, "mJ")
    };
    format!("{} {u}", compact_significant(j * f, 3))
}

/// A ratio of two figures to three decimals, `×1.042`.
pub fn ratio(r: f64) -> String {
    format!("×{r:.3}")
}

/// A speed-up factor: "×3.8", "×1.03", "×12.5"; `n/a` unless finite and positive.
pub fn factor(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return "n/a".into();
    }
    let d = if v >= 9.995 { 1 } else { 2 };
    format!("×{}", trim_zeros(&format!("{v:.d$}")))
}

/// `s` without the trailing zeros of its decimals, nor a trailing point.
pub fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_and_rounded() {
        assert_eq!(human(0.01234, "s"), "12.3 ms");
        assert_eq!(human(12.5, "s"), "12.5 s");
        assert_eq!(human(2.5e9, "B"), "2.50 GB");
        assert_eq!(human(1234.4, "tok/s"), "1234 tok/s");
        assert_eq!(human(0.5, ""), "0.500");
        assert_eq!(significant(1.5e-7), "1.50e-7");
        assert_eq!(significant_or(Some(2.0), "×", "-"), "2.00×");
        assert_eq!(significant_or(None, " W", "–"), "–");
    }

    #[test]
    fn trimmed_and_distinct() {
        assert_eq!(trimmed(0.2137, 2), "0.21");
        assert_eq!(trimmed(0.003, 2), "0.003");
        assert_eq!(trimmed(0.0999, 2), "0.1");
        assert_eq!(trimmed(2.14, 2), "2.1");
        assert_eq!(trimmed(123.4, 2), "123");
        assert_eq!(trimmed(0.000012, 2), "1.2e-5");
        assert_eq!(distinct(0.0496, 0.05), "0.0496");
        assert_eq!(distinct(0.05, 0.05), "0.05");
    }

    /// Every signed figure has the same minus sign, U+2212.
    #[test]
    fn one_minus_sign() {
        assert_eq!(percent(-3.06), "−3.1 %");
        assert_eq!(percent(4.0), "+4.0 %");
        assert_eq!(percent_trimmed(-4.23, None), "−4.2 %");
        assert_eq!(percent_trimmed(4.996, Some(5.0)), "+4.996 %");
        assert_eq!(signed(-2.5, 2), "−2.50");
        assert_eq!(signed(7.0, 0), "+7");
    }

    #[test]
    fn fixed_decimals_for_table_columns() {
        assert_eq!(seconds_fixed(Some(0.01234)), "12.3 ms");
        assert_eq!(seconds_fixed(Some(12.5)), "12.50 s");
        assert_eq!(seconds_fixed(None), "-");
        assert_eq!(rate_fixed(Some(41.26)), "41.3 tok/s");
        assert_eq!(fixed(Some(1.5), 2, "J"), "1.50 J");
    }

    #[test]
    fn values_keep_about_four_digits() {
        assert_eq!(four_digits(1.2345, "s"), "1.234 s");
        assert_eq!(four_digits(0.0123, "s"), "12.30 ms");
        assert_eq!(four_digits(65.179, "tok/s"), "65.18 tok/s");
        assert_eq!(four_digits(2_723_098_624.0, "B"), "2.723e9 B");
        assert_eq!(four_digits(0.5, "J"), "0.5000 J");
        assert_eq!(four_digits(0.0, ""), "0");
        assert_eq!(four_digits(1234.4, "W"), "1234 W");
    }

    #[test]
    fn chart_labels() {
        assert_eq!(duration(0.0125), "12.5 ms");
        assert_eq!(duration(2.0), "2 s");
        assert_eq!(duration(0.00085), "850 µs");
        assert_eq!(compact(25_000.0, 0), "25k");
        assert_eq!(compact(-0.0, 1), "0");
        assert_eq!(energy(1234.0), "1.23 kJ");
        assert_eq!(factor(3.8), "×3.8");
        assert_eq!(factor(12.54), "×12.5");
        assert_eq!(ratio(1.0416), "×1.042");
    }
}
