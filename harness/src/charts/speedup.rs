//! Speedup of one machine over another ("M5 vs M4"): one horizontal bar per case.
//!
//! How to read it: every bar starts at the dashed "no change" line at ×1. Bars to the right
//! (blue) mean the current machine is faster by that factor, bars to the left (vermillion)
//! mean it is slower; the factor is printed at the bar's end (so the chart reads without
//! colour), and a whisker shows its interval. When factors span more than ~30× the axis turns
//! logarithmic, so ×2 and ×0.5 are equally far from the line.

use plotters::style::Color;

use super::axis::{self, AxisSpec, Scale, Unit};
use super::frame::{self, FrameOpts};
use super::hbar;
use super::legend::{Entry, Symbol};
use super::shapes;
use super::style::{self, FG, REF};
use super::svg::{self, Anchor, Baseline, Text};
use super::{ChartError, ChartSize};

/// Palette index of bars where the current machine is faster (blue).
const FASTER: usize = 3;
/// Palette index of bars where it is slower (vermillion).
const SLOWER: usize = 4;

/// One case's speedup.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpeedupBar {
    /// Case or model name.
    pub label: String,
    /// Current over base; above 1 means the current machine is faster. Values that are not
    /// positive and finite are shown as "n/a".
    pub speedup: f64,
    /// Lower end of the interval of the speedup.
    pub low: Option<f64>,
    /// Upper end of the interval of the speedup.
    pub high: Option<f64>,
}

/// Input of the speedup chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpeedupChart {
    /// Chart title.
    pub title: String,
    /// The machine compared against, e.g. "M4 Max".
    pub base_label: String,
    /// The machine measured, e.g. "M5 Max".
    pub current_label: String,
    /// One bar per case, drawn top to bottom in this order.
    pub bars: Vec<SpeedupBar>,
}

struct Row {
    label: String,
    value: Option<f64>,
    interval: Option<(f64, f64)>,
}

impl SpeedupChart {
    /// Render the chart as an SVG document. The drawing grows taller than `size` when there
    /// are too many bars to label at that height.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        let ok = |v: f64| axis::usable(v) && v > 0.0;
        let rows: Vec<Row> = self
            .bars
            .iter()
            .map(|b| {
                let interval = match (b.low.filter(|v| ok(*v)), b.high.filter(|v| ok(*v))) {
                    (Some(a), Some(z)) => Some((a.min(z), a.max(z))),
                    _ => None,
                };
                Row {
                    label: svg::clean(&b.label),
                    value: Some(b.speedup).filter(|v| ok(*v)),
                    interval,
                }
            })
            .collect();
        let n = rows.len();
        let base = or_default(svg::clean(&self.base_label), "base");
        let current = or_default(svg::clean(&self.current_label), "current");
        let size = hbar::grow(size.check()?, n);

        let mut values = vec![1.0];
        for r in &rows {
            values.extend(r.value);
            if let Some((a, z)) = r.interval {
                values.extend([a, z]);
            }
        }
        let spec = AxisSpec::new(
            &format!("speedup of {current} over {base}"),
            Unit::Fixed("×".into()),
        );
        let full_labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
        let (shown, room) = hbar::labels(&full_labels, size.width);
        let opts = FrameOpts {
            left_labels: Some(room),
            y_title: false,
            top: 24.0,
            ..FrameOpts::default()
        };

        // Widen the axis so the factor printed beyond each bar's end stays inside the plot.
        let label_w = rows
            .iter()
            .map(|r| {
                svg::text_width(
                    &crate::units::factor(r.value.unwrap_or(0.0)),
                    style::TICK_PX,
                )
            })
            .fold(0.0, f64::max)
            + 10.0;
        let first = axis::build(&spec, &values);
        let plot_w_est = f64::from(size.width) - frame::PAD - room - opts.right;
        let ext = label_w / plot_w_est.max(50.0) * (first.hi - first.lo) * 1.15;
        let has_faster = rows.iter().any(|r| r.value.is_some_and(|v| v > 1.0));
        let has_slower = rows.iter().any(|r| r.value.is_some_and(|v| v < 1.0));
        let data_hi = values
            .iter()
            .copied()
            .filter(|v| ok(*v))
            .fold(1.0, f64::max);
        let data_lo = values
            .iter()
            .copied()
            .filter(|v| ok(*v))
            .fold(1.0, f64::min);
        if let (Some(hi), Some(lo)) = (first.pos(data_hi), first.pos(data_lo)) {
            if has_faster {
                values.push(first.value(hi + ext));
            }
            if has_slower {
                let v = first.value(lo - ext);
                values.push(if first.scale == Scale::Linear {
                    v.max(0.0)
                } else {
                    v
                });
            }
        }
        let xa = axis::build(&spec, &values);

