//! Power over time: one line per rail (CPU, GPU, ANE, combined...), with the run's phases
//! (prefill, decode, idle, denoise...) shaded behind them and the energy per phase listed.
//!
//! How to read it: the height of a line is the power the rail drew at that moment; shaded
//! bands show which phase was running (the legend names each fill, and wide bands carry their
//! name). Long traces are reduced to one value per pixel column: the line is the mean of the
//! samples in the column and the light envelope around it spans their minimum to maximum, so
//! short spikes stay visible. A gap in the line is a gap in the samples.

use plotters::style::{Color, RGBColor};

use super::axis::{self, AxisSpec, ScalePolicy, Unit};
use super::frame::{self, FrameOpts, Plot, Root};
use super::legend::{Entry, Symbol};
use super::shapes;
use super::style::{self, FG};
use super::svg::{self, Baseline, Text};
use super::xy::list_labels;
use super::{ChartError, ChartSize};

/// One power rail's samples.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RailSeries {
    /// Legend text, e.g. "combined (cpu+gpu+ane)".
    pub label: String,
    /// `(t, watts)` samples, `t` in seconds from any origin, in any order; samples with a
    /// non-finite value are ignored.
    pub points: Vec<(f64, f64)>,
}

/// A span of time during which one phase ran.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhaseSpan {
    /// Phase kind, e.g. "prefill", "decode", "idle", "denoise". Spans of the same kind share a
    /// fill and one legend entry.
    pub label: String,
    /// Start, in the same seconds as the rail samples.
    pub start_s: f64,
    /// End, in the same seconds as the rail samples.
    pub end_s: f64,
}

/// Input of the power chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PowerChart {
    /// Chart title.
    pub title: String,
    /// Power rails, one line each.
    pub rails: Vec<RailSeries>,
    /// Phases to shade.
    pub phases: Vec<PhaseSpan>,
    /// Energy per phase in joules, e.g. `("decode", 412.0)`. A note whose label names a
    /// phase kind is shown in that phase's legend entry; others get their own entry.
    pub energy_note: Vec<(String, f64)>,
}

/// Opacity of phase fills: light enough for lines to stay readable in both themes.
const PHASE_OPACITY: f64 = 0.14;
/// Opacity of the neutral (idle) fill, drawn in `currentColor`.
const IDLE_OPACITY: f64 = 0.07;

/// A phase kind with its fill.
struct Kind {
    label: String,
    colour: RGBColor,
    opacity: f64,
}

fn key(s: &str) -> String {
    s.trim().to_lowercase()
}

