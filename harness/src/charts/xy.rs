//! The line plot behind the TTFT, step-time and scaling charts: one line with markers per
//! series, intervals as whiskers or as a shaded band, axes chosen from the data (log when the
//! range asks for it).

use std::collections::BTreeMap;

use plotters::style::Color;

use super::axis::{self, AxisSpec};
use super::frame::{self, FrameOpts, Plot, Rect, Root};
use super::legend::{Entry, Symbol};
use super::shapes;
use super::style;
use super::svg::{self, Overlay};
use super::{ChartError, Point, Series};

/// Series with more points than this show their intervals as a band.
const MAX_WHISKERS: usize = 60;

/// How intervals (`low`/`high`) are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interval {
    /// A vertical whisker with caps at each point (few points).
    Whisker,
    /// A shaded band between the lows and the highs (many points, e.g. per step).
    Band,
}

/// A series ready to draw: cleaned label, style index, usable points sorted by x.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub label: String,
    pub style: usize,
    pub points: Vec<Point>,
}

/// Clean a series: drop points without usable x and y, drop unusable interval ends, order
/// each interval, and sort by x (ties keep input order, so output is deterministic).
pub(crate) fn prepare_points(points: &[Point]) -> Vec<Point> {
    let mut v: Vec<Point> = points
        .iter()
        .filter(|p| axis::usable(p.x) && axis::usable(p.y))
        .map(|p| {
            let low = p.low.filter(|v| axis::usable(*v));
            let high = p.high.filter(|v| axis::usable(*v));
            let (low, high) = match (low, high) {
                (Some(a), Some(b)) if a > b => (Some(b), Some(a)),
                other => other,
            };
            Point {
                x: p.x,
                y: p.y,
                low,
                high,
            }
        })
        .collect();
    v.sort_by(|a, b| a.x.total_cmp(&b.x));
    v
}

/// Assign style indices by label, so the same label gets the same look in every panel of a
/// chart, and clean everything.
pub(crate) fn prepare(groups: &[&[Series]]) -> Vec<Vec<Prepared>> {
    let mut styles: BTreeMap<String, usize> = BTreeMap::new();
    groups
        .iter()
        .map(|series| {
            series
                .iter()
                .map(|s| {
                    let label = svg::clean(&s.label);
                    let next = styles.len();
                    let style = *styles.entry(label.clone()).or_insert(next);
                    Prepared {
                        label,
                        style,
                        points: prepare_points(&s.points),
                    }
                })
                .collect()
        })
        .collect()
}

/// Legend entries for prepared series, one per distinct style.
pub(crate) fn legend_entries(groups: &[&[Prepared]]) -> Vec<Entry> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for s in groups.iter().flat_map(|g| g.iter()) {
        if !seen.contains(&s.style) {
            seen.push(s.style);
            let label = if s.label.is_empty() {
                format!("series {}", s.style + 1)
            } else {
                s.label.clone()
            };
            out.push(Entry::new(Symbol::Line(s.style), label));
        }
    }
    out
}

/// The axes of an xy plot for `series`.
pub(crate) fn axes(series: &[Prepared], x: &AxisSpec, y: &AxisSpec) -> (axis::Axis, axis::Axis) {
    let xs: Vec<f64> = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.x))
        .collect();
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .flat_map(|p| [Some(p.y), p.low, p.high].into_iter().flatten())
        })
        .collect();
    (axis::build(x, &xs), axis::build(y, &ys))
}

/// Draw one xy plot in `rect`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn draw(
    root: &Root<'_>,
    overlay: &mut Overlay,
    rect: Rect,
    series: &[Prepared],
    x: &AxisSpec,
    y: &AxisSpec,
    interval: Interval,
    opts: &FrameOpts,
) -> Result<Plot, ChartError> {
    let (xa, ya) = axes(series, x, y);
    draw_on(root, overlay, rect, series, xa, ya, interval, opts)
}

/// A whole chart of lines: `series` on axes `x` and `y` under a legend that takes at most
/// `legend_share` of the height, the charts' common layout.
pub(crate) struct Lines<'a> {
    /// The lines.
    pub series: &'a [Prepared],
    /// The horizontal axis.
    pub x: &'a AxisSpec,
    /// The vertical axis.
    pub y: &'a AxisSpec,
    /// How the points' intervals show.
    pub interval: Interval,
    /// The legend's largest share of the height.
    pub legend_share: f64,
}

