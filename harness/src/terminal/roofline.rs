//! The `roofline:` lines under the end-of-run table: each case's prefill MFU, decode MBU or
//! step MFU against its ceiling, a figure above 100 % flagged as an error.

use crate::roofline::{CaseRoofline, Fraction, RooflineChange, ABOVE_CEILING};
use crate::units::significant;

/// One figure: `prefill MFU 23 % of 160 GFLOP/s bf16 (calibration:<file>)`.
fn figure(name: &str, f: &Fraction) -> String {
    let ceiling = if f.ceiling.of == "memory" {
        format!("{} GB/s", significant(f.ceiling.value / 1e9))
    } else {
        format!(
            "{} GFLOP/s {}",
            significant(f.ceiling.value / 1e9),
            f.ceiling.of
        )
    };
    let flag = if f.above_ceiling() {
        format!(" ({ABOVE_CEILING})")
    } else {
        String::new()
    };
    format!(
        "{name} {} % of {ceiling} [{}]{flag}",
        significant(f.value() * 100.0),
        f.ceiling.source
    )
}

/// The line of one case; none when it has neither a figure nor a reason for lacking one.
pub fn line(r: &CaseRoofline) -> Option<String> {
    let mut parts: Vec<String> = r.figures().map(|(name, f)| figure(name, f)).collect();
    parts.extend(r.missing.iter().cloned());
    (!parts.is_empty()).then(|| format!("roofline: {} {}", r.case, parts.join(", ")))
}

/// Every case's line, or none when no case has one.
pub fn footer(rooflines: &[CaseRoofline]) -> Option<String> {
    let lines: Vec<String> = rooflines.iter().filter_map(line).collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// One figure of a case in two runs: `prefill MFU 14.5 % → 35.7 %`, with the ceilings' sources
/// when they differ (runs on other hardware) and the flag of a figure above its ceiling.
fn change(name: &str, base: &Fraction, current: &Fraction) -> String {
    let flag = |f: &Fraction| {
        if f.above_ceiling() {
            " (above its ceiling)"
        } else {
            ""
        }
    };
    let sources = if base.ceiling.source == current.ceiling.source {
        format!("[{}]", base.ceiling.source)
    } else {
        format!("[{} → {}]", base.ceiling.source, current.ceiling.source)
    };
    format!(
        "{name} {} %{} → {} %{} {sources}",
        significant(base.value() * 100.0),
        flag(base),
        significant(current.value() * 100.0),
        flag(current)
    )
}

/// For `bench compare`: each case both runs have roofline figures for, the figures side by
/// side (base → current); none when no case has them in both.
pub fn comparison(changes: &[RooflineChange]) -> Option<String> {
    let mut lines: Vec<(String, Vec<String>)> = Vec::new();
    for c in changes {
        let part = change(c.figure, &c.base, &c.current);
        match lines.iter_mut().find(|(case, _)| *case == c.case) {
            Some((_, parts)) => parts.push(part),
            None => lines.push((c.case.clone(), vec![part])),
        }
    }
    let lines: Vec<String> = lines
        .into_iter()
        .map(|(case, parts)| format!("roofline: {case} {}", parts.join(", ")))
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}

#[cfg(test)]
mod comparison_tests {
    use super::*;
    use crate::roofline::{changes, Ceiling};

    fn mfu(achieved: f64, source: &str) -> Fraction {
        Fraction {
            achieved,
            ceiling: Ceiling {
                value: 100.0,
                source: source.into(),
                of: "bf16".into(),
            },
        }
    }

    #[test]
    fn figures_of_the_same_case_side_by_side() {
        let case = |achieved: f64, source: &str| CaseRoofline {
            case: "gpu/ttft/p2048-g128-c1".into(),
            prefill_mfu: Some(mfu(achieved, source)),
            ..CaseRoofline::default()
        };
        let text =
            comparison(&changes(&[case(14.5, "table:a")], &[case(35.7, "table:a")])).unwrap();
        assert_eq!(
            text,
            "roofline: gpu/ttft/p2048-g128-c1 prefill MFU 14.5 % → 35.7 % [table:a]"
        );
        let across = comparison(&changes(
            &[case(20.0, "table:a")],
            &[case(120.0, "table:b")],
        ))
        .unwrap();
        assert!(
            across.contains("→ 120 % (above its ceiling) [table:a → table:b]"),
            "{across}"
        );
        assert!(comparison(&changes(&[case(1.0, "t")], &[CaseRoofline::default()])).is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roofline::{load_tests, tests};

    #[test]
    fn a_figure_above_its_ceiling_is_flagged_in_the_line() {
        let text = line(&tests::doctored_to_150_percent()).expect("a line");
        assert!(text.contains("150 %"), "{text}");
        assert!(text.contains(ABOVE_CEILING), "{text}");
        let text = line(&load_tests::four_in_flight_above_the_ceiling()).expect("a line");
        assert!(
            text.contains("150 %") && text.contains(ABOVE_CEILING),
            "{text}"
        );
    }

    #[test]
    fn without_a_ceiling_the_line_says_how_to_measure_one() {
        let text = line(&tests::without_a_ceiling()).expect("a line");
        assert!(text.contains("bench calibrate"), "{text}");
    }

    #[test]
    fn a_batch_shows_its_aggregate_decode_mbu() {
        let text = line(&load_tests::four_in_flight()).expect("a line");
        assert!(text.contains("aggregate decode MBU 9.92 %"), "{text}");
    }
}
