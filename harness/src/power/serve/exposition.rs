//! `/metrics`: the latest sample in the Prometheus text exposition format, version 0.0.4.
//!
//! Per rail, `bench_power_watts` (gauge) and `bench_energy_joules_total` (counter: the rail's
//! own energy counter where it has one, else the energy the server integrated), labelled with
//! `rail`, `scope` (the kebab-case [`Scope`](crate::power::Scope) name) and, for samples of
//! another machine, `host`; then the age of the latest sample and the number of samples.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::power::Sample;

/// The Content-Type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Metric names, also read back by the Prometheus source.
pub const WATTS: &str = "bench_power_watts";
/// The energy counter.
pub const JOULES: &str = "bench_energy_joules_total";
/// Seconds since the latest sample arrived.
pub const AGE: &str = "bench_power_sample_age_seconds";
/// Samples since the server started.
pub const SAMPLES: &str = "bench_power_samples_total";

/// What one scrape shows.
#[derive(Debug, Clone, Copy)]
pub struct View<'a> {
    /// The latest sample, if any came yet.
    pub latest: Option<&'a Sample>,
    /// Joules integrated per rail since the server started, keyed as
    /// [`Trace`](crate::power::energy::Trace) keys rails (`host/rail` for remote samples).
    pub integrated_j: &'a BTreeMap<String, f64>,
    /// Seconds since the latest sample arrived.
    pub age_s: Option<f64>,
    /// Samples taken in so far.
    pub samples_total: u64,
}

/// The exposition text of `view`.
pub fn render(view: &View<'_>) -> String {
    let mut out = String::new();
    let mut watts = Vec::new();
    let mut joules = Vec::new();
    if let Some(sample) = view.latest {
        for rail in &sample.rails {
            let mut labels = vec![("rail", rail.rail.as_str()), ("scope", rail.scope.as_str())];
            if let Some(host) = &sample.host {
                labels.push(("host", host));
            }
            let labels = label_set(&labels);
            if let Some(w) = rail.watts {
                watts.push(format!("{WATTS}{labels} {}", value(w)));
            }
            let key = match &sample.host {
                Some(host) => format!("{host}/{}", rail.rail),
                None => rail.rail.clone(),
            };
            // The hardware's counter is exact where there is one; integrating is the fallback.
            if let Some(j) = rail
                .counter_j
                .or_else(|| view.integrated_j.get(&key).copied())
            {
                joules.push(format!("{JOULES}{labels} {}", value(j)));
            }
        }
    }
    family(
        &mut out,
        WATTS,
        "gauge",
        "Power per rail, watts, in the latest sample.",
        &watts,
    );
    family(
        &mut out,
        JOULES,
        "counter",
        "Energy per rail, joules: the rail's own energy counter where it has one, else power \
         integrated since the server started.",
        &joules,
    );
    let age: Vec<String> = view
        .age_s
        .map(|a| format!("{AGE} {}", value(a)))
        .into_iter()
        .collect();
    family(
        &mut out,
        AGE,
        "gauge",
        "Seconds since the latest sample arrived.",
        &age,
    );
    family(
        &mut out,
        SAMPLES,
        "counter",
        "Samples taken since the server started.",
        &[format!("{SAMPLES} {}", view.samples_total)],
    );
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str, lines: &[String]) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
}

