//! Pairing the cases of two runs: the same case id (target, workload and parameter point) with
//! the same parameters, on the same hardware unless told otherwise.

use std::fmt;

use serde::Serialize;

use super::RunSide;
use crate::plan::Case;
use crate::summary::CaseSummary;

/// A case present and comparable in both runs.
#[derive(Debug, Clone, Copy)]
pub struct Matched<'a> {
    /// Its summary in the base run.
    pub base: &'a CaseSummary,
    /// Its summary in the current run.
    pub current: &'a CaseSummary,
}

/// Which run a case was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Only in the base run.
    Base,
    /// Only in the current run.
    Current,
    /// In both, but not comparable.
    Both,
}

/// A case that was not compared, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Unmatched {
    /// Case id.
    pub case: String,
    /// Where it was found.
    pub side: Side,
    /// Why it was not compared.
    pub reason: String,
}

impl fmt::Display for Unmatched {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.case, self.reason)
    }
}

/// Pair the cases of `base` and `current`. With `hardware` differences (and no leave to
/// cross them), no case matches and each says why.
pub fn match_cases<'a>(
    base: &'a RunSide,
    current: &'a RunSide,
    hardware: Option<&[String]>,
) -> (Vec<Matched<'a>>, Vec<Unmatched>) {
    let mut matched = Vec::new();
    let mut unmatched = Vec::new();
    for b in &base.summaries {
        let Some(c) = current.summaries.iter().find(|c| c.case.id == b.case.id) else {
            unmatched.push(Unmatched {
                case: b.case.id.clone(),
                side: Side::Base,
                reason: "only in the base run".into(),
            });
            continue;
        };
        let reason = if let Some(diff) = hardware {
            Some(format!(
                "measured on different hardware ({}); pass --cross-hardware to compare machines",
                diff.join("; ")
            ))
        } else {
            parameter_difference(&b.case, &c.case)
        };
        match reason {
            Some(reason) => unmatched.push(Unmatched {
                case: b.case.id.clone(),
                side: Side::Both,
                reason,
            }),
            None => matched.push(Matched {
                base: b,
                current: c,
            }),
        }
    }
    for c in &current.summaries {
        if !base.summaries.iter().any(|b| b.case.id == c.case.id) {
            unmatched.push(Unmatched {
                case: c.case.id.clone(),
                side: Side::Current,
                reason: "only in the current run".into(),
            });
        }
    }
    (matched, unmatched)
}

/// What differs between two cases of one id, other than how often they ran.
fn parameter_difference(base: &Case, current: &Case) -> Option<String> {
    let mut diffs = Vec::new();
    if base.workload != current.workload {
        diffs.push(format!(
            "workload {} vs {}",
            base.workload, current.workload
        ));
    }
    if base.stored_params() != current.stored_params() {
        diffs.push(format!(
            "parameters {:?} vs {:?}",
            base.stored_params(),
            current.stored_params()
        ));
    }
    if base.load() != current.load() {
        diffs.push(format!(
            "load pattern {:?} vs {:?}",
            base.load(),
            current.load()
        ));
    }
    if base.nodes != current.nodes {
        diffs.push(format!("nodes {:?} vs {:?}", base.nodes, current.nodes));
    }
    if base.image() != current.image() {
        diffs.push("image request differs (size, steps, guidance, seed or prompt)".into());
    }
    (!diffs.is_empty()).then(|| format!("not the same case: {}", diffs.join("; ")))
}