        let desc = describe(&rows, &current, &base, &xa);
        let entries = vec![
            Entry::new(
                Symbol::Bar(FASTER),
                format!("{current} faster (right of ×1)"),
            ),
            Entry::new(
                Symbol::Bar(SLOWER),
                format!("{current} slower (left of ×1)"),
            ),
        ];
        frame::render(size, &self.title, &desc, |c| {
            c.legend(&entries, 0.2)?;
            let rect = c.rest();
            let plot = frame::frame(c.root, rect, xa, axis::categorical(n), &opts)?;
            let r = plot.rect();
            if rows.iter().all(|r| r.value.is_none()) {
                plot.no_data(c.overlay);
            }
            hbar::draw_labels(c.overlay, &plot, &shown, &full_labels);
            let Some(one) = plot.cx(1.0) else {
                return Ok(());
            };
            shapes::polyline(
                c.root,
                &[(one, r.y - 4.0), (one, r.y + r.h)],
                REF.to_rgba(),
                1,
            )?;
            c.overlay.text(
                &Text::new(one, r.y - 6.0, "no change", style::SMALL_PX)
                    .anchor(Anchor::Middle)
                    .baseline(Baseline::Alphabetic),
            );
            let half = hbar::half_height(&plot, n);
            for (i, row) in rows.iter().enumerate() {
                let y = plot.sy(hbar::row_pos(i, n));
                let Some(v) = row.value else {
                    c.overlay
                        .text(&Text::new(one + 6.0, y, "n/a", style::TICK_PX).opacity(0.7));
                    continue;
                };
                let Some(end) = plot.cx(v) else { continue };
                let colour = style::colour(if v >= 1.0 { FASTER } else { SLOWER });
                shapes::rect(c.root, (one, y - half), (end, y + half), colour.to_rgba())?;
                let (mut left, mut right) = (end.min(one), end.max(one));
                if let Some((a, z)) = row.interval {
                    if let (Some(pa), Some(pz)) = (plot.cx(a), plot.cx(z)) {
                        shapes::whisker(c.root, false, y, pa, pz, FG.mix(0.85))?;
                        left = left.min(pa);
                        right = right.max(pz);
                    }
                }
                let text = crate::units::factor(v);
                let w = svg::text_width(&text, style::TICK_PX);
                let t = if v < 1.0 && left - 4.0 - w >= r.x {
                    Text::new(left - 4.0, y, &text, style::TICK_PX).anchor(Anchor::End)
                } else {
                    // Faster bars, and slower ones with no room on their left, are labelled
                    // on the right; "×0.4" still reads as slower.
                    Text::new(right + 4.0, y, &text, style::TICK_PX)
                };
                c.overlay.text(&t.bold());
            }
            Ok(())
        })
    }
}

fn or_default(s: String, d: &str) -> String {
    if s.is_empty() {
        d.to_string()
    } else {
        s
    }
}

fn describe(rows: &[Row], current: &str, base: &str, xa: &axis::Axis) -> String {
    let valid: Vec<(&str, f64)> = rows
        .iter()
        .filter_map(|r| r.value.map(|v| (r.label.as_str(), v)))
        .collect();
    let best = valid.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1));
    let worst = valid.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1));
    let mut d = format!(
        "Horizontal bar chart of the speedup of {current} over {base} for {} cases ({} axis); \
         bars right of the no-change line at ×1 mean {current} is faster.",
        rows.len(),
        frame::scale_word(xa)
    );
    if let (Some(b), Some(w)) = (best, worst) {
        d.push_str(&format!(
            " Largest: {} {}; smallest: {} {}.",
            b.0,
            crate::units::factor(b.1),
            w.0,
            crate::units::factor(w.1)
        ));
    }
    d
}
