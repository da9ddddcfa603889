//! `macmon pipe` JSON lines (`parse_line`, and `import` of a saved capture). A damaged
//! capture must be reported at a line of it.

use bench::power::macmon::{import, parse_line};
use bench::power::{Position, PowerError};

use crate::corpus;
use crate::engine::{Target, Verdict};

/// macmon's keys, and timestamps at the edges of what RFC 3339 and chrono take.
const TOKENS: &[&str] = &[
    "\"timestamp\":",
    "\"cpu_power\":",
    "\"gpu_power\":",
    "\"all_power\":",
    "\"sys_power\":",
    "\"ram_power\":",
    "\"temp\":{\"cpu_temp_avg\":",
    "\"ecpu_usage\":[",
    "\"gpu_freq_mhz\":",
    "\"2025-02-24T20:38:15.427569+00:00\"",
    "\"0000-01-01T00:00:00Z\"",
    "\"9999-12-31T23:59:59.999999999+23:59\"",
    "\"2025-02-30T25:61:61Z\"",
    "{\"cpu_power\":1}",
    "{\"timestamp\":\"2025-02-24T20:38:16Z\",\"cpu_power\":0.5}\n",
    "1e999",
    "[[[[[[[[",
];

fn check(input: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(input);
    for line in text.lines() {
        // A line is a sample or an error in words; neither may panic.
        let _ = parse_line(line);
    }
    let lines = text.lines().count();
    for interval in [None, Some(1.0), Some(f64::NAN), Some(-1.0)] {
        let imported = import(&text, interval);
        match &imported.error {
            None => {}
            Some(PowerError::Malformed {
                position: Position::Line(l),
                ..
            }) if (1..=lines).contains(l) => {}
            Some(other) => return Err(format!("not located at a line of {lines}: {other}")),
        }
        if imported.samples.iter().any(|s| !s.window_s.is_finite()) {
            return Err("a sample with a window that is not a number".into());
        }
    }
    Ok(())
}

#[test]
fn macmon_json() {
    let annotated = corpus::apple("macmon_pipe_json_", ".jsonc");
    let mut seeds: Vec<Vec<u8>> = annotated.iter().map(|a| corpus::jsonc_line(a)).collect();
    // The annotated examples as they are: what a user might paste by mistake.
    seeds.extend(annotated);
    seeds.extend(corpus::written("macmon"));
    Target {
        name: "macmon",
        seeds,
        tokens: TOKENS,
        cases: 30_000,
        check,
    }
    .run();
}
