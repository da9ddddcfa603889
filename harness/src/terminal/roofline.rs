//! The `roofline:` lines under the end-of-run table: each case's prefill MFU, decode MBU or
//! step MFU against its ceiling, a figure above 100 % flagged as an error.

use crate::roofline::{CaseRoofline, Fraction, ABOVE_CEILING};
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
