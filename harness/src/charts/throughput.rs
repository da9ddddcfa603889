//! Grouped bars: one group per case (x), one bar per measure within it, e.g. prefill and
//! decode throughput in tok/s. The energy charts use the same renderer.
//!
//! How to read it: bars of the same colour (and legend entry) are the same measure across
//! cases; a whisker is the interval of the value; the number above a bar is its value when
//! it fits. Bars start at zero on a linear axis; when values span more than a factor of ~30
//! the axis turns logarithmic (its title says so) and bars start at the bottom of the axis,
//! so compare their tops against the ticks rather than their lengths.

use plotters::style::Color;

use super::axis::{self, AxisSpec, Scale, ScalePolicy, Unit};
use super::categories::CategoryLabels;
use super::frame::{self, FrameOpts};
use super::legend::{Entry, Symbol};
use super::shapes;
use super::style::{self, FG};
use super::svg::{self, Anchor, Baseline, Text};
use super::{ChartError, ChartSize};

/// One bar's value with an optional interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    /// Height of the bar, in the chart's unit.
    pub value: f64,
    /// Lower end of the interval of `value`.
    pub low: Option<f64>,
    /// Upper end of the interval of `value`.
    pub high: Option<f64>,
}

impl Bar {
    /// A bar without interval.
    pub fn new(value: f64) -> Self {
        Self {
            value,
            low: None,
            high: None,
        }
    }

    /// A bar with the interval `low..=high`.
    pub fn with_interval(value: f64, low: f64, high: f64) -> Self {
        Self {
            value,
            low: Some(low),
            high: Some(high),
        }
    }
}

/// One measure across all categories, e.g. "decode tok/s".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarSeries {
    /// Legend text.
    pub label: String,
    /// One entry per category, in the order of `BarChart::categories`; `None` where the
    /// measure is missing for that category (shown as "n/a" when it fits). Extra entries
    /// beyond the categories are ignored.
    pub values: Vec<Option<Bar>>,
}

/// Input of a grouped bar chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarChart {
    /// Chart title.
    pub title: String,
    /// Y axis title including its unit, e.g. "throughput (tok/s)".
    pub y_label: String,
    /// Case labels along the x axis; long ones are rotated and shortened (full text as a
    /// tooltip).
    pub categories: Vec<String>,
    /// The measures, one bar per category each.
    pub groups: Vec<BarSeries>,
}

