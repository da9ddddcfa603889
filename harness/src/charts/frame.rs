//! The parts every chart shares: the document (title on top, legend under it, plot below),
//! the plotters frame of one plot (axes, ticks, grid, axis titles) with its mapping from data
//! to pixels, and the drawing primitives for data (lines, markers, whiskers, bars, bands).

use plotters::prelude::*;

use super::axis::{Axis, Scale};
pub(crate) use super::canvas::{draw_err, Root};
use super::legend::{self, Entry};
use super::style::{self, FG};
use super::svg::{self, Anchor, Baseline, Overlay, Text};
use super::{ChartError, ChartSize};

/// A pixel rectangle.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

/// Margin around the whole drawing.
pub(crate) const PAD: f64 = 10.0;

/// What a chart's drawing code gets: the root area, the overlay for hand-written SVG, and
/// the part of the canvas not yet taken by title and legend.
pub(crate) struct Canvas<'r, 'a> {
    pub root: &'r Root<'a>,
    pub overlay: &'r mut Overlay,
    pub size: ChartSize,
    /// The top of the space still free, below title and legend.
    pub top: f64,
}

impl Canvas<'_, '_> {
    /// Draw a legend under the title and take its height from the free space. `max_share`
    /// of the height is the most it may take; entries that do not fit are summarised.
    pub(crate) fn legend(&mut self, entries: &[Entry], max_share: f64) -> Result<(), ChartError> {
        let width = f64::from(self.size.width) - 2.0 * PAD;
        let max_h = f64::from(self.size.height) * max_share;
        let used = legend::draw(
            self.root,
            self.overlay,
            entries,
            PAD,
            self.top,
            width,
            max_h,
        )?;
        self.top += used;
        Ok(())
    }

    /// The free space left for plots.
    pub(crate) fn rest(&self) -> Rect {
        let bottom = f64::from(self.size.height) - 4.0;
        Rect {
            x: PAD / 2.0,
            y: self.top,
            w: f64::from(self.size.width) - PAD,
            h: (bottom - self.top).max(40.0),
        }
    }
}

/// Render a chart: check the size, draw the title, hand the canvas to `draw`, and finish
/// the document (theme, accessibility, escaping of the hand-written parts).
pub(crate) fn render<F>(
    size: ChartSize,
    title: &str,
    desc: &str,
    draw: F,
) -> Result<String, ChartError>
where
    F: FnOnce(&mut Canvas<'_, '_>) -> Result<(), ChartError>,
{
    let size = size.check()?;
    let title = svg::clean(title);
    // Descriptions are built from cleaned labels; the cap only bounds many-series charts.
    let desc = svg::clean_max(desc, 1000);
    let mut overlay = Overlay::default();
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (size.width, size.height)).into_drawing_area();
        let max_w = f64::from(size.width) - 2.0 * PAD;
        let (shown, cut) = svg::fit(&title, style::TITLE_PX, max_w);
        overlay.text(
            &Text::new(PAD, PAD, &shown, style::TITLE_PX)
                .baseline(Baseline::Top)
                .bold()
                .tooltip(cut.then_some(title.as_str())),
        );
        let mut canvas = Canvas {
            root: &root,
            overlay: &mut overlay,
            size,
            top: PAD + style::TITLE_PX + 10.0,
        };
        draw(&mut canvas)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg::finish(&buf, size, &title, &desc, &overlay))
}

/// How a plot's frame is drawn.
#[derive(Debug, Clone)]
pub(crate) struct FrameOpts {
    /// Extra room left of the plot for hand-drawn category labels (replaces y tick labels).
    pub left_labels: Option<f64>,
    /// Extra room below the plot for hand-drawn category labels (replaces x tick labels).
    pub bottom_labels: Option<f64>,
    /// At least this much room left of the plot (to line up stacked panels).
    pub left_min: f64,
    /// Room right of the plot (for value labels at bar ends).
    pub right: f64,
    /// Room above the plot (for labels of reference lines).
    pub top: f64,
    /// Draw the x axis title.
    pub x_title: bool,
    /// Draw the y axis title.
    pub y_title: bool,
}

impl Default for FrameOpts {
    fn default() -> Self {
        Self {
            left_labels: None,
            bottom_labels: None,
            left_min: 0.0,
            right: 16.0,
            top: 8.0,
            x_title: true,
            y_title: true,
        }
    }
}

/// A drawn frame: its axes and where plot space lands in pixels.
#[derive(Debug, Clone)]
pub(crate) struct Plot {
    pub x: Axis,
    pub y: Axis,
    /// Pixel x of `x.lo` and `x.hi`.
    px: (f64, f64),
    /// Pixel y of `y.lo` and `y.hi` (the first is the larger: pixels grow downwards).
    py: (f64, f64),
}

