//! Helpers the power tests share: the real Apple captures, float comparison, rails as tuples.

use super::{RailReading, Sample, Scope};

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

/// A read at `t_s` of an NVML-like energy counter on rail `gpu0`, slower than its reads: `watts`
/// drawn steadily, the counter (from 1,000 J) updated every `period_s` at `first_update_s`,
/// `first_update_s + period_s`, …, so it shows the energy up to its last update. The power
/// reading is instantaneous.
pub(crate) fn slow_counter_read(
    t_s: f64,
    watts: f64,
    period_s: f64,
    first_update_s: f64,
) -> Sample {
    // The epsilon makes an update read at its own instant visible despite rounding.
    let updated = ((t_s - first_update_s) / period_s + 1e-9).floor() * period_s + first_update_s;
    Sample {
        t_s,
        source: "test".into(),
        rails: vec![RailReading {
            counter_j: Some(1000.0 + watts * updated),
            ..RailReading::watts("gpu0", Scope::GpuBoard, watts)
        }],
        ..Sample::default()
    }
}
