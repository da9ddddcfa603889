//! Cluster scaling: throughput and power against node count, as two panels sharing the
//! x axis (throughput on top, power below) rather than one chart with two y axes, which is
//! easy to misread.
//!
//! How to read it: one line per configuration; the same label has the same colour, marker
//! and dash in both panels. Perfect scaling would double throughput with each doubling of
//! nodes; the power panel shows what that costs. Ticks sit at the node counts measured, and
//! the node axis is logarithmic when counts span 4x or more (1, 2, 4, 8 evenly spaced).

use super::axis::{AxisSpec, ScalePolicy, Unit};
use super::frame::{self, FrameOpts, Rect};
use super::xy::{self, list_labels, Interval};
use super::{ChartError, ChartSize, Series};

/// Input of the scaling chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScalingChart {
    /// Chart title.
    pub title: String,
    /// Throughput per configuration: x is the node count, y tokens per second (with an
    /// optional interval).
    pub series: Vec<Series>,
    /// Power per configuration: x is the node count, y watts for the whole cluster.
    pub power: Vec<Series>,
}

impl ScalingChart {
    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        let mut groups = xy::prepare(&[&self.series, &self.power]);
        let power = groups.pop().unwrap_or_default();
        let throughput = groups.pop().unwrap_or_default();

        let mut nodes: Vec<f64> = throughput
            .iter()
            .chain(&power)
            .flat_map(|s| s.points.iter().map(|p| p.x))
            .collect();
        nodes.sort_by(f64::total_cmp);
        nodes.dedup();
        // Ticks at the counts measured, unless there are too many to label.
        let mut x = AxisSpec::new("nodes", Unit::Fixed("count".into()))
            .scale(ScalePolicy::AutoAbove(3.9))
            .integer();
        if (1..=12).contains(&nodes.len()) {
            x = x.ticks_at(nodes.clone());
        }
        let y_tp = AxisSpec::new("throughput", Unit::Fixed("tok/s".into()))
            .scale(ScalePolicy::Linear)
            .zero()
            .ticks(4);
        let y_w = AxisSpec::new("power", Unit::Fixed("W".into()))
            .scale(ScalePolicy::Linear)
            .zero()
            .ticks(4);
        let all: Vec<xy::Prepared> = throughput.iter().chain(&power).cloned().collect();
        let (xa, _) = xy::axes(&all, &x, &y_tp);
        let (_, ya_tp) = xy::axes(&throughput, &x, &y_tp);
        let (_, ya_w) = xy::axes(&power, &x, &y_w);
        let desc = format!(
            "Two line charts against {}: throughput (tok/s) on top and power (W) below, for {}.",
            xa.title,
            list_labels(
                xy::legend_entries(&[&throughput, &power])
                    .iter()
                    .map(|e| e.label.as_str())
            )
        );
        frame::render(size, &self.title, &desc, |c| {
            c.legend(&xy::legend_entries(&[&throughput, &power]), 0.2)?;
            let rest = c.rest();
            let top_h = (rest.h * 0.47).floor();
            let top = Rect { h: top_h, ..rest };
            let bottom = Rect {
                y: rest.y + top_h,
                h: rest.h - top_h,
                ..rest
            };
            // Both panels share the x axis (all node counts) and the room left of the plot,
            // so their plots line up.
            let base = FrameOpts::default();
            let left = frame::left_room(&ya_tp, &base).max(frame::left_room(&ya_w, &base));
            let top_opts = FrameOpts {
                x_title: false,
                left_min: left,
                ..FrameOpts::default()
            };
            let bottom_opts = FrameOpts {
                left_min: left,
                ..FrameOpts::default()
            };
            xy::draw_on(
                c.root,
                c.overlay,
                top,
                &throughput,
                xa.clone(),
                ya_tp.clone(),
                Interval::Whisker,
                &top_opts,
            )?;
            xy::draw_on(
                c.root,
                c.overlay,
                bottom,
                &power,
                xa.clone(),
                ya_w.clone(),
                Interval::Whisker,
                &bottom_opts,
            )?;
            Ok(())
        })
    }
}
