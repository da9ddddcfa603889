//! Axis ranges, scales, ticks and tick labels.
//!
//! Plotters only ever sees linear `f64` ranges: a log axis is drawn by transforming values
//! with `log10` before plotting and labelling ticks with the untransformed values. That keeps
//! tick placement (decades, 1-2-5 steps) and label formatting under our control and
//! identical between linear and log charts.

use crate::units::{compact, time_unit, trim_zeros};

/// Values beyond this magnitude are treated like non-finite ones: they cannot be placed on a
/// readable axis and would overflow range arithmetic.
const MAX_MAGNITUDE: f64 = 1e300;

/// Whether a value can be plotted at all.
pub(crate) fn usable(v: f64) -> bool {
    v.is_finite() && v.abs() < MAX_MAGNITUDE
}

/// How values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    Linear,
    /// Values are plotted as `log10(v)`; only positive values can be placed.
    Log,
}

/// Which scale an axis should use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ScalePolicy {
    /// Always linear (bars that must start at zero, fractions, time of day).
    Linear,
    /// Log when every value is positive and max/min exceeds `LOG_RATIO`.
    Auto,
    /// Log when every value is positive and max/min exceeds the given ratio.
    AutoAbove(f64),
}

/// The max/min ratio above which an automatic axis becomes logarithmic.
pub(crate) const LOG_RATIO: f64 = 30.0;

/// What the axis measures, which decides the unit written in its title and the tick format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Unit {
    /// Durations given in seconds; shown in s, ms or µs, whichever suits the ticks.
    Seconds,
    /// A fixed unit written after the name, e.g. "tokens" or "tok/s".
    Fixed(String),
    /// A dimensionless quantity (fractions); the title has no unit.
    None,
}

/// Everything needed to build an axis except the data.
#[derive(Debug, Clone)]
pub(crate) struct AxisSpec {
    /// What is measured, without unit, e.g. "prompt length".
    pub name: String,
    pub unit: Unit,
    pub scale: ScalePolicy,
    /// Whether a linear range must reach zero (bars, power).
    pub include_zero: bool,
    /// Place ticks only at whole numbers (step index, node count).
    pub integer: bool,
    /// Place ticks at these values instead of computed ones (e.g. the node counts used).
    pub ticks_at: Option<Vec<f64>>,
    /// Fixed range in data units, e.g. 0..1 for fractions.
    pub fixed: Option<(f64, f64)>,
    /// Rough number of ticks wanted.
    pub target_ticks: usize,
}

impl AxisSpec {
    /// A spec with automatic scale, no forced zero and about 6 ticks.
    pub(crate) fn new(name: &str, unit: Unit) -> Self {
        Self {
            name: name.to_string(),
            unit,
            scale: ScalePolicy::Auto,
            include_zero: false,
            integer: false,
            ticks_at: None,
            fixed: None,
            target_ticks: 6,
        }
    }
    pub(crate) fn scale(mut self, s: ScalePolicy) -> Self {
        self.scale = s;
        self
    }
    pub(crate) fn zero(mut self) -> Self {
        self.include_zero = true;
        self
    }
    pub(crate) fn integer(mut self) -> Self {
        self.integer = true;
        self
    }
    pub(crate) fn ticks_at(mut self, t: Vec<f64>) -> Self {
        self.ticks_at = Some(t);
        self
    }
    pub(crate) fn fixed(mut self, lo: f64, hi: f64) -> Self {
        self.fixed = Some((lo, hi));
        self
    }
    pub(crate) fn ticks(mut self, n: usize) -> Self {
        self.target_ticks = n.max(2);
        self
    }
}

/// A built axis: its range and ticks in plot space (log10 of the value on a log axis).
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    pub scale: Scale,
    pub lo: f64,
    pub hi: f64,
    /// Labelled ticks in plot space, with their labels.
    pub ticks: Vec<(f64, String)>,
    /// Unlabelled minor grid positions in plot space.
    pub minor: Vec<f64>,
    /// The axis title including its unit, e.g. "prompt length (tokens, log scale)".
    pub title: String,
}

impl Axis {
    /// The plot-space position of `v`, or `None` if it cannot be placed (non-finite, or not
    /// positive on a log axis).
    pub(crate) fn pos(&self, v: f64) -> Option<f64> {
        if !usable(v) {
            return None;
        }
        match self.scale {
            Scale::Linear => Some(v),
            Scale::Log if v > 0.0 => Some(v.log10()),
            Scale::Log => None,
        }
    }

    /// `pos`, clamped into the axis range (for bar bases and interval ends).
    pub(crate) fn pos_clamped(&self, v: f64) -> Option<f64> {
        let p = match self.scale {
            Scale::Log if usable(v) && v <= 0.0 => self.lo,
            _ => self.pos(v)?,
        };
        Some(p.clamp(self.lo, self.hi))
    }

    /// The value at plot-space position `p`.
    pub(crate) fn value(&self, p: f64) -> f64 {
        match self.scale {
            Scale::Linear => p,
            Scale::Log => 10f64.powf(p),
        }
    }

