//! Energy figures of one measurement: per rail and per phase, with the idle baseline
//! subtracted for `active` energy and thermal flags from the samples that overlap it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::energy::{Method, Trace};
use super::{Sample, Scope};

/// A named span of a measurement on the run clock (`total`, `prefill`, `decode`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phase {
    /// Phase name.
    pub name: &'static str,
    /// Start, seconds on the run clock.
    pub start_s: f64,
    /// End, seconds on the run clock.
    pub end_s: f64,
}

/// Idle power per rail, measured before the suite.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Seconds of idle sampled.
    pub seconds: f64,
    /// Average idle watts by rail.
    pub watts: BTreeMap<String, f64>,
}

impl Baseline {
    /// The average power of every rail of `trace` over `[start_s, end_s]`.
    pub fn measure(trace: &Trace, start_s: f64, end_s: f64) -> Self {
        Self {
            seconds: end_s - start_s,
            watts: trace
                .rails()
                .filter_map(|r| Some((r.rail.clone(), r.average_w(start_s, end_s)?)))
                .collect(),
        }
    }
}

/// Energy of one phase on one rail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseEnergy {
    /// Length of the phase, seconds.
    pub seconds: f64,
    /// Energy, joules.
    pub joules: f64,
    /// Average power, watts.
    pub avg_w: f64,
    /// Energy above the idle baseline, joules (when a baseline was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_joules: Option<f64>,
    /// The highest power reading within the phase, watts (absent for counter-only rails).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_w: Option<f64>,
}

/// Energy of every phase on one rail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RailEnergy {
    /// What the rail covers.
    pub scope: Scope,
    /// How its energy was obtained.
    pub method: Method,
    /// By phase name; a phase the samples do not cover is absent.
    pub phases: BTreeMap<String, PhaseEnergy>,
    /// An energy counter that updated more slowly than it was read: how often it updated
    /// during the measurement, seconds. Each end of a phase can be off by up to a period's
    /// energy, so phases only a few periods long are rough.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter_period_s: Option<f64>,
}

impl RailEnergy {
    /// Whether the whole measurement (`total`) spans fewer than [`COUNTER_PERIODS`] of the
    /// counter's updates: its energy is then rougher than the counter's resolution suggests.
    pub fn short_for_counter(&self) -> bool {
        match (self.counter_period_s, self.phases.get("total")) {
            (Some(period), Some(total)) => total.seconds < COUNTER_PERIODS * period,
            _ => false,
        }
    }
}

/// How many counter updates a measurement should span before its energy is trusted to 3 %. On
/// an H100 (updates every 100 ms, read every 25 ms), measurements of 1.3 s (13 updates) had
/// counter and integrated power differ by 1.6 % in the median and 4.9 % at most; the error
/// shrinks with the length, to about 2 % at most over 30 updates.
pub const COUNTER_PERIODS: f64 = 30.0;

/// The energy of one measurement, stored with it in `measurements.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementEnergy {
    /// The sampler.
    pub source: String,
    /// The rail headline figures (J/token, average W) use: the widest scope measured.
    pub headline: String,
    /// Every rail measured. Rails of different scopes overlap: never add them up.
    pub rails: BTreeMap<String, RailEnergy>,
    /// Samples whose reading falls within the measurement.
    pub samples: usize,
    /// Thermal pressure, throttling or battery seen during the measurement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Spans within the measurement where a rail had no reading (a cluster node that did not
    /// answer): the rail has no figure for a phase that overlaps one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<String>,
}

