//! Energy from power samples: per rail, a cumulative-energy curve over time, cut at phase
//! boundaries.
//!
//! How each kind of reading becomes energy:
//! - an energy counter (`counter_j`, NVML, RAPL): the counter itself, each value placed at the
//!   first sample that showed it. A counter can update more slowly than it is read (NVML's, on
//!   an H100, every 100 ms): samples repeating the last value add no point, since the value
//!   belongs to the time it changed, and interpolating through the repeats would turn the
//!   counter's steps into a staircase of errors at each phase boundary;
//! - an average over a window (powermetrics, macmon): that power held from the previous
//!   reading (or the start of its own window, for the first) to this one;
//! - an instantaneous reading (window 0): the trapezoid rule between successive readings.
//!
//! Energy over a phase `[a, b]` is `E(b) − E(a)` with `E` interpolated linearly between
//! readings, which takes power as constant within one sampling interval. A phase that reaches
//! outside the sampled span has no figure: nothing is extrapolated.
//!
//! A reading with neither power nor counter marks a gap (a cluster node that did not answer):
//! nothing is interpolated across it, and a phase that overlaps it has no figure. An energy
//! counter has no gaps: it kept counting while nobody read it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Sample, Scope};

/// How a rail's energy was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Differences of a hardware energy counter.
    Counter,
    /// Averages over each sample's window, added up.
    WindowAverage,
    /// The trapezoid rule over instantaneous power readings.
    Trapezoid,
}

/// One rail's cumulative energy over time.
#[derive(Debug, Clone)]
pub struct RailTrace {
    /// Rail name.
    pub rail: String,
    /// What it covers.
    pub scope: Scope,
    /// How energy is obtained.
    pub method: Method,
    /// (seconds on the run clock, joules since the trace began), strictly increasing in time.
    points: Vec<(f64, f64)>,
    /// Last instantaneous watts, for the trapezoid rule.
    last_watts: Option<f64>,
    /// First counter value, so that points start at 0 J.
    counter_origin: Option<f64>,
    /// The latest sample that repeated the counter's last value, when later than the last
    /// point: the trace covers up to it, at that value.
    counter_seen_until: Option<f64>,
    /// Samples that repeated the counter's value: whether it updates more slowly than it is read.
    counter_repeats: usize,
    /// (seconds, watts) of every power reading, for peaks.
    readings: Vec<(f64, f64)>,
    /// Spans without readings, (from, to) on the run clock.
    gaps: Vec<(f64, f64)>,
    /// A gap opened at the last point and not closed yet: the time of its latest marker.
    open_gap_until: Option<f64>,
}

impl RailTrace {
    fn new(rail: &str, scope: Scope, method: Method) -> Self {
        Self {
            rail: rail.into(),
            scope,
            method,
            points: Vec::new(),
            last_watts: None,
            counter_origin: None,
            counter_seen_until: None,
            counter_repeats: 0,
            readings: Vec::new(),
            gaps: Vec::new(),
            open_gap_until: None,
        }
    }

