//! Time to first token against prompt length, one line per target.
//!
//! How to read it: each line is one target (machine, model or backend); a point is the median
//! time to first token at one prompt length and its whisker the interval of that median.
//! Lower is better. Prefill cost grows with prompt length, so the slope shows how a target
//! scales; when lengths or times span more than a factor of ~30 the axes turn logarithmic
//! (a straight line of slope 1 on log-log axes is linear growth).

use super::axis::{AxisSpec, Unit};
use super::xy::{self, Interval};
use super::{ChartError, ChartSize};

pub use super::{Point, Series};

/// Input of the time-to-first-token chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TtftChart {
    /// Chart title.
    pub title: String,
    /// One series per target: x is the prompt length in tokens, y the median time to first
    /// token in seconds, `low`/`high` the interval of that median.
    pub series: Vec<Series>,
}

impl TtftChart {
    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        let prepared = xy::prepare(&[&self.series]).remove(0);
        let x = AxisSpec::new("prompt length", Unit::Fixed("tokens".into()));
        let y = AxisSpec::new("time to first token", Unit::Seconds);
        let (xa, ya) = xy::axes(&prepared, &x, &y);
        let desc = format!(
            "Line chart of median {} against {} for {}, with intervals of the median; \
             lower is better.",
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
