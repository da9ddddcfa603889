//! Values with their units, written for people: seconds as ms below 10 s, bytes in GB,
//! FLOP/s in GFLOP/s, everything else to three significant digits.

/// `v` in `unit`, scaled and rounded for reading.
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

/// A change in percent with its sign: `+4.2 %`, `−3.1 %`.
pub fn percent(change_pct: f64) -> String {
    let sign = if change_pct < 0.0 { "−" } else { "+" };
    format!("{sign}{:.1} %", change_pct.abs())
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
        assert_eq!(percent(-3.06), "−3.1 %");
        assert_eq!(percent(4.0), "+4.0 %");
    }
}
