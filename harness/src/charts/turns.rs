//! Time to first token against the turn of a conversation, one line per case (and
//! percentile).
//!
//! How to read it: each turn resends the whole conversation so far, so the prompt grows turn
//! by turn. A server that reuses its cache for the history keeps TTFT nearly flat (it
//! prefills only the new message); one that does not prefills the whole history again and
//! its line climbs with the prompt. A point is the median (or the 90th percentile) over the
//! case's complete conversations. Lower is better.

use super::axis::{AxisSpec, ScalePolicy, Unit};
use super::xy::{self, Interval};
use super::{ChartError, ChartSize};

pub use super::{Point, Series};

/// Input of the TTFT-against-turn chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TurnsChart {
    /// Chart title.
    pub title: String,
    /// One series per case and percentile: x is the turn (from 1), y the time to first token
    /// in seconds.
    pub series: Vec<Series>,
}

impl TurnsChart {
    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        let prepared = xy::prepare(&[&self.series]).remove(0);
        let x = AxisSpec::new("turn", Unit::Fixed(String::new())).scale(ScalePolicy::Linear);
        let y = AxisSpec::new("time to first token", Unit::Seconds).scale(ScalePolicy::Linear);
        let (xa, ya) = xy::axes(&prepared, &x, &y);
        let desc = format!(
            "Line chart of {} against the {} of a conversation for {}; lower is better.",
            ya.title,
            xa.title,
            xy::list_labels(prepared.iter().map(|s| s.label.as_str()))
        );
        xy::Lines {
            series: &prepared,
            x: &x,
            y: &y,
            interval: Interval::Whisker,
            legend_share: 0.25,
        }
        .render(size, &self.title, &desc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_of_turns_names_its_lines_and_axes() {
        let chart = TurnsChart {
            title: "TTFT by turn".into(),
            series: vec![Series {
                label: "cpu/chat p50".into(),
                points: (1..=4)
                    .map(|t| Point::new(f64::from(t), 0.01 * f64::from(t)))
                    .collect(),
            }],
        };
        let svg = chart.render(ChartSize::default()).unwrap();
        assert!(svg.starts_with("<svg") || svg.contains("<svg"));
        assert!(svg.contains("cpu/chat p50"));
        assert!(svg.contains("turn"));
    }
}
