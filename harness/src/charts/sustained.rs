//! A soak: output throughput over time, with power and thermal pressure beneath it on the same
//! time axis, as three stacked panels rather than one chart with several y axes.
//!
//! How to read it: the top line is tokens per second in each bin of the run; a machine that
//! heats up shows it sloping down while power (middle) holds or falls and thermal pressure
//! (bottom: 0 nominal, 1 moderate, 2 heavy, 3 trapping, 4 sleeping) rises. Time runs from the
//! start of the pattern.

use super::axis::{AxisSpec, ScalePolicy, Unit};
use super::frame::{self, FrameOpts, Rect};
use super::xy::{self, list_labels, Interval};
use super::{ChartError, ChartSize, Series};

/// Input of the soak chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SustainedChart {
    /// Chart title.
    pub title: String,
    /// Throughput: x seconds from the start, y tokens per second.
    pub throughput: Vec<Series>,
    /// Power: x seconds, y watts (the headline rail).
    pub power: Vec<Series>,
    /// Thermal pressure: x seconds, y its level (0 nominal … 4 sleeping).
    pub pressure: Vec<Series>,
}

/// The level of a macOS thermal pressure name on the pressure panel.
pub fn pressure_level(name: &str) -> Option<f64> {
    match name.to_ascii_lowercase().as_str() {
        "nominal" => Some(0.0),
        "moderate" | "fair" => Some(1.0),
        "heavy" | "serious" => Some(2.0),
        "trapping" | "critical" => Some(3.0),
        "sleeping" => Some(4.0),
        _ => None,
    }
}

impl SustainedChart {
    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        let mut groups = xy::prepare(&[&self.throughput, &self.power, &self.pressure]);
        let pressure = groups.pop().unwrap_or_default();
        let power = groups.pop().unwrap_or_default();
        let throughput = groups.pop().unwrap_or_default();
        let x = AxisSpec::new("time", Unit::Fixed("s".into())).scale(ScalePolicy::Linear);
        let y_tp = AxisSpec::new("throughput", Unit::Fixed("tok/s".into()))
            .scale(ScalePolicy::Linear)
            .zero()
            .ticks(4);
        let y_w = AxisSpec::new("power", Unit::Fixed("W".into()))
            .scale(ScalePolicy::Linear)
            .zero()
            .ticks(3);
        let y_p = AxisSpec::new("pressure", Unit::Fixed("level".into()))
            .scale(ScalePolicy::Linear)
            .zero()
            .integer()
            .ticks(3);
        let all: Vec<xy::Prepared> = throughput
            .iter()
            .chain(&power)
            .chain(&pressure)
            .cloned()
            .collect();
        let (xa, _) = xy::axes(&all, &x, &y_tp);
        let (_, ya_tp) = xy::axes(&throughput, &x, &y_tp);
        let (_, ya_w) = xy::axes(&power, &x, &y_w);
        let (_, ya_p) = xy::axes(&pressure, &x, &y_p);
        let groups: [&[xy::Prepared]; 3] = [&throughput, &power, &pressure];
        let desc = format!(
            "Three line charts against time (s): throughput (tok/s) on top, power (W) in the \
             middle and thermal pressure below, for {}.",
            list_labels(xy::legend_entries(&groups).iter().map(|e| e.label.as_str()))
        );
        frame::render(size, &self.title, &desc, |c| {
            c.legend(&xy::legend_entries(&groups), 0.2)?;
            let rest = c.rest();
            let base = FrameOpts::default();
            let left = frame::left_room(&ya_tp, &base)
                .max(frame::left_room(&ya_w, &base))
                .max(frame::left_room(&ya_p, &base));
            // Only the panels with data, sharing the height in these proportions; the time
            // axis is titled under the last one.
            let panels: Vec<_> = [
                (&throughput, &ya_tp, 0.45),
                (&power, &ya_w, 0.30),
                (&pressure, &ya_p, 0.25),
            ]
            .into_iter()
            .filter(|(series, _, _)| !series.is_empty())
            .collect();
            let total: f64 = panels.iter().map(|(_, _, share)| share).sum();
            let mut y = rest.y;
            for (i, (series, ya, share)) in panels.iter().enumerate() {
                let last = i + 1 == panels.len();
                let h = if last {
                    rest.y + rest.h - y
                } else {
                    (rest.h * share / total).floor()
                };
                let rect = Rect { y, h, ..rest };
                y += h;
                let opts = FrameOpts {
                    x_title: last,
                    left_min: left,
                    ..FrameOpts::default()
                };
                xy::draw_on(
                    c.root,
                    c.overlay,
                    rect,
                    series,
                    xa.clone(),
                    (*ya).clone(),
                    Interval::Whisker,
                    &opts,
                )?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::Point;

    fn series(label: &str, points: &[(f64, f64)]) -> Series {
        Series {
            label: label.into(),
            points: points
                .iter()
                .map(|&(x, y)| Point {
                    x,
                    y,
                    low: None,
                    high: None,
                })
                .collect(),
        }
    }

    #[test]
    fn renders_three_panels_and_names_them() {
        let svg = SustainedChart {
            title: "Sustained load".into(),
            throughput: vec![series("tok/s", &[(5.0, 50.0), (15.0, 45.0), (25.0, 35.0)])],
            power: vec![series("W", &[(1.0, 30.0), (20.0, 28.0)])],
            pressure: vec![series("pressure", &[(1.0, 0.0), (20.0, 2.0)])],
        }
        .render(ChartSize::default())
        .unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        for text in [
            "throughput",
            "power",
            "pressure",
            "Sustained load",
            "time (s)",
        ] {
            assert!(svg.contains(text), "{text}");
        }
        // Without power and pressure, the throughput panel alone, its time axis titled.
        let alone = SustainedChart {
            title: "Sustained load".into(),
            throughput: vec![series("tok/s", &[(5.0, 50.0), (15.0, 45.0)])],
            ..SustainedChart::default()
        }
        .render(ChartSize::default())
        .unwrap();
        assert!(alone.contains("time (s)"), "the x axis is titled");
        assert_eq!(pressure_level("Heavy"), Some(2.0));
        assert_eq!(pressure_level("odd"), None);
    }
}
