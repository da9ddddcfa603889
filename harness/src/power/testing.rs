//! Helpers the power tests share: the real Apple captures, float comparison, rails as tuples.

use super::{Sample, Scope};

/// The bytes of a capture in `harness/tests/fixtures/apple` (see its `SOURCES.md`).
pub(crate) fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/apple/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A capture as text.
pub(crate) fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture_bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Equal within 1e-9, relative to `b` where `b` is above 1.
pub(crate) fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// (rail, scope, watts) of every rail of `sample`; every rail must have watts.
pub(crate) fn rails(sample: &Sample) -> Vec<(&str, Scope, f64)> {
    sample
        .rails
        .iter()
        .map(|r| (r.rail.as_str(), r.scope, r.watts.expect("a power reading")))
        .collect()
}