    /// The label for an arbitrary plot-space value (used by plotters' formatter, which is
    /// only ever called with our tick positions).
    pub(crate) fn label_at(&self, p: f64) -> String {
        self.ticks
            .iter()
            .find(|(t, _)| (t - p).abs() <= 1e-9 * (self.hi - self.lo).abs().max(1e-300))
            .map(|(_, l)| l.clone())
            .unwrap_or_default()
    }
}

/// An axis for `n` categories: category `i` is centred at plot position `i + 0.5`; no ticks
/// or title (categories are labelled by hand).
pub(crate) fn categorical(n: usize) -> Axis {
    Axis {
        scale: Scale::Linear,
        lo: 0.0,
        hi: n.max(1) as f64,
        ticks: Vec::new(),
        minor: Vec::new(),
        title: String::new(),
    }
}

/// Build an axis covering `values` (data units; unusable ones are ignored).
pub(crate) fn build(spec: &AxisSpec, values: &[f64]) -> Axis {
    let vals: Vec<f64> = values.iter().copied().filter(|v| usable(*v)).collect();
    let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
    let max = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let has_data = min <= max;
    let ratio_limit = match spec.scale {
        ScalePolicy::Linear => f64::INFINITY,
        ScalePolicy::Auto => LOG_RATIO,
        ScalePolicy::AutoAbove(r) => r,
    };
    let log = spec.fixed.is_none() && has_data && min > 0.0 && max / min > ratio_limit;
    if log {
        build_log(spec, min, max)
    } else {
        let (lo, hi) = match spec.fixed {
            Some((a, b)) if usable(a) && usable(b) && a < b => (a, b),
            _ if has_data => (min, max),
            _ => (0.0, 1.0),
        };
        build_linear(spec, lo, hi, spec.fixed.is_some())
    }
}

fn title(spec: &AxisSpec, unit: &str, log: bool) -> String {
    let mut parts = Vec::new();
    if !unit.is_empty() {
        parts.push(unit.to_string());
    }
    if log {
        parts.push("log scale".to_string());
    }
    if parts.is_empty() {
        spec.name.clone()
    } else if unit.is_empty() {
        // Dimensionless names may carry their own unit, e.g. "throughput (tok/s)".
        format!("{}, {}", spec.name, parts.join(", "))
    } else {
        format!("{} ({})", spec.name, parts.join(", "))
    }
}

fn display_unit(spec: &AxisSpec, max_abs_tick: f64) -> (f64, String) {
    match &spec.unit {
        Unit::Seconds => {
            let (f, u) = time_unit(max_abs_tick);
            (f, u.to_string())
        }
        Unit::Fixed(u) => (1.0, u.clone()),
        Unit::None => (1.0, String::new()),
    }
}

/// A "nice" step (1, 2 or 5 times a power of ten) close to `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let m = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

/// Decimals needed to print multiples of `step` exactly.
fn decimals_for(step: f64) -> usize {
    if !(step.is_finite() && step > 0.0) {
        return 0;
    }
    let d = -(step.log10() + 1e-9).floor();
    d.clamp(0.0, 12.0) as usize
}

fn build_linear(spec: &AxisSpec, lo: f64, hi: f64, fixed: bool) -> Axis {
    let (mut lo, mut hi) = (lo, hi);
    if spec.include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    // A single value (or one too close to tell apart) gets a range around it.
    if hi - lo <= hi.abs().max(lo.abs()) * 1e-9 {
        let c = (lo + hi) / 2.0;
        if c == 0.0 {
            lo = if spec.include_zero { 0.0 } else { -1.0 };
            hi = 1.0;
        } else {
            let d = c.abs() * 0.1;
            lo = if spec.include_zero && c > 0.0 {
                0.0
            } else {
                c - d
            };
            hi = if spec.include_zero && c < 0.0 {
                0.0
            } else {
                c + d
            };
        }
    }
    let target = spec.target_ticks.max(2) as f64;
    let mut step = nice_step((hi - lo) / target);
    if spec.integer {
        step = step.max(1.0).round();
    }
    if !fixed {
        // The tolerance keeps 120.00000001 (accumulated float error) from adding a step.
        lo = ((lo / step) + 1e-6).floor() * step;
        hi = ((hi / step) - 1e-6).ceil() * step;
    }
    let (factor, unit) = display_unit(spec, lo.abs().max(hi.abs()));
    let decimals = decimals_for(step * factor);

    let mut ticks = Vec::new();
    if let Some(at) = &spec.ticks_at {
        for &t in at {
            if usable(t) && t >= lo && t <= hi {
                ticks.push((t, compact(t * factor, decimals_for_value(t * factor))));
            }
        }
    } else {
        let first = ((lo / step) - 1e-6).ceil();
        let n = (((hi / step) + 1e-6).floor() - first).clamp(0.0, 60.0) as usize;
        for k in 0..=n {
            let mut t = (first + k as f64) * step;
            if t.abs() < step * 1e-9 {
                t = 0.0;
            }
            ticks.push((t, compact(t * factor, decimals)));
        }
    }
    Axis {
        scale: Scale::Linear,
        lo,
        hi,
        ticks,
        minor: Vec::new(),
        title: title(spec, &unit, false),
    }
}