    fn push(&mut self, t: f64, window_s: f64, watts: Option<f64>, counter_j: Option<f64>) {
        if let Some((_, last_t)) = self.span() {
            if t <= last_t {
                return; // out of order or duplicate: the curve must be a function of time
            }
        }
        if watts.is_none() && counter_j.is_none() {
            if !self.points.is_empty() && self.method != Method::Counter {
                self.open_gap_until = Some(t);
                self.last_watts = None;
            }
            return;
        }
        if let Some(w) = watts {
            self.readings.push((t, w));
        }
        if self.open_gap_until.take().is_some() {
            if let Some(&(last_t, last_e)) = self.points.last() {
                // Nothing is known between the last reading and this one.
                self.gaps.push((last_t, t));
                self.points.push((t, last_e));
                self.last_watts = watts;
                return;
            }
        }
        let previous = self.points.last().copied();
        match self.method {
            Method::Counter => {
                let Some(c) = counter_j else { return };
                let origin = *self.counter_origin.get_or_insert(c);
                let e = c - origin;
                self.counter_seen_until = None;
                if let Some((_, last_e)) = previous {
                    if e == last_e {
                        // Not updated since the last point: coverage, not a point.
                        self.counter_repeats += 1;
                        self.counter_seen_until = Some(t);
                        return;
                    }
                    // A counter that went backwards was reset (driver reload): continue from
                    // the last value rather than subtracting a whole counter's worth.
                    if e < last_e {
                        self.counter_origin = Some(c - last_e);
                        self.points.push((t, last_e));
                        return;
                    }
                }
                self.points.push((t, e));
            }
            Method::WindowAverage => {
                let Some(w) = watts else { return };
                match previous {
                    Some((last_t, last_e)) => self.points.push((t, last_e + w * (t - last_t))),
                    None => {
                        if window_s > 0.0 {
                            self.points.push((t - window_s, 0.0));
                        }
                        self.points.push((t, w * window_s));
                    }
                }
            }
            Method::Trapezoid => {
                let Some(w) = watts else { return };
                match (previous, self.last_watts) {
                    (Some((last_t, last_e)), Some(last_w)) => self
                        .points
                        .push((t, last_e + 0.5 * (w + last_w) * (t - last_t))),
                    _ => self.points.push((t, 0.0)),
                }
                self.last_watts = Some(w);
            }
        }
    }

    /// Joules between `a` and `b` (seconds on the run clock), or `None` when the trace does not
    /// cover the whole interval.
    pub fn energy(&self, a: f64, b: f64) -> Option<f64> {
        if b < a || self.gaps_within(a, b).next().is_some() {
            return None;
        }
        Some(self.cumulative(b)? - self.cumulative(a)?)
    }

    /// The spans without readings that overlap `[a, b]`.
    pub fn gaps_within(&self, a: f64, b: f64) -> impl Iterator<Item = (f64, f64)> + '_ {
        // A gap still open (no reading since) runs from the last reading to its latest marker.
        let open = self
            .open_gap_until
            .zip(self.points.last())
            .map(|(until, &(from, _))| (from, until));
        self.gaps
            .iter()
            .copied()
            .chain(open)
            .filter(move |&(from, to)| from < b && to > a)
    }

    /// The highest power reading within `[a, b]` (readings are averages over their window, or
    /// instantaneous): `None` for a counter-only rail or no reading there.
    pub fn peak_w(&self, a: f64, b: f64) -> Option<f64> {
        self.readings
            .iter()
            .filter(|(t, _)| (a..=b).contains(t))
            .map(|&(_, w)| w)
            .reduce(f64::max)
    }

    /// Average watts between `a` and `b`.
    pub fn average_w(&self, a: f64, b: f64) -> Option<f64> {
        let e = self.energy(a, b)?;
        (b > a).then(|| e / (b - a))
    }

    /// Readings whose point in time lies within `[a, b]`.
    pub fn points_within(&self, a: f64, b: f64) -> usize {
        self.points
            .iter()
            .filter(|(t, _)| (a..=b).contains(t))
            .count()
    }

    /// The span of time the trace covers.
    pub fn span(&self) -> Option<(f64, f64)> {
        let last = self.points.last()?.0;
        Some((
            self.points.first()?.0,
            self.counter_seen_until.map_or(last, |t| t.max(last)),
        ))
    }

    /// How often the energy counter updated within `[a, b]`: the median time between its
    /// changes there, when it updates more slowly than it is read (some samples repeated a
    /// value) and changed at least four times. A phase a few such periods long can be off by
    /// a period's energy at each end; `None` for other rails.
    pub fn counter_period_s(&self, a: f64, b: f64) -> Option<f64> {
        if self.method != Method::Counter || self.counter_repeats == 0 {
            return None;
        }
        // Points are in time order: the ones within [a, b] are one slice.
        let from = self.points.partition_point(|&(t, _)| t < a);
        let to = self.points.partition_point(|&(t, _)| t <= b);
        let mut intervals: Vec<f64> = self.points[from..to.max(from)]
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .collect();
        if intervals.len() < 3 {
            return None;
        }
        intervals.sort_by(f64::total_cmp);
        Some(intervals[intervals.len() / 2])
    }

    fn cumulative(&self, t: f64) -> Option<f64> {
        let points = &self.points;
        let (first, last) = (points.first()?, points.last()?);
        if t < first.0 {
            return None;
        }
        if t > last.0 {
            // Past the last change, up to a sample that still showed its value.
            return self
                .counter_seen_until
                .filter(|&until| t <= until)
                .map(|_| last.1);
        }
        let i = points.partition_point(|(pt, _)| *pt < t);
        if i == 0 {
            return Some(first.1);
        }
        let (t1, e1) = points[i];
        let (t0, e0) = points[i - 1];
        Some(e0 + (e1 - e0) * (t - t0) / (t1 - t0))
    }
}