impl Plot {
    /// Pixel x of a plot-space position.
    pub(crate) fn sx(&self, p: f64) -> f64 {
        self.px.0 + (p - self.x.lo) / (self.x.hi - self.x.lo) * (self.px.1 - self.px.0)
    }
    /// Pixel y of a plot-space position.
    pub(crate) fn sy(&self, p: f64) -> f64 {
        self.py.0 + (p - self.y.lo) / (self.y.hi - self.y.lo) * (self.py.1 - self.py.0)
    }
    /// Pixel position of a data point, or `None` if an axis cannot place it.
    pub(crate) fn map(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        Some((self.sx(self.x.pos(x)?), self.sy(self.y.pos(y)?)))
    }
    /// Pixel x of a data value clamped into the axis range.
    pub(crate) fn cx(&self, x: f64) -> Option<f64> {
        Some(self.sx(self.x.pos_clamped(x)?))
    }
    /// Pixel y of a data value clamped into the axis range.
    pub(crate) fn cy(&self, y: f64) -> Option<f64> {
        Some(self.sy(self.y.pos_clamped(y)?))
    }
    /// The plot's pixel rectangle.
    pub(crate) fn rect(&self) -> Rect {
        let (x0, x1) = (self.px.0.min(self.px.1), self.px.0.max(self.px.1));
        let (y0, y1) = (self.py.0.min(self.py.1), self.py.0.max(self.py.1));
        Rect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        }
    }
    /// Write "no data" in the middle of the plot.
    pub(crate) fn no_data(&self, overlay: &mut Overlay) {
        let r = self.rect();
        overlay.text(
            &Text::new(r.x + r.w / 2.0, r.y + r.h / 2.0, "no data", style::LABEL_PX)
                .anchor(Anchor::Middle)
                .opacity(0.7),
        );
    }
}

/// A linear plotters coordinate whose grid lines and ticks are exactly ours. (Plotters'
/// own `with_key_points` wrapper loses the label formatter for `f64` ranges.)
struct AxisCoord {
    lo: f64,
    hi: f64,
    bold: Vec<f64>,
    light: Vec<f64>,
}

impl Ranged for AxisCoord {
    type FormatOption = plotters::coord::ranged1d::DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        let t = if span > 0.0 {
            (v - self.lo) / span
        } else {
            0.5
        };
        let px = f64::from(limit.0) + t * f64::from(limit.1 - limit.0);
        if px.is_finite() {
            px.round().clamp(-20_000.0, 20_000.0) as i32
        } else {
            limit.0
        }
    }

    fn key_points<H: plotters::coord::ranged1d::KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.light.clone()
        } else {
            self.bold.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Drop ticks whose labels would collide at this plot length: first the 2x and 5x ticks of
/// a log axis, then every other remaining tick, until neighbours keep a small gap.
fn thin_ticks(axis: &mut Axis, len: f64, horizontal: bool) {
    let span = axis.hi - axis.lo;
    if span <= 0.0 || axis.ticks.len() < 2 {
        return;
    }
    let extent = |label: &str| {
        if horizontal {
            svg::text_width(label, style::TICK_PX) + 8.0
        } else {
            style::TICK_PX + 4.0
        }
    };
    let collides = |ticks: &[(f64, String)]| {
        ticks.windows(2).any(|w| {
            let gap = (w[1].0 - w[0].0).abs() / span * len;
            gap < (extent(&w[0].1) + extent(&w[1].1)) / 2.0
        })
    };
    if !collides(&axis.ticks) {
        return;
    }
    if axis.scale == Scale::Log {
        let decades: Vec<(f64, String)> = axis
            .ticks
            .iter()
            .filter(|(t, _)| (t - t.round()).abs() < 1e-9)
            .cloned()
            .collect();
        if decades.len() >= 2 {
            axis.ticks = decades;
        }
    }
    let mut every = 2;
    let all = axis.ticks.clone();
    while collides(&axis.ticks) && every < all.len() {
        axis.ticks = all.iter().step_by(every).cloned().collect();
        every += 1;
    }
}

/// Room for an axis title beside or under the plot.
const TITLE_ROOM: f64 = style::LABEL_PX + 8.0;

/// Room left of the plot for y tick labels (or category labels) and the y axis title.
pub(crate) fn left_room(y: &Axis, opts: &FrameOpts) -> f64 {
    let room = opts
        .left_labels
        .unwrap_or_else(|| tick_label_width(y) + 14.0)
        + if opts.y_title { TITLE_ROOM } else { 0.0 };
    room.max(opts.left_min)
}

/// The width the plot itself will get in `rect`, before drawing (for layout decisions such
/// as rotating category labels).
pub(crate) fn plot_width(rect: Rect, y: &Axis, opts: &FrameOpts) -> f64 {
    (rect.w - left_room(y, opts) - opts.right).max(10.0)
}

/// Width the tick labels of `axis` need.
fn tick_label_width(axis: &Axis) -> f64 {
    axis.ticks
        .iter()
        .map(|(_, l)| svg::text_width(l, style::TICK_PX))
        .fold(0.0, f64::max)
}

fn text_style(px: f64) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", style::plotters_font(px)).into_font()).color(&FG)
}