impl Lines<'_> {
    /// The SVG document of the chart, titled `title` and described by `desc`.
    pub(crate) fn render(
        &self,
        size: super::ChartSize,
        title: &str,
        desc: &str,
    ) -> Result<String, ChartError> {
        frame::render(size, title, desc, |c| {
            c.legend(&legend_entries(&[self.series]), self.legend_share)?;
            let rect = c.rest();
            draw(
                c.root,
                c.overlay,
                rect,
                self.series,
                self.x,
                self.y,
                self.interval,
                &FrameOpts::default(),
            )?;
            Ok(())
        })
    }
}

/// Draw one xy plot in `rect` on axes built beforehand (panels sharing an axis).
#[allow(clippy::too_many_arguments)]
pub(crate) fn draw_on(
    root: &Root<'_>,
    overlay: &mut Overlay,
    rect: Rect,
    series: &[Prepared],
    xa: axis::Axis,
    ya: axis::Axis,
    interval: Interval,
    opts: &FrameOpts,
) -> Result<Plot, ChartError> {
    let plot = frame::frame(root, rect, xa, ya, opts)?;
    if series.iter().all(|s| s.points.is_empty()) {
        plot.no_data(overlay);
        return Ok(plot);
    }

    // Whiskers on hundreds of points would be unreadable and heavy: dense series get a band.
    let interval_of = |s: &Prepared| {
        if s.points.len() > MAX_WHISKERS {
            Interval::Band
        } else {
            interval
        }
    };
    for s in series {
        if interval_of(s) == Interval::Band {
            draw_band(root, &plot, s)?;
        }
    }
    for s in series {
        let pts: Vec<(f64, f64)> = s.points.iter().filter_map(|p| plot.map(p.x, p.y)).collect();
        shapes::series_line(root, &pts, s.style)?;
    }
    for s in series {
        let colour = style::colour(s.style).to_rgba();
        if interval_of(s) == Interval::Whisker {
            for p in &s.points {
                if let (Some(lo), Some(hi), Some(x)) = (p.low, p.high, plot.x.pos(p.x)) {
                    let (a, b) = (plot.cy(lo), plot.cy(hi));
                    if let (Some(a), Some(b)) = (a, b) {
                        shapes::whisker(root, true, plot.sx(x), a, b, colour)?;
                    }
                }
            }
        }
        // Markers on at most ~40 points per series, evenly spread, so dense series stay
        // readable and small.
        let step = s.points.len().div_ceil(40).max(1);
        for p in s.points.iter().step_by(step) {
            if let Some(at) = plot.map(p.x, p.y) {
                shapes::marker(root, at, s.style, 3.5)?;
            }
        }
    }
    Ok(plot)
}

/// A shaded band between lows and highs; points without an interval split the band.
fn draw_band(root: &Root<'_>, plot: &Plot, s: &Prepared) -> Result<(), ChartError> {
    let colour = style::colour(s.style).mix(style::BAND_OPACITY);
    let mut run: Vec<(f64, f64, f64)> = Vec::new();
    let flush = |run: &mut Vec<(f64, f64, f64)>| -> Result<(), ChartError> {
        if run.len() >= 2 {
            let mut poly: Vec<(f64, f64)> = run.iter().map(|(x, _, hi)| (*x, *hi)).collect();
            poly.extend(run.iter().rev().map(|(x, lo, _)| (*x, *lo)));
            shapes::polygon(root, &poly, colour)?;
        }
        run.clear();
        Ok(())
    };
    for p in &s.points {
        let px = plot.x.pos(p.x).map(|x| plot.sx(x));
        match (
            px,
            p.low.and_then(|v| plot.cy(v)),
            p.high.and_then(|v| plot.cy(v)),
        ) {
            (Some(x), Some(lo), Some(hi)) => run.push((x, lo, hi)),
            _ => flush(&mut run)?,
        }
    }
    flush(&mut run)
}

/// "A, B and 2 more" for descriptions.
pub(crate) fn list_labels<'a>(labels: impl Iterator<Item = &'a str>) -> String {
    let all: Vec<&str> = labels.collect();
    match all.len() {
        0 => "no series".into(),
        1..=4 => all.join(", "),
        n => format!("{} and {} more", all[..3].join(", "), n - 3),
    }
}
