//! The soak figure of each pattern that ran for a duration: its throughput over time, with the
//! power and thermal pressure of the same span beneath it, and the drop from the first to the
//! last window in the caption.

use super::figure::{figure, Figure};
use super::ReportedRun;
use crate::charts::sustained::{pressure_level, SustainedChart};
use crate::charts::{ChartSize, Point, Series};
use crate::store::PatternRun;

fn series(label: &str, points: impl IntoIterator<Item = (f64, f64)>) -> Series {
    Series {
        label: label.into(),
        points: points.into_iter().map(|(x, y)| Point::new(x, y)).collect(),
    }
}

/// `(seconds from the start, value)` points.
type Points = Vec<(f64, f64)>;

/// The span's headline-rail power (the widest rail with watts in each sample, ties to the
/// first by name, as for headline figures) and thermal
/// pressure, as seconds from `start`.
fn power_and_pressure(run: &ReportedRun, start: f64, end: f64) -> (Points, Points) {
    let mut power = Vec::new();
    let mut pressure = Vec::new();
    for s in run.power.iter().filter(|s| (start..=end).contains(&s.t_s)) {
        let widest = crate::power::widest(
            s.rails.iter().filter(|r| r.watts.is_some()),
            |r| r.scope,
            |r| &r.rail,
        );
        if let Some(w) = widest.and_then(|r| r.watts) {
            power.push((s.t_s - start, w));
        }
        if let Some(level) = s.thermal.pressure.as_deref().and_then(pressure_level) {
            pressure.push((s.t_s - start, level));
        }
    }
    (power, pressure)
}

fn soak_figure(run: &ReportedRun, load: &PatternRun, size: ChartSize) -> Option<Figure> {
    let sustained = load.sustained.as_ref()?;
    let (start, end) = load.span(run.run.records.iter().filter(|r| {
        r.header.case == load.header.case
            && r.pattern_slot
                .as_ref()
                .is_some_and(|l| l.run_t_s == load.header.t_start_s)
    }))?;
    let (power, pressure) = power_and_pressure(run, start, end);
    let throughput = sustained
        .timeline_tps
        .iter()
        .enumerate()
        .map(|(i, &tps)| ((i as f64 + 0.5) * sustained.bin_s, tps));
    let caption = format!(
        "{} (repetition {}): output tokens per second in {:.0} s bins over {:.0} s of \
         back-to-back requests, each request's tokens spread over its decode. First {:.0} s: \
         {:.1} tok/s; last {:.0} s: {:.1} tok/s; drop {:.1} %. {}",
        load.header.case,
        load.header.repetition,
        sustained.bin_s,
        load.duration_s,
        sustained.window_s,
        sustained.first_tps,
        sustained.window_s,
        sustained.last_tps,
        sustained.drop_pct,
        match (power.is_empty(), pressure.is_empty()) {
            (true, _) => "Power was not sampled.",
            (false, true) =>
                "Power: the widest rail sampled; the sampler reports no thermal pressure.",
            (false, false) => {
                "Power: the widest rail sampled; thermal pressure as macOS reports it \
                 (0 nominal … 4 sleeping)."
            }
        }
    );
    figure(
        SustainedChart {
            title: format!("Sustained load: {}", load.header.case),
            throughput: vec![series("output tok/s", throughput)],
            power: if power.is_empty() {
                Vec::new()
            } else {
                vec![series("power (W)", power)]
            },
            pressure: if pressure.is_empty() {
                Vec::new()
            } else {
                vec![series("thermal pressure", pressure)]
            },
        }
        .render(size),
        &caption,
    )
}

/// One figure per soak case (its first repetition that has one).
pub fn figures(run: &ReportedRun, size: ChartSize) -> Vec<Figure> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for load in run.run.loads.iter().filter(|l| l.sustained.is_some()) {
        if seen.contains(&load.header.case.as_str()) {
            continue;
        }
        seen.push(&load.header.case);
        out.extend(soak_figure(run, load, size));
    }
    out
}