fn build_log(spec: &AxisSpec, min: f64, max: f64) -> Axis {
    let (lmin, lmax) = (min.log10(), max.log10());
    let pad = (lmax - lmin) * 0.04;
    let (lo, hi) = (lmin - pad, lmax + pad);
    let (factor, unit) = display_unit(spec, max);

    let first = lo.ceil() as i32;
    let last = hi.floor() as i32;
    let decades = (last - first + 1).max(0) as usize;
    let mut ticks = Vec::new();
    let mut minor = Vec::new();
    if let Some(at) = &spec.ticks_at {
        for &t in at {
            if usable(t) && t > 0.0 && t.log10() >= lo && t.log10() <= hi {
                let s = compact(t * factor, decimals_for_value(t * factor));
                ticks.push((t.log10(), s));
            }
        }
    } else {
        // Thin decades out so labels do not collide; label 2x and 5x too when only a
        // couple of decades are visible, so there are enough reference values.
        let every = decades.div_ceil(spec.target_ticks.max(2)).max(1) as i32;
        let with_mults = decades <= 2;
        let mut e = first - 1;
        while e <= last {
            for m in [1.0, 2.0, 5.0] {
                let v = m * 10f64.powi(e);
                let p = v.log10();
                if p < lo || p > hi {
                    continue;
                }
                let is_decade = m == 1.0 && (e - first).rem_euclid(every) == 0;
                if is_decade || (with_mults && m != 1.0) {
                    ticks.push((p, format_log_tick(v * factor)));
                }
            }
            if decades <= 6 && every == 1 {
                for m in 2..=9 {
                    let p = (f64::from(m) * 10f64.powi(e)).log10();
                    if p > lo && p < hi {
                        minor.push(p);
                    }
                }
            }
            e += 1;
        }
    }
    Axis {
        scale: Scale::Log,
        lo,
        hi,
        ticks,
        minor,
        title: title(spec, &unit, true),
    }
}

/// A log-axis tick label: thousands get a k/M/G suffix from 1000 on, so a decade axis reads
/// "100, 1k, 10k" rather than mixing "1000" and "10k".
fn format_log_tick(v: f64) -> String {
    if v.abs() >= 1e3 && v.abs() < 1e4 {
        return format!("{}k", trim_zeros(&format!("{:.2}", v / 1e3)));
    }
    compact(v, decimals_for_value(v))
}

/// Decimals needed to show `v` (a 1, 2 or 5 times a power of ten, or a whole number).
fn decimals_for_value(v: f64) -> usize {
    let a = v.abs();
    if a == 0.0 || a >= 1.0 {
        if (a - a.round()).abs() < 1e-9 {
            0
        } else {
            2
        }
    } else {
        decimals_for(a)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(a: &Axis) -> Vec<String> {
        a.ticks.iter().map(|(_, l)| l.clone()).collect()
    }

    #[test]
    fn linear_ticks_are_nice() {
        let a = build(
            &AxisSpec::new("x", Unit::Fixed("tok/s".into())),
            &[5.0, 97.0],
        );
        assert_eq!(a.scale, Scale::Linear);
        assert_eq!(labels(&a), ["0", "20", "40", "60", "80", "100"]);
        assert_eq!(a.title, "x (tok/s)");
    }

    #[test]
    fn log_axis_when_range_asks() {
        let a = build(&AxisSpec::new("ttft", Unit::Seconds), &[0.002, 0.5, 20.0]);
        assert_eq!(a.scale, Scale::Log);
        assert_eq!(labels(&a), ["0.01", "0.1", "1", "10"]);
        assert_eq!(a.title, "ttft (s, log scale)");
    }

    #[test]
    fn zero_or_negative_forces_linear() {
        let a = build(&AxisSpec::new("x", Unit::Seconds), &[0.0, 1.0, 1000.0]);
        assert_eq!(a.scale, Scale::Linear);
        let a = build(&AxisSpec::new("x", Unit::Seconds), &[-1.0, 1.0, 1000.0]);
        assert_eq!(a.scale, Scale::Linear);
    }

    #[test]
    fn milliseconds_when_all_below_a_second() {
        let a = build(&AxisSpec::new("itl", Unit::Seconds), &[0.012, 0.031]);
        assert_eq!(a.title, "itl (ms)");
        assert!(labels(&a).contains(&"20".to_string()));
    }

    #[test]
    fn degenerate_ranges_do_not_break() {
        for vals in [
            &[][..],
            &[5.0],
            &[0.0],
            &[f64::NAN],
            &[1e299, -1e299],
            &[1.0, 1.0 + 1e-15],
        ] {
            let a = build(&AxisSpec::new("x", Unit::None), vals);
            assert!(a.lo < a.hi, "{vals:?}");
            assert!(a.lo.is_finite() && a.hi.is_finite());
        }
    }
}