impl BarChart {
    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        let categories: Vec<String> = self.categories.iter().map(|c| svg::clean(c)).collect();
        let n = categories.len();
        let groups: Vec<(String, Vec<Option<Bar>>)> = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let label = svg::clean(&g.label);
                let label = if label.is_empty() {
                    format!("measure {}", i + 1)
                } else {
                    label
                };
                let values = (0..n)
                    .map(|c| g.values.get(c).copied().flatten().and_then(clean_bar))
                    .collect();
                (label, values)
            })
            .collect();

        let values: Vec<f64> = groups
            .iter()
            .flat_map(|(_, v)| v.iter().flatten())
            .flat_map(|b| [Some(b.value), b.low, b.high].into_iter().flatten())
            .collect();
        let y_label = svg::clean(&self.y_label);
        let y_spec = AxisSpec::new(&y_label, Unit::None)
            .scale(ScalePolicy::Auto)
            .zero();
        let ya = axis::build(&y_spec, &values);

        let desc = format!(
            "Grouped bar chart of {} for {} cases ({}) and {} measures ({}); {} axis.",
            ya.title,
            n,
            super::xy::list_labels(categories.iter().map(String::as_str)),
            groups.len(),
            super::xy::list_labels(groups.iter().map(|(l, _)| l.as_str())),
            frame::scale_word(&ya),
        );
        let entries: Vec<Entry> = groups
            .iter()
            .enumerate()
            .map(|(i, (l, _))| Entry::new(Symbol::Bar(i), l.clone()))
            .collect();

        frame::render(size, &self.title, &desc, |c| {
            c.legend(&entries, 0.25)?;
            let rect = c.rest();
            let mut opts = FrameOpts {
                x_title: false,
                ..FrameOpts::default()
            };
            let plot_w = frame::plot_width(rect, &ya, &opts);
            let slot = plot_w / n.max(1) as f64;
            let first_centre = rect.x + frame::left_room(&ya, &opts) + slot / 2.0;
            let labels = CategoryLabels::layout(&categories, slot, rect.h * 0.3, first_centre);
            opts.bottom_labels = Some(labels.room);
            // Bars fill 80 % of a slot, split evenly between the measures.
            let bar_w = slot * 0.8 / groups.len().max(1) as f64;
            let value_px = style::SMALL_PX;
            let show_values = groups
                .iter()
                .flat_map(|(_, v)| v.iter().flatten())
                .all(|b| {
                    svg::text_width(&crate::units::compact_significant(b.value, 3), value_px)
                        <= bar_w + 4.0
                });
            if show_values {
                // Room for the value printed above the tallest bar.
                opts.top += value_px + 4.0;
            }
            let plot = frame::frame(c.root, rect, axis::categorical(n), ya, &opts)?;
            if n == 0 || groups.is_empty() || values.is_empty() {
                plot.no_data(c.overlay);
            }
            let r = plot.rect();
            let centres: Vec<f64> = (0..n).map(|i| plot.sx(i as f64 + 0.5)).collect();
            labels.draw(c.overlay, &centres, r.y + r.h);

            let base = match plot.y.scale {
                Scale::Linear => plot.cy(0.0),
                Scale::Log => Some(plot.sy(plot.y.lo)),
            };
            let Some(base) = base else { return Ok(()) };
            if plot.y.lo < 0.0 && plot.y.hi > 0.0 {
                shapes::polyline(c.root, &[(r.x, base), (r.x + r.w, base)], FG.mix(0.7), 1)?;
            }
            for (j, (_, vals)) in groups.iter().enumerate() {
                let colour = style::colour(j).to_rgba();
                for (i, bar) in vals.iter().enumerate() {
                    let x0 = plot.sx(i as f64 + 0.1) + j as f64 * bar_w;
                    let xc = x0 + bar_w / 2.0;
                    let Some(b) = bar else {
                        if svg::text_width("n/a", value_px) <= bar_w + 4.0 {
                            c.overlay.text(
                                &Text::new(xc, base - 3.0, "n/a", value_px)
                                    .anchor(Anchor::Middle)
                                    .baseline(Baseline::Alphabetic)
                                    .opacity(0.7),
                            );
                        }
                        continue;
                    };
                    let Some(top) = plot.cy(b.value) else {
                        continue;
                    };
                    let gap = (bar_w * 0.06).min(2.0);
                    shapes::rect(c.root, (x0 + gap, base), (x0 + bar_w - gap, top), colour)?;
                    let mut label_y = top.min(base);
                    // Whiskers on bars a few pixels wide would only smear them.
                    if let (Some(lo), Some(hi), true) = (b.low, b.high, bar_w >= 6.0) {
                        if let (Some(a), Some(z)) = (plot.cy(lo), plot.cy(hi)) {
                            shapes::whisker(c.root, true, xc, a, z, FG.mix(0.85))?;
                            label_y = label_y.min(a.min(z));
                        }
                    }
                    if show_values {
                        let text = crate::units::compact_significant(b.value, 3);
                        let y = if b.value < 0.0 {
                            base - 3.0
                        } else {
                            label_y - 3.0
                        };
                        c.overlay.text(
                            &Text::new(xc, y, &text, value_px)
                                .anchor(Anchor::Middle)
                                .baseline(Baseline::Alphabetic),
                        );
                    }
                }
            }
            Ok(())
        })
    }
}

/// Keep a bar only if its value is usable; drop unusable interval ends and order the rest.
fn clean_bar(b: Bar) -> Option<Bar> {
    if !axis::usable(b.value) {
        return None;
    }
    let low = b.low.filter(|v| axis::usable(*v));
    let high = b.high.filter(|v| axis::usable(*v));
    let (low, high) = match (low, high) {
        (Some(a), Some(z)) if a > z => (Some(z), Some(a)),
        other => other,
    };
    Some(Bar {
        value: b.value,
        low,
        high,
    })
}