impl MeasurementEnergy {
    /// Figures for `phases` (the first is the whole measurement) from `trace`, flags from the
    /// `samples` overlapping the whole measurement. `None` when the headline rail does not
    /// cover it, unless a gap is why (then the other rails' figures and the gap are kept).
    pub fn compute(
        source: &str,
        trace: &Trace,
        samples: &[Sample],
        phases: &[Phase],
        baseline: Option<&Baseline>,
    ) -> Option<Self> {
        let whole = phases.first()?;
        let headline = trace.headline()?;
        let mut rails = BTreeMap::new();
        for rail in trace.rails() {
            let idle_w = baseline.and_then(|b| b.watts.get(&rail.rail)).copied();
            let phases: BTreeMap<String, PhaseEnergy> = phases
                .iter()
                .filter_map(|p| {
                    let joules = rail.energy(p.start_s, p.end_s)?;
                    let seconds = p.end_s - p.start_s;
                    Some((
                        p.name.to_string(),
                        PhaseEnergy {
                            seconds,
                            joules,
                            avg_w: if seconds > 0.0 { joules / seconds } else { 0.0 },
                            active_joules: idle_w.map(|w| joules - w * seconds),
                            peak_w: rail.peak_w(p.start_s, p.end_s),
                        },
                    ))
                })
                .collect();
            if !phases.is_empty() {
                rails.insert(
                    rail.rail.clone(),
                    RailEnergy {
                        scope: rail.scope,
                        method: rail.method,
                        phases,
                        counter_period_s: rail.counter_period_s(whole.start_s, whole.end_s),
                    },
                );
            }
        }
        let gaps: Vec<String> = trace
            .rails()
            .flat_map(|rail| {
                rail.gaps_within(whole.start_s, whole.end_s)
                    .map(|(from, to)| {
                        format!("{}: no reading from {from:.2} s to {to:.2} s", rail.rail)
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        if !rails.contains_key(&headline.rail) && (gaps.is_empty() || rails.is_empty()) {
            return None;
        }
        let overlapping = samples.iter().filter(|s| {
            let from = s.t_s - s.window_s;
            s.t_s >= whole.start_s && from <= whole.end_s
        });
        let mut flags: Vec<String> = Vec::new();
        let mut count = 0;
        for s in overlapping {
            count += 1;
            for flag in s.thermal.flags() {
                if !flags.contains(&flag) {
                    flags.push(flag);
                }
            }
        }
        Some(Self {
            source: source.into(),
            headline: headline.rail.clone(),
            rails,
            samples: count,
            flags,
            gaps,
        })
    }

    /// How many nodes a cluster's headline sums (the distinct `<node>/` prefixes of its rails);
    /// `None` when the headline is not a cluster total.
    pub fn cluster_nodes(&self) -> Option<usize> {
        let headline = self.rails.get(&self.headline)?;
        (headline.scope == Scope::Cluster).then(|| {
            self.rails
                .keys()
                .filter_map(|rail| rail.split_once('/').map(|(node, _)| node))
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        })
    }

    /// The headline rail's figures for `phase`.
    pub fn headline_phase(&self, phase: &str) -> Option<&PhaseEnergy> {
        self.rails.get(&self.headline)?.phases.get(phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::testing::slow_counter_read;
    use crate::power::{RailReading, Thermal};

    fn steady(watts: f64, until: f64, thermal: Thermal) -> Vec<Sample> {
        (1..=(until * 10.0) as usize)
            .map(|i| Sample {
                t_s: i as f64 / 10.0,
                window_s: 0.1,
                source: "test".into(),
                rails: vec![
                    RailReading::watts("combined", Scope::CpuGpuAne, watts),
                    RailReading::watts("gpu", Scope::Gpu, watts / 2.0),
                ],
                thermal: thermal.clone(),
                ..Sample::default()
            })
            .collect()
    }

    #[test]
    fn phases_baseline_and_headline() {
        let samples = steady(20.0, 10.0, Thermal::default());
        let trace = Trace::from_samples(&samples);
        let baseline = Baseline::measure(&trace, 0.0, 2.0);
        assert!((baseline.watts["combined"] - 20.0).abs() < 1e-9);
        let baseline = Baseline {
            seconds: 2.0,
            watts: [("combined".to_string(), 5.0)].into(),
        };
        let phases = [
            Phase {
                name: "total",
                start_s: 3.0,
                end_s: 7.0,
            },
            Phase {
                name: "prefill",
                start_s: 3.0,
                end_s: 4.0,
            },
            Phase {
                name: "decode",
                start_s: 4.0,
                end_s: 7.0,
            },
            Phase {
                name: "late",
                start_s: 9.0,
                end_s: 11.0,
            },
        ];
        let e =
            MeasurementEnergy::compute("test", &trace, &samples, &phases, Some(&baseline)).unwrap();
        assert_eq!(e.headline, "combined");
        let total = e.headline_phase("total").unwrap();
        assert!((total.joules - 80.0).abs() < 1e-9);
        assert!((total.avg_w - 20.0).abs() < 1e-9);
        assert!((total.active_joules.unwrap() - 60.0).abs() < 1e-9);
        assert!((e.headline_phase("decode").unwrap().joules - 60.0).abs() < 1e-9);
        assert!(e.headline_phase("late").is_none(), "outside the samples");
        let gpu = &e.rails["gpu"];
        assert_eq!(
            gpu.phases["total"].active_joules, None,
            "no baseline for gpu"
        );
        assert!((gpu.phases["total"].joules - 40.0).abs() < 1e-9);
        assert!(e.flags.is_empty());
    }

    #[test]
    fn thermal_pressure_inside_the_measurement_is_flagged() {
        let hot = Thermal {
            pressure: Some("Heavy".into()),
            ..Thermal::default()
        };
        let samples = steady(20.0, 3.0, hot);
        let trace = Trace::from_samples(&samples);
        let phases = [Phase {
            name: "total",
            start_s: 1.0,
            end_s: 2.0,
        }];
        let e = MeasurementEnergy::compute("test", &trace, &samples, &phases, None).unwrap();
        assert_eq!(e.flags, ["thermal-pressure:heavy"]);
        assert!(e.samples >= 10);
    }

    #[test]
    fn a_measurement_of_few_counter_updates_is_marked_short() {
        // A counter updated every 100 ms and read every 25 ms, 150 W drawn.
        let samples: Vec<Sample> = (0..=400)
            .map(|i| slow_counter_read(0.025 * f64::from(i), 150.0, 0.1, 0.0))
            .collect();
        let trace = Trace::from_samples(&samples);
        let rail = |start_s: f64, end_s: f64| {
            let phases = [Phase {
                name: "total",
                start_s,
                end_s,
            }];
            MeasurementEnergy::compute("nvml", &trace, &samples, &phases, None)
                .unwrap()
                .rails["gpu0"]
                .clone()
        };
        let short = rail(1.0, 2.3);
        assert!((short.counter_period_s.unwrap() - 0.1).abs() < 1e-9);
        assert!(short.short_for_counter(), "13 updates");
        assert!(!rail(1.0, 5.0).short_for_counter(), "40 updates");
    }
}