impl PowerChart {
    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        size.check()?;
        let rails: Vec<(String, Vec<(f64, f64)>)> = self
            .rails
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut pts: Vec<(f64, f64)> = r
                    .points
                    .iter()
                    .copied()
                    .filter(|(t, w)| axis::usable(*t) && axis::usable(*w))
                    .collect();
                pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                let l = svg::clean(&r.label);
                (
                    if l.is_empty() {
                        format!("rail {}", i + 1)
                    } else {
                        l
                    },
                    pts,
                )
            })
            .collect();
        let mut kinds: Vec<Kind> = Vec::new();
        let mut spans: Vec<(usize, f64, f64)> = Vec::new();
        for p in &self.phases {
            if !(axis::usable(p.start_s) && axis::usable(p.end_s)) {
                continue;
            }
            let label = svg::clean(&p.label);
            let label = if label.is_empty() {
                "phase".to_string()
            } else {
                label
            };
            let k = match kinds.iter().position(|k| key(&k.label) == key(&label)) {
                Some(k) => k,
                None => {
                    let unknown = kinds.len();
                    let (colour, opacity) = match style::phase_colour(&label, unknown) {
                        Some(c) => (c, PHASE_OPACITY),
                        None => (FG, IDLE_OPACITY),
                    };
                    kinds.push(Kind {
                        label,
                        colour,
                        opacity,
                    });
                    kinds.len() - 1
                }
            };
            spans.push((k, p.start_s.min(p.end_s), p.start_s.max(p.end_s)));
        }

        let mut ts: Vec<f64> = rails
            .iter()
            .flat_map(|(_, p)| [p.first(), p.last()].into_iter().flatten().map(|p| p.0))
            .collect();
        ts.extend(spans.iter().flat_map(|s| [s.1, s.2]));
        let watts: Vec<f64> = rails
            .iter()
            .flat_map(|(_, p)| p.iter().map(|p| p.1))
            .collect();
        // The time axis spans exactly the trace: rounding it out to a tick would leave an
        // empty stretch that reads like a gap in the samples.
        let t_lo = ts.iter().copied().fold(f64::INFINITY, f64::min);
        let t_hi = ts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mut x_spec = AxisSpec::new("time", Unit::Seconds)
            .scale(ScalePolicy::Linear)
            .ticks(8);
        if t_lo < t_hi {
            x_spec = x_spec.fixed(t_lo, t_hi);
        }
        let xa = axis::build(&x_spec, &ts);
        let ya = axis::build(
            &AxisSpec::new("power", Unit::Fixed("W".into()))
                .scale(ScalePolicy::Linear)
                .zero(),
            &watts,
        );

        let (entries, energy_text) = self.legend(&rails, &kinds);
        let desc = format!(
            "Line chart of {} against {} for {}, with {} shaded{}.",
            ya.title,
            xa.title,
            list_labels(rails.iter().map(|(l, _)| l.as_str())),
            if kinds.is_empty() {
                "no phases".to_string()
            } else {
                format!(
                    "phases ({})",
                    list_labels(kinds.iter().map(|k| k.label.as_str()))
                )
            },
            energy_text
        );

        frame::render(size, &self.title, &desc, |c| {
            c.legend(&entries, 0.3)?;
            let rect = c.rest();
            let opts = FrameOpts {
                top: 20.0,
                ..FrameOpts::default()
            };
            let plot = frame::frame(c.root, rect, xa, ya, &opts)?;
            draw_phases(c.root, c.overlay, &plot, &kinds, &spans)?;
            if rails.iter().all(|(_, p)| p.is_empty()) {
                plot.no_data(c.overlay);
            }
            for (i, (_, pts)) in rails.iter().enumerate() {
                draw_rail(c.root, &plot, pts, i)?;
            }
            Ok(())
        })
    }

    /// Legend entries (rails, phase kinds with their energy, other energy notes) and the
    /// energy summary for the description.
    fn legend(&self, rails: &[(String, Vec<(f64, f64)>)], kinds: &[Kind]) -> (Vec<Entry>, String) {
        let notes: Vec<(String, f64)> = self
            .energy_note
            .iter()
            .filter(|(_, j)| axis::usable(*j))
            .map(|(l, j)| (svg::clean(l), *j))
            .collect();
        let mut entries: Vec<Entry> = rails
            .iter()
            .enumerate()
            .map(|(i, (l, _))| Entry::new(Symbol::PlainLine(i), l.clone()))
            .collect();
        for k in kinds {
            let energy: Vec<String> = notes
                .iter()
                .filter(|(l, _)| key(l) == key(&k.label))
                .map(|(_, j)| crate::units::energy(*j))
                .collect();
            let label = if energy.is_empty() {
                k.label.clone()
            } else {
                format!("{}: {}", k.label, energy.join(", "))
            };
            entries.push(Entry::new(
                Symbol::Swatch(k.colour, k.opacity.max(0.12)),
                label,
            ));
        }
        for (l, j) in &notes {
            if !kinds.iter().any(|k| key(&k.label) == key(l)) {
                let l = if l.is_empty() { "energy" } else { l.as_str() };
                entries.push(Entry::new(
                    Symbol::None,
                    format!("{l}: {}", crate::units::energy(*j)),
                ));
            }
        }
        let text = if notes.is_empty() {
            String::new()
        } else {
            let parts: Vec<String> = notes
                .iter()
                .map(|(l, j)| format!("{l} {}", crate::units::energy(*j)))
                .collect();
            format!("; energy: {}", parts.join(", "))
        };
        (entries, text)
    }
}

