//! [macmon](https://github.com/vladkens/macmon): sudoless Apple Silicon power readings.
//!
//! `macmon pipe` prints one JSON object per line (each an average over one interval, stamped
//! when the interval ended); `macmon serve` gives the latest such object at `/json` (and the
//! same figures as Prometheus gauges at `/metrics`, read by
//! [`prometheus`](crate::power::prometheus)). Three ways in: [`MacmonPipeSource`] spawns
//! `macmon pipe` here, [`MacmonServeSource`] polls `macmon serve` on another Mac, [`import`]
//! reads a saved capture.
//!
//! Field names differ across versions: v0.8 writes `ecpu_freq_mhz` etc. (v0.8.0 only those,
//! v0.8.1+ the v0.7 tuples too, as deprecated aliases); v0.6–v0.7 write `ecpu_usage:
//! [MHz, ratio]`. Power fields (W) have kept their names since v0.3 (`ram_power` and
//! `gpu_ram_power` since v0.5).

mod pipe;
mod serve;

use chrono::DateTime;
use serde_json::Value;

pub use pipe::MacmonPipeSource;
pub use serve::MacmonServeSource;

use crate::power::{Imported, Position, PowerError, RailReading, Sample, Scope, Thermal};

const NAME: &str = "macmon";

/// macmon's power fields (watts), the rails they become, and what each covers.
pub(crate) const RAILS: &[(&str, &str, Scope)] = &[
    ("cpu_power", "cpu", Scope::Cpu),
    ("gpu_power", "gpu", Scope::Gpu),
    ("ane_power", "ane", Scope::Ane),
    ("all_power", "combined", Scope::CpuGpuAne),
    ("sys_power", "sys", Scope::System),
    ("ram_power", "ram", Scope::Dram),
    ("gpu_ram_power", "gpu_ram", Scope::Other),
];

/// Clock domains: the v0.8 field, and the v0.6–0.7 `[MHz, ratio]` tuple it replaced.
const CLOCKS: &[(&str, &str, &str)] = &[
    ("ecpu", "ecpu_freq_mhz", "ecpu_usage"),
    ("pcpu", "pcpu_freq_mhz", "pcpu_usage"),
    ("gpu", "gpu_freq_mhz", "gpu_usage"),
];