/// Draw the frame of one plot (axes, ticks, tick labels, grid, axis titles) in `rect` and
/// return the data-to-pixel mapping.
pub(crate) fn frame(
    root: &Root<'_>,
    rect: Rect,
    x: Axis,
    y: Axis,
    opts: &FrameOpts,
) -> Result<Plot, ChartError> {
    let left = left_room(&y, opts);
    let bottom = opts.bottom_labels.unwrap_or(style::TICK_PX + 12.0)
        + if opts.x_title { TITLE_ROOM + 2.0 } else { 0.0 };
    let top_margin = opts.top;
    let plot_w = plot_width(rect, &y, opts);
    let plot_h = (rect.h - bottom - top_margin).max(10.0);

    let mut x = x;
    let mut y = y;
    thin_ticks(&mut x, plot_w, true);
    thin_ticks(&mut y, plot_h, false);
    let x_title = if opts.x_title {
        svg::fit(&x.title, style::LABEL_PX, plot_w).0
    } else {
        String::new()
    };
    let y_title = if opts.y_title {
        svg::fit(&y.title, style::LABEL_PX, plot_h).0
    } else {
        String::new()
    };

    let area = root.clone().shrink(
        (rect.x.round() as i32, rect.y.round() as i32),
        (
            rect.w.round().max(1.0) as u32,
            rect.h.round().max(1.0) as u32,
        ),
    );
    let key = |a: &Axis, labelled: bool| AxisCoord {
        lo: a.lo,
        hi: a.hi,
        bold: if labelled {
            a.ticks.iter().map(|(t, _)| *t).collect()
        } else {
            Vec::new()
        },
        light: a.minor.clone(),
    };
    let mut chart = ChartBuilder::on(&area)
        .margin_top(top_margin as i32)
        .margin_right(opts.right.round() as i32)
        .x_label_area_size(bottom.round() as i32)
        .y_label_area_size(left.round() as i32)
        .build_cartesian_2d(
            key(&x, opts.bottom_labels.is_none()),
            key(&y, opts.left_labels.is_none()),
        )
        .map_err(draw_err)?;

    let fx = |v: &f64| x.label_at(*v);
    let fy = |v: &f64| y.label_at(*v);
    let tick_style = text_style(style::TICK_PX);
    let desc_style = text_style(style::LABEL_PX);
    let grid = ShapeStyle {
        color: FG.mix(style::GRID_OPACITY),
        filled: false,
        stroke_width: 1,
    };
    let minor = ShapeStyle {
        color: FG.mix(style::MINOR_GRID_OPACITY),
        filled: false,
        stroke_width: 1,
    };
    let axis_line = ShapeStyle {
        color: FG.mix(0.7),
        filled: false,
        stroke_width: 1,
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_label_formatter(&fx)
        .y_label_formatter(&fy)
        .x_label_style(tick_style.clone())
        .y_label_style(tick_style)
        .axis_desc_style(desc_style)
        .bold_line_style(grid)
        .light_line_style(minor)
        .axis_style(axis_line)
        .set_all_tick_mark_size(4);
    if opts.x_title {
        mesh.x_desc(x_title);
    }
    if opts.y_title {
        mesh.y_desc(y_title);
    }
    mesh.draw().map_err(draw_err)?;

    let (ax, ay) = chart.backend_coord(&(x.lo, y.lo));
    let (bx, by) = chart.backend_coord(&(x.hi, y.hi));
    Ok(Plot {
        x,
        y,
        px: (f64::from(ax), f64::from(bx)),
        py: (f64::from(ay), f64::from(by)),
    })
}

/// Whether a scale is logarithmic (for descriptions).
pub(crate) fn scale_word(a: &Axis) -> &'static str {
    match a.scale {
        Scale::Linear => "linear",
        Scale::Log => "logarithmic",
    }
}