/// Every rail of a power trace, built up sample by sample.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    rails: BTreeMap<String, RailTrace>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a sample (samples must come in time order; earlier ones are ignored per rail).
    pub fn push(&mut self, sample: &Sample) {
        for reading in &sample.rails {
            let key = match &sample.host {
                Some(host) => format!("{host}/{}", reading.rail),
                None => reading.rail.clone(),
            };
            let trace = self.rails.entry(key.clone()).or_insert_with(|| {
                let method = if reading.counter_j.is_some() {
                    Method::Counter
                } else if sample.window_s > 0.0 {
                    Method::WindowAverage
                } else {
                    Method::Trapezoid
                };
                RailTrace::new(&key, reading.scope, method)
            });
            trace.push(
                sample.t_s,
                sample.window_s,
                reading.watts,
                reading.counter_j,
            );
        }
    }

    /// A trace of `samples`.
    pub fn from_samples<'a>(samples: impl IntoIterator<Item = &'a Sample>) -> Self {
        let mut trace = Self::new();
        for s in samples {
            trace.push(s);
        }
        trace
    }

    /// The rails, by name.
    pub fn rails(&self) -> impl Iterator<Item = &RailTrace> {
        self.rails.values()
    }

    /// The rail called `name`.
    pub fn rail(&self, name: &str) -> Option<&RailTrace> {
        self.rails.get(name)
    }

    /// The rail headline figures use: the widest scope measured (whole machine over SoC over
    /// package over GPU board...). Ties go to the first rail by name.
    pub fn headline(&self) -> Option<&RailTrace> {
        super::widest(self.rails.values(), |r| r.scope, |r| &r.rail)
    }

    /// The latest time up to which every rail's energy is settled: each rail's last point. A
    /// counter that updates more slowly than it is read is not settled by samples repeating
    /// its value: the energy drawn since its last update shows only at its next one, so a
    /// phase ending among the repeats waits for that update (else its end would be cut at the
    /// counter's old value, short of up to a period's energy).
    pub fn settled_until(&self) -> Option<f64> {
        self.rails
            .values()
            .filter_map(|r| r.points.last().map(|&(t, _)| t))
            .reduce(f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::power::testing::slow_counter_read;
    use crate::power::RailReading;

    fn sample(t: f64, window: f64, rails: Vec<RailReading>) -> Sample {
        Sample {
            t_s: t,
            window_s: window,
            source: "test".into(),
            rails,
            ..Sample::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn window_averages_hold_their_power_between_readings() {
        // 10 W over (0, 1], 20 W over (1, 2], 30 W over (2, 3].
        let trace = Trace::from_samples(&[
            sample(1.0, 1.0, vec![RailReading::watts("cpu", Scope::Cpu, 10.0)]),
            sample(2.0, 1.0, vec![RailReading::watts("cpu", Scope::Cpu, 20.0)]),
            sample(3.0, 1.0, vec![RailReading::watts("cpu", Scope::Cpu, 30.0)]),
        ]);
        let cpu = trace.rail("cpu").unwrap();
        assert_eq!(cpu.method, Method::WindowAverage);
        assert!(close(cpu.energy(0.0, 3.0).unwrap(), 60.0));
        // Half of the second window and a quarter of the third: 10 + 7.5 J.
        assert!(close(cpu.energy(1.5, 2.25).unwrap(), 17.5));
        assert!(close(cpu.average_w(1.5, 2.25).unwrap(), 17.5 / 0.75));
        assert_eq!(cpu.energy(-0.5, 1.0), None, "before the first window");
        assert_eq!(cpu.energy(2.0, 3.5), None, "after the last reading");
    }

    #[test]
    fn instantaneous_readings_use_the_trapezoid_rule() {
        // Power rises linearly 0 → 100 W over 2 s: 100 J exactly.
        let readings = [(0.0, 0.0), (1.0, 50.0), (2.0, 100.0)];
        let samples: Vec<Sample> = readings
            .iter()
            .map(|&(t, w)| sample(t, 0.0, vec![RailReading::watts("gpu0", Scope::GpuBoard, w)]))
            .collect();
        let trace = Trace::from_samples(&samples);
        let gpu = trace.rail("gpu0").unwrap();
        assert_eq!(gpu.method, Method::Trapezoid);
        assert!(close(gpu.energy(0.0, 2.0).unwrap(), 100.0));
        assert!(close(gpu.energy(0.0, 1.0).unwrap(), 25.0));
    }

    #[test]
    fn counters_win_over_power_and_survive_a_reset() {
        let reading = |w: f64, c: f64| RailReading {
            counter_j: Some(c),
            ..RailReading::watts("gpu0", Scope::GpuBoard, w)
        };
        let trace = Trace::from_samples(&[
            sample(0.0, 0.0, vec![reading(999.0, 5000.0)]),
            sample(1.0, 0.0, vec![reading(999.0, 5100.0)]),
            sample(2.0, 0.0, vec![reading(999.0, 10.0)]), // reset: energy in (1, 2] unknown → 0
            sample(3.0, 0.0, vec![reading(999.0, 60.0)]),
        ]);
        let gpu = trace.rail("gpu0").unwrap();
        assert_eq!(gpu.method, Method::Counter);
        assert!(close(gpu.energy(0.0, 1.0).unwrap(), 100.0));
        assert!(close(gpu.energy(2.0, 3.0).unwrap(), 50.0));
        assert!(close(gpu.energy(0.5, 1.0).unwrap(), 50.0));
    }

    /// An NVML-like counter: 200 W drawn steadily, the counter updated every 100 ms (at
    /// 0.01 s, 0.11 s, …) and read every 25 ms.
    fn slow_counter() -> Trace {
        let samples: Vec<Sample> = (0..=120)
            .map(|i| slow_counter_read(0.025 * f64::from(i), 200.0, 0.1, 0.01))
            .collect();
        Trace::from_samples(&samples)
    }

    #[test]
    fn a_counter_slower_than_its_reads_is_placed_where_it_changed() {
        let trace = slow_counter();
        let gpu = trace.rail("gpu0").unwrap();
        // Through the repeated values, a 1.24 s phase would be off by up to a whole update
        // (20 J of 248, 8 %) at each end; placed where it changed, by at most a read interval.
        for (a, b) in [(0.13, 1.37), (0.2, 1.44), (0.51, 1.75), (1.0, 2.24)] {
            let joules = gpu.energy(a, b).unwrap();
            let truth = 200.0 * (b - a);
            assert!(
                (joules - truth).abs() <= 200.0 * 0.025 + 1e-9,
                "[{a}, {b}]: {joules} J, drawn {truth} J"
            );
        }
        // The last update (made at 2.91 s, first read at 2.925 s) settles the energy; the reads
        // after it, repeating its value, do not.
        assert!(
            close(trace.settled_until().unwrap(), 2.925),
            "{:?}",
            trace.settled_until()
        );
        let period = gpu.counter_period_s(0.0, 3.0).unwrap();
        assert!(close(period, 0.1), "{period}");
        // The last value holds up to the last read that showed it.
        assert_eq!(gpu.span().unwrap().1, 3.0);
        assert!(gpu.energy(2.9, 3.0).is_some());
    }

    #[test]
    fn a_counter_read_no_faster_than_it_updates_has_no_period() {
        let reading = |c: f64| RailReading {
            counter_j: Some(c),
            ..RailReading::watts("package-0", Scope::Package, 10.0)
        };
        let samples: Vec<Sample> = (0..10)
            .map(|i| sample(f64::from(i), 0.0, vec![reading(10.0 * f64::from(i))]))
            .collect();
        let trace = Trace::from_samples(&samples);
        let rapl = trace.rail("package-0").unwrap();
        assert_eq!(rapl.counter_period_s(0.0, 9.0), None);
        assert!(close(rapl.energy(0.5, 8.5).unwrap(), 80.0));
    }

    #[test]
    fn headline_is_the_widest_scope() {
        let trace = Trace::from_samples(&[sample(
            1.0,
            1.0,
            vec![
                RailReading::watts("ane", Scope::Ane, 1.0),
                RailReading::watts("cpu", Scope::Cpu, 1.0),
                RailReading::watts("combined", Scope::CpuGpuAne, 1.0),
                RailReading::watts("ram", Scope::Dram, 1.0),
            ],
        )]);
        assert_eq!(trace.headline().unwrap().rail, "combined");
        let dram_only = Trace::from_samples(&[sample(
            1.0,
            1.0,
            vec![RailReading::watts("ram", Scope::Dram, 1.0)],
        )]);
        assert!(dram_only.headline().is_none());
    }

    #[test]
    fn a_reading_without_values_is_a_gap_nothing_is_interpolated_across() {
        let at = |t: f64, w: Option<f64>| {
            sample(
                t,
                0.0,
                vec![RailReading {
                    watts: w,
                    ..RailReading::watts("cluster", Scope::System, 0.0)
                }],
            )
        };
        let trace = Trace::from_samples(&[
            at(0.0, Some(10.0)),
            at(1.0, Some(10.0)),
            at(2.0, None),
            at(3.0, None),
            at(4.0, Some(50.0)),
            at(5.0, Some(50.0)),
        ]);
        let rail = trace.rail("cluster").unwrap();
        assert!(close(rail.energy(0.0, 1.0).unwrap(), 10.0));
        assert!(close(rail.energy(4.0, 5.0).unwrap(), 50.0));
        assert_eq!(rail.energy(0.5, 4.5), None, "overlaps the gap");
        assert_eq!(rail.gaps_within(0.0, 5.0).collect::<Vec<_>>(), [(1.0, 4.0)]);
        assert_eq!(rail.peak_w(0.0, 1.5), Some(10.0));
        assert_eq!(rail.peak_w(0.0, 5.0), Some(50.0));

        // A gap that never closes (the node never answers again) is a gap all the same.
        let trace = Trace::from_samples(&[
            at(0.0, Some(10.0)),
            at(1.0, Some(10.0)),
            at(2.0, None),
            at(3.0, None),
        ]);
        let rail = trace.rail("cluster").unwrap();
        assert_eq!(rail.gaps_within(2.5, 3.0).collect::<Vec<_>>(), [(1.0, 3.0)]);
    }

    #[test]
    fn remote_rails_are_keyed_by_host() {
        let mut s = sample(
            1.0,
            1.0,
            vec![RailReading::watts("sys", Scope::System, 5.0)],
        );
        s.host = Some("mac-2".into());
        let trace = Trace::from_samples(&[s]);
        assert!(trace.rail("mac-2/sys").is_some());
    }
}