/// One `macmon pipe` line (or `macmon serve` `/json` body) as a sample with source `macmon`,
/// `utc` from its `timestamp`, and `t_s` / `window_s` left at 0 for the caller to set.
///
/// Rails (W), only those present: `cpu`, `gpu`, `ane`, `combined` (`all_power`, CPU+GPU+ANE),
/// `sys` (`sys_power`, the whole machine from the SMC), `ram`, `gpu_ram`. A `sys_power` of 0
/// is left out: macmon writes 0 when it cannot read the SMC, and raises any real reading to at
/// least `all_power`. Temperatures go to `temps_c` (`cpu_avg`, `gpu_avg`; 0, macmon's "no
/// sensor", is left out), clocks to `clocks_mhz` (`ecpu`, `pcpu`, `gpu`). Other fields are
/// ignored. Not JSON, or no power field at all, is an error.
pub fn parse_line(line: &str) -> Result<Sample, String> {
    let value: Value =
        serde_json::from_str(line.trim()).map_err(|e| format!("not a JSON object: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("not a JSON object".into());
    };
    let mut rails = Vec::new();
    let mut any_power = false;
    for &(key, rail, scope) in RAILS {
        match fields.get(key) {
            // serde_json writes a NaN f32 as null: no reading.
            None | Some(Value::Null) => {}
            Some(v) => {
                any_power = true;
                let watts = v
                    .as_f64()
                    .ok_or_else(|| format!("`{key}` is not a number: {v}"))?;
                if key == "sys_power" && watts == 0.0 {
                    continue;
                }
                rails.push(RailReading::watts(rail, scope, watts));
            }
        }
    }
    if !any_power {
        return Err(
            "no power field (cpu_power, gpu_power, all_power, ...): not macmon's JSON".into(),
        );
    }
    let mut thermal = Thermal::default();
    let temp = fields.get("temp");
    for (key, name) in [("cpu_temp_avg", "cpu_avg"), ("gpu_temp_avg", "gpu_avg")] {
        if let Some(c) = temp.and_then(|t| t.get(key)).and_then(Value::as_f64) {
            if c > 0.0 {
                thermal.temps_c.insert(name.into(), c);
            }
        }
    }
    for &(domain, field, tuple) in CLOCKS {
        let mhz = fields.get(field).and_then(Value::as_f64).or_else(|| {
            fields
                .get(tuple)
                .and_then(|t| t.get(0))
                .and_then(Value::as_f64)
        });
        if let Some(mhz) = mhz {
            thermal.clocks_mhz.insert(domain.into(), mhz);
        }
    }
    let utc = fields
        .get("timestamp")
        .and_then(Value::as_str)
        .filter(|t| DateTime::parse_from_rfc3339(t).is_ok())
        .map(str::to_string);
    Ok(Sample {
        t_s: 0.0,
        window_s: 0.0,
        utc,
        source: NAME.into(),
        host: None,
        rails,
        thermal,
        scrapes: Vec::new(),
    })
}

/// Read a saved `macmon pipe` capture (JSON lines; blank lines skipped).
///
/// Times come from the `timestamp`s, which macmon takes as each interval ends: `t_s` is
/// seconds since the first sample's timestamp plus one window, so the capture starts at 0 when
/// its first window began. The window is `interval_s` when given (the `-i` of the capture,
/// in seconds), else the median gap between timestamps, else 0 (a single sample). Reading
/// stops at the first bad line: the samples before it are kept and the error names the line.
pub fn import(text: &str, interval_s: Option<f64>) -> Imported {
    let mut parsed = Vec::new();
    let mut error = None;
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let malformed = |message: String| PowerError::Malformed {
            format: NAME,
            position: Position::Line(index + 1),
            message,
        };
        let sample = match parse_line(line) {
            Ok(sample) => sample,
            Err(mut message) => {
                if line.trim() == "{" {
                    message.push_str(
                        " (pretty-printed JSON? `macmon pipe` writes one object per line; \
                         re-save with `jq -c`)",
                    );
                }
                error = Some(malformed(message));
                break;
            }
        };
        let Some(at) = sample
            .utc
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        else {
            error = Some(malformed(
                "no RFC 3339 `timestamp` to place the sample in time".into(),
            ));
            break;
        };
        parsed.push((at, sample));
    }
    let window = interval_s
        .filter(|w| w.is_finite() && *w >= 0.0)
        .unwrap_or_else(|| median_gap(parsed.iter().map(|(at, _)| *at)));
    let start = parsed.first().map(|(at, _)| *at);
    let samples = parsed
        .into_iter()
        .map(|(at, mut sample)| {
            let since = start.map_or(0.0, |start| (at - start).as_seconds_f64());
            sample.t_s = since + window;
            sample.window_s = window;
            sample
        })
        .collect();
    Imported { samples, error }
}

/// The median of the positive gaps between successive timestamps, in seconds; 0 with none.
fn median_gap<Tz: chrono::TimeZone>(times: impl Iterator<Item = DateTime<Tz>>) -> f64 {
    let times: Vec<DateTime<Tz>> = times.collect();
    let mut gaps: Vec<f64> = times
        .windows(2)
        .map(|w| (w[1].clone() - w[0].clone()).as_seconds_f64())
        .filter(|g| *g > 0.0)
        .collect();
    if gaps.is_empty() {
        return 0.0;
    }
    gaps.sort_by(f64::total_cmp);
    let mid = gaps.len() / 2;
    if gaps.len() % 2 == 1 {
        gaps[mid]
    } else {
        (gaps[mid - 1] + gaps[mid]) / 2.0
    }
}

#[cfg(test)]
pub(crate) mod tests;
