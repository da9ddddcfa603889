//! The roofline figures of the cases two runs share, side by side, for `bench compare` and
//! `bench gate` in every format.

use serde::Serialize;

use super::{CaseRoofline, Fraction};

/// One figure of one case in both runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RooflineChange {
    /// The case id.
    pub case: String,
    /// `prefill MFU`, `decode MBU` or `step MFU`.
    pub figure: &'static str,
    /// In the base run.
    pub base: Fraction,
    /// In the current run.
    pub current: Fraction,
}

/// Every figure present for the same case in both runs, in the current run's order.
pub fn changes(base: &[CaseRoofline], current: &[CaseRoofline]) -> Vec<RooflineChange> {
    current
        .iter()
        .flat_map(|c| {
            let b = base.iter().find(|b| b.case == c.case);
            c.figures().filter_map(move |(figure, now)| {
                let before = b?.figures().find(|(n, _)| *n == figure)?.1;
                Some(RooflineChange {
                    case: c.case.clone(),
                    figure,
                    base: before.clone(),
                    current: now.clone(),
                })
            })
        })
        .collect()
}