/// Shade each phase span over the full plot height and name it when it is wide enough.
fn draw_phases(
    root: &Root<'_>,
    overlay: &mut svg::Overlay,
    plot: &Plot,
    kinds: &[Kind],
    spans: &[(usize, f64, f64)],
) -> Result<(), ChartError> {
    let r = plot.rect();
    for &(k, a, b) in spans {
        let (Some(x0), Some(x1)) = (plot.cx(a), plot.cx(b)) else {
            continue;
        };
        let kind = &kinds[k];
        shapes::rect(
            root,
            (x0, r.y),
            (x1, r.y + r.h),
            kind.colour.mix(kind.opacity),
        )?;
        let (text, cut) = svg::fit(&kind.label, style::SMALL_PX, x1 - x0 - 4.0);
        if !cut {
            overlay.text(
                &Text::new((x0 + x1) / 2.0, r.y - 4.0, &text, style::SMALL_PX)
                    .anchor(svg::Anchor::Middle)
                    .baseline(Baseline::Alphabetic)
                    .opacity(0.8),
            );
        }
    }
    Ok(())
}

/// Per pixel column: (pixel x, min, max, mean) of the samples in it, in runs split at gaps.
fn columns(plot: &Plot, pts: &[(f64, f64)]) -> Vec<Vec<(f64, f64, f64, f64)>> {
    // A gap is a pause between samples over 5x the median interval (a lost sampler), and at
    // least two pixel columns wide so that jittery sampling does not break the line.
    let mut dts: Vec<f64> = pts.windows(2).map(|w| w[1].0 - w[0].0).collect();
    let gap = if dts.is_empty() {
        f64::INFINITY
    } else {
        let mid = dts.len() / 2;
        let (_, m, _) = dts.select_nth_unstable_by(mid, f64::total_cmp);
        *m * 5.0
    };
    let mut runs = Vec::new();
    let mut run: Vec<(f64, f64, f64, f64)> = Vec::new();
    let mut cur: Option<(i64, f64, f64, f64, usize)> = None;
    let mut prev_t: Option<(f64, f64)> = None;
    for &(t, w) in pts {
        let (Some(x), Some(y)) = (plot.x.pos(t), plot.y.pos(w)) else {
            continue;
        };
        let (px, py) = (plot.sx(x), plot.sy(y));
        let col = px.floor() as i64;
        let is_gap = prev_t.is_some_and(|(pt, ppx)| t - pt > gap && px - ppx >= 2.0);
        prev_t = Some((t, px));
        if let Some(c) = cur {
            if c.0 != col || is_gap {
                run.push((c.0 as f64 + 0.5, c.1, c.2, c.3 / c.4 as f64));
                cur = None;
            }
        }
        if is_gap && !run.is_empty() {
            runs.push(std::mem::take(&mut run));
        }
        cur = Some(match cur {
            Some((c, lo, hi, sum, n)) => (c, lo.min(py), hi.max(py), sum + py, n + 1),
            None => (col, py, py, py, 1),
        });
    }
    if let Some(c) = cur {
        run.push((c.0 as f64 + 0.5, c.1, c.2, c.3 / c.4 as f64));
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// One rail: min/max envelope (where columns hold several samples) under the mean line.
fn draw_rail(root: &Root<'_>, plot: &Plot, pts: &[(f64, f64)], i: usize) -> Result<(), ChartError> {
    let runs = columns(plot, pts);
    for run in &runs {
        if run.iter().any(|c| c.2 - c.1 >= 1.0) {
            let mut poly: Vec<(f64, f64)> = run.iter().map(|c| (c.0, c.1)).collect();
            poly.extend(run.iter().rev().map(|c| (c.0, c.2)));
            shapes::polygon(root, &poly, style::colour(i).mix(0.3))?;
        }
        let line: Vec<(f64, f64)> = run.iter().map(|c| (c.0, c.3)).collect();
        if line.len() == 1 {
            shapes::dot(root, line[0], 2.0, style::colour(i).to_rgba())?;
        }
        shapes::series_line(root, &line, i)?;
    }
    Ok(())
}
