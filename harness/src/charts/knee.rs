//! A rate search's curve: latency against the throughput the server achieved, one point per
//! probed rate, with the SLO bound as a dashed horizontal line and the knee circled.
//!
//! How to read it: each line is one search (a case, or one repetition of it); moving right,
//! the offered rate rises and so does the throughput, until the server saturates: then
//! latency climbs steeply while throughput stops growing. Points under the dashed line meet
//! the bound for the percentile shown; the circled point is the knee, the highest rate whose
//! probe met the target share of requests within every bound of the SLO (so it can sit a
//! little above the line when the target is below the percentile shown).

use plotters::style::Color;

use super::axis::{self, AxisSpec, ScalePolicy, Unit};
use super::frame::{self, FrameOpts};
use super::shapes;
use super::style::{self, FG, REF};
use super::svg::{Anchor, Baseline, Text};
use super::xy::{self, Interval};
use super::{ChartError, ChartSize, Point, Series};

/// Input of the knee chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KneeChart {
    /// Chart title.
    pub title: String,
    /// What the y axis shows, e.g. "ttft p90".
    pub latency: String,
    /// One series per search: x is the achieved throughput in requests per second, y the
    /// latency in seconds.
    pub series: Vec<Series>,
    /// The SLO's bound on that latency, seconds.
    pub threshold_s: Option<f64>,
    /// The knee of each search, at its (throughput, latency).
    pub knees: Vec<Point>,
}

impl KneeChart {
    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        let prepared = xy::prepare(&[&self.series]).remove(0);
        let x = AxisSpec::new("achieved throughput", Unit::Fixed("req/s".into()))
            .scale(ScalePolicy::Linear)
            .zero();
        let y = AxisSpec::new(&self.latency, Unit::Seconds);
        let xs: Vec<f64> = prepared
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.x))
            .collect();
        // The bound is on the y axis even when every point is far below it.
        let ys: Vec<f64> = prepared
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.y))
            .chain(self.threshold_s)
            .collect();
        let (xa, ya) = (axis::build(&x, &xs), axis::build(&y, &ys));
        let desc = format!(
            "Line chart of {} against {} for {}, one point per probed rate{}{}.",
            ya.title,
            xa.title,
            xy::list_labels(prepared.iter().map(|s| s.label.as_str())),
            self.threshold_s.map_or(String::new(), |t| format!(
                "; the SLO bound is {}",
                crate::units::duration(t)
            )),
            if self.knees.is_empty() {
                "; no rate met the target"
            } else {
                "; the knee is circled"
            }
        );
        frame::render(size, &self.title, &desc, |c| {
            c.legend(&xy::legend_entries(&[&prepared]), 0.25)?;
            let rect = c.rest();
            let plot = xy::draw_on(
                c.root,
                c.overlay,
                rect,
                &prepared,
                xa,
                ya,
                Interval::Whisker,
                &FrameOpts::default(),
            )?;
            let r = plot.rect();
            if let Some(at) = self.threshold_s.and_then(|t| plot.cy(t)) {
                shapes::polyline(c.root, &[(r.x, at), (r.x + r.w, at)], REF.to_rgba(), 1)?;
                let label = format!(
                    "SLO {}",
                    crate::units::duration(self.threshold_s.unwrap_or_default())
                );
                c.overlay.text(
                    &Text::new(r.x + r.w - 4.0, at - 3.0, &label, style::SMALL_PX)
                        .anchor(Anchor::End)
                        .baseline(Baseline::Alphabetic),
                );
            }
            for knee in &self.knees {
                let Some((px, py)) = plot.map(knee.x, knee.y) else {
                    continue;
                };
                // A ring around the point, so the series' own marker stays visible.
                let ring: Vec<(f64, f64)> = (0..=24)
                    .map(|i| {
                        let a = f64::from(i) / 24.0 * std::f64::consts::TAU;
                        (px + 8.0 * a.cos(), py + 8.0 * a.sin())
                    })
                    .collect();
                shapes::polyline(c.root, &ring, FG.to_rgba(), 2)?;
                c.overlay.text(
                    &Text::new(px, py - 12.0, "knee", style::SMALL_PX)
                        .anchor(Anchor::Middle)
                        .baseline(Baseline::Alphabetic),
                );
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> KneeChart {
        KneeChart {
            title: "Rate search".into(),
            latency: "e2e p90".into(),
            series: vec![Series {
                label: "server/knee".into(),
                points: vec![
                    Point::new(25.0, 0.10),
                    Point::new(50.0, 0.10),
                    Point::new(78.0, 0.11),
                    Point::new(80.0, 0.16),
                    Point::new(80.5, 0.24),
                ],
            }],
            threshold_s: Some(0.15),
            knees: vec![Point::new(78.0, 0.11)],
        }
    }

    #[test]
    fn draws_the_bound_and_the_knee_and_says_so() {
        let svg = chart().render(ChartSize::default()).unwrap();
        assert!(svg.contains("SLO 150 ms"), "the bound is labelled");
        assert!(svg.contains(">knee<"), "the knee is labelled");
        assert!(svg.contains("the knee is circled"), "and described");
        assert!(svg.contains("e2e p90"));
        assert_eq!(svg, chart().render(ChartSize::default()).unwrap());
    }

    #[test]
    fn a_search_where_nothing_passed_has_no_knee_and_the_bound_stays_in_view() {
        let mut c = chart();
        c.knees.clear();
        c.threshold_s = Some(5.0);
        let svg = c.render(ChartSize::default()).unwrap();
        assert!(svg.contains("no rate met the target"));
        assert!(!svg.contains(">knee<"));
        assert!(svg.contains("SLO 5"), "{svg}");
    }
}