/// `{k="v",...}` with values escaped.
fn label_set(labels: &[(&str, &str)]) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// A label value as the format wants it: backslash, double quote and line feed escaped.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text: backslash and line feed escaped.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A float as the format writes it: shortest round-trip decimal, `NaN`, `+Inf`, `-Inf`.
fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::prometheus::{parse_exposition, MetricKind};
    use crate::power::{RailReading, Scope};

    fn sample() -> Sample {
        Sample {
            t_s: 2.0,
            window_s: 0.1,
            source: "macmon".into(),
            rails: vec![
                RailReading::watts("combined", Scope::CpuGpuAne, 12.5),
                RailReading {
                    counter_j: Some(5000.25),
                    ..RailReading::watts("gpu0", Scope::GpuBoard, 300.0)
                },
                RailReading {
                    counter_j: Some(7.0),
                    ..RailReading::watts("pkg", Scope::Package, 1.0)
                },
                RailReading::watts("we\"ird\\rail\nname", Scope::Other, f64::INFINITY),
            ],
            ..Sample::default()
        }
    }

    fn integrated() -> BTreeMap<String, f64> {
        [
            ("combined".to_string(), 42.0),
            ("gpu0".into(), 1.0),
            ("we\"ird\\rail\nname".into(), 3.5),
        ]
        .into()
    }

    #[test]
    fn gauges_counters_and_integrated_energy() {
        let s = sample();
        let totals = integrated();
        let text = render(&View {
            latest: Some(&s),
            integrated_j: &totals,
            age_s: Some(0.25),
            samples_total: 17,
        });
        assert!(text.contains("# TYPE bench_power_watts gauge\n"), "{text}");
        assert!(text.contains("# TYPE bench_energy_joules_total counter\n"));
        assert!(text.contains("# HELP bench_power_sample_age_seconds "));
        assert!(text.contains("bench_power_watts{rail=\"combined\",scope=\"cpu-gpu-ane\"} 12.5\n"));
        // No counter: the server's integral.
        assert!(text
            .contains("bench_energy_joules_total{rail=\"combined\",scope=\"cpu-gpu-ane\"} 42\n"));
        // A counter wins over the integral.
        assert!(
            text.contains("bench_energy_joules_total{rail=\"gpu0\",scope=\"gpu-board\"} 5000.25\n")
        );
        assert!(text.contains("bench_energy_joules_total{rail=\"pkg\",scope=\"package\"} 7\n"));
        assert!(text.contains("bench_power_sample_age_seconds 0.25\n"));
        assert!(text.contains("bench_power_samples_total 17\n"));

        // It reads back: labels unescaped, types kept.
        let points = parse_exposition(&text).unwrap();
        let weird: Vec<_> = points
            .iter()
            .filter(|p| p.labels.get("rail").map(String::as_str) == Some("we\"ird\\rail\nname"))
            .collect();
        assert_eq!(weird.len(), 2, "{text}");
        assert_eq!(weird[0].value, f64::INFINITY);
        assert_eq!(weird[0].kind, MetricKind::Gauge);
        assert_eq!(weird[1].value, 3.5);
        assert_eq!(weird[1].kind, MetricKind::Counter);
        assert!(text.contains(r#"rail="we\"ird\\rail\nname""#), "{text}");
    }

    #[test]
    fn before_the_first_sample_only_the_count_has_a_value() {
        let totals = BTreeMap::new();
        let text = render(&View {
            latest: None,
            integrated_j: &totals,
            age_s: None,
            samples_total: 0,
        });
        let points = parse_exposition(&text).unwrap();
        assert_eq!(points.len(), 1, "{text}");
        assert_eq!(points[0].name, "bench_power_samples_total");
        assert_eq!(points[0].value, 0.0);
    }

    #[test]
    fn remote_samples_carry_their_host() {
        let mut s = sample();
        s.host = Some("mac-2".into());
        s.rails.truncate(1);
        let totals: BTreeMap<String, f64> = [("mac-2/combined".to_string(), 9.0)].into();
        let text = render(&View {
            latest: Some(&s),
            integrated_j: &totals,
            age_s: None,
            samples_total: 1,
        });
        assert!(text.contains(
            "bench_energy_joules_total{rail=\"combined\",scope=\"cpu-gpu-ane\",host=\"mac-2\"} 9\n"
        ), "{text}");
    }

    #[test]
    fn values_use_the_format_spelling() {
        assert_eq!(value(f64::NAN), "NaN");
        assert_eq!(value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(value(0.1), "0.1");
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
