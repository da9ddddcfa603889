//! Diffusion (image generation) charts: time per denoising step (`StepChart`) and where a
//! generation's time goes (`PhaseBreakdown`).
//!
//! How to read the step chart: one line per case; a point is the median time of that
//! denoising step across repetitions, the band (or whisker, for few steps) its interval.
//! A flat line means steady steps; a high first step is warm-up. The y axis turns
//! logarithmic when step times span more than a factor of ~30.
//!
//! How to read the breakdown: one horizontal bar per case, split into its phases (text
//! encode, denoise, VAE decode...) left to right in input order, with the total at the bar's
//! end. Shorter is better; the segment colours match the phase fills of the power chart.

use plotters::style::Color;

use super::axis::{self, AxisSpec, ScalePolicy, Unit};
use super::frame::{self, FrameOpts};
use super::hbar;
use super::legend::{Entry, Symbol};
use super::shapes;
use super::style::{self, FG};
use super::svg::{self, Anchor, Text};
use super::xy::{self, list_labels, Interval};
use super::{ChartError, ChartSize, Series};

/// Input of the step-time chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StepChart {
    /// Chart title.
    pub title: String,
    /// One series per case: x is the step index, y the median seconds of that step,
    /// `low`/`high` its interval.
    pub series: Vec<Series>,
}

/// Series with more points than this show intervals as a band instead of whiskers.
const BAND_ABOVE: usize = 12;

impl StepChart {
    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        let prepared = xy::prepare(&[&self.series]).remove(0);
        let x = AxisSpec::new("denoising step", Unit::Fixed("index".into()))
            .scale(ScalePolicy::Linear)
            .integer();
        let y = AxisSpec::new("time per step", Unit::Seconds);
        let (xa, ya) = xy::axes(&prepared, &x, &y);
        let many = prepared.iter().any(|s| s.points.len() > BAND_ABOVE);
        let interval = if many {
            Interval::Band
        } else {
            Interval::Whisker
        };
        let desc = format!(
            "Line chart of median {} against {} for {}; lower is better.",
            ya.title,
            xa.title,
            list_labels(prepared.iter().map(|s| s.label.as_str())),
        );
        xy::Lines {
            series: &prepared,
            x: &x,
            y: &y,
            interval,
            legend_share: 0.25,
        }
        .render(size, &self.title, &desc)
    }
}

/// Opacity of phase segments: light enough that `currentColor` labels on them read in both
/// themes.
const SEGMENT_OPACITY: f64 = 0.6;

/// Input of the phase breakdown chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhaseBreakdown {
    /// Chart title.
    pub title: String,
    /// One bar per case, top to bottom: the case label and its phases as (phase name,
    /// seconds), drawn left to right. Phases with the same name share a colour across cases;
    /// negative or non-finite durations are left out.
    pub cases: Vec<(String, Vec<(String, f64)>)>,
}

impl PhaseBreakdown {
    /// Render the chart as an SVG document. The drawing grows taller than `size` when there
    /// are too many cases to label at that height.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        let size = size.check()?;
        let mut phases: Vec<String> = Vec::new();
        let cases: Vec<(String, Vec<(usize, f64)>)> = self
            .cases
            .iter()
            .map(|(label, parts)| {
                let parts = parts
                    .iter()
                    .filter(|(_, s)| axis::usable(*s) && *s >= 0.0)
                    .map(|(name, s)| {
                        let name = svg::clean(name);
                        let k = match phases
                            .iter()
                            .position(|p| p.to_lowercase() == name.to_lowercase())
                        {
                            Some(k) => k,
                            None => {
                                phases.push(name);
                                phases.len() - 1
                            }
                        };
                        (k, *s)
                    })
                    .collect();
                (svg::clean(label), parts)
            })
            .collect();
        let colours: Vec<_> = phases
            .iter()
            .enumerate()
            .map(|(i, p)| match style::phase_colour(p, i) {
                Some(c) => (c, SEGMENT_OPACITY),
                // Neutral phases (idle) in a faint currentColor, so labels on them still read.
                None => (FG, 0.2),
            })
            .collect();
        let totals: Vec<f64> = cases
            .iter()
            .map(|(_, p)| p.iter().map(|(_, s)| s).sum())
            .collect();
        let n = cases.len();
        let size = hbar::grow(size, n);

        let full: Vec<String> = cases.iter().map(|(l, _)| l.clone()).collect();
        let (shown, room) = hbar::labels(&full, size.width);
        let opts = FrameOpts {
            left_labels: Some(room),
            y_title: false,
            ..FrameOpts::default()
        };
        let spec = AxisSpec::new("time", Unit::Seconds)
            .scale(ScalePolicy::Linear)
            .zero();
        // Room for the total printed after the longest bar.
        let first = axis::build(&spec, &totals);
        let label_w = totals
            .iter()
            .map(|t| svg::text_width(&crate::units::duration(*t), style::TICK_PX))
            .fold(0.0, f64::max)
            + 10.0;
        let plot_w = f64::from(size.width) - frame::PAD - room - opts.right;
        let max_total = totals.iter().copied().fold(0.0, f64::max);
        let mut values = totals.clone();
        values.push(max_total + label_w / plot_w.max(50.0) * (first.hi - first.lo) * 1.15);
        let xa = axis::build(&spec, &values);

        let entries: Vec<Entry> = phases
            .iter()
            .zip(&colours)
            .map(|(p, (c, a))| Entry::new(Symbol::Swatch(*c, *a), p.clone()))
            .collect();
        let desc = format!(
            "Stacked horizontal bars of {} per case for {} cases ({}), split into phases ({}).",
            xa.title,
            n,
            list_labels(full.iter().map(String::as_str)),
            list_labels(phases.iter().map(String::as_str))
        );
        frame::render(size, &self.title, &desc, |c| {
            c.legend(&entries, 0.2)?;
            let rect = c.rest();
            let plot = frame::frame(c.root, rect, xa, axis::categorical(n), &opts)?;
            hbar::draw_labels(c.overlay, &plot, &shown, &full);
            if totals.iter().all(|t| *t <= 0.0) {
                plot.no_data(c.overlay);
            }
            let half = hbar::half_height(&plot, n);
            for (i, (_, parts)) in cases.iter().enumerate() {
                let y = plot.sy(hbar::row_pos(i, n));
                let mut acc = 0.0;
                for &(k, s) in parts {
                    let (Some(a), Some(b)) = (plot.cx(acc), plot.cx(acc + s)) else {
                        continue;
                    };
                    acc += s;
                    shapes::rect(
                        c.root,
                        (a, y - half),
                        (b, y + half),
                        colours[k].0.mix(colours[k].1),
                    )?;
                    // A hairline between segments so equal colours never merge.
                    shapes::polyline(c.root, &[(b, y - half), (b, y + half)], FG.mix(0.5), 1)?;
                    let text = crate::units::duration(s);
                    if svg::text_width(&text, style::SMALL_PX) + 6.0 <= b - a && half * 2.0 >= 12.0
                    {
                        c.overlay.text(
                            &Text::new((a + b) / 2.0, y, &text, style::SMALL_PX)
                                .anchor(Anchor::Middle),
                        );
                    }
                }
                if let Some(end) = plot.cx(acc) {
                    let total = if parts.is_empty() {
                        "n/a".to_string()
                    } else {
                        crate::units::duration(acc)
                    };
                    c.overlay
                        .text(&Text::new(end + 5.0, y, &total, style::TICK_PX).bold());
                }
            }
            Ok(())
        })
    }
}
