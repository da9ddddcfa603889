//! Latency distributions: empirical CDFs (`CdfChart`) and box plots (`BoxChart`).
//!
//! How to read the CDF: for a latency on the x axis, a line's height is the fraction of
//! requests that finished at least that fast. Lines further left are faster; a line that
//! rises steeply is consistent, a long flat stretch before reaching 1 is a slow tail. The
//! markers sit at the median (p50), p90 and p99, which the legend also prints. When values
//! span more than a factor of ~30 the x axis turns logarithmic.
//!
//! How to read the box plot: the box spans the middle half of the requests (first to third
//! quartile) with a line at the median; whiskers reach the furthest values within 1.5 box
//! heights of the box (Tukey); dots beyond are outliers (the most extreme ones, capped).
//!
//! Both accept millions of values: they are sorted once (`f64::total_cmp`, non-finite values
//! dropped) and only a few hundred points per series reach the SVG.

use plotters::style::Color;

use super::axis::{self, AxisSpec, ScalePolicy, Unit};
use super::categories::CategoryLabels;
use super::frame::{self, FrameOpts};
use super::legend::{Entry, Symbol};
use super::shapes;
use super::style::{self, FG};
use super::svg::{self, Text};
use super::xy::list_labels;
use super::{ChartError, ChartSize};

/// Most points drawn per CDF line.
pub const MAX_CDF_POINTS: usize = 512;

/// Most outliers drawn per box; the most extreme ones on each side are kept.
pub const MAX_OUTLIERS: usize = 40;

/// One distribution: a label and raw samples in seconds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CdfSeries {
    /// Legend text, e.g. the case name.
    pub label: String,
    /// Samples in seconds, in any order; non-finite values are ignored.
    pub values: Vec<f64>,
}

/// Input of the CDF chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CdfChart {
    /// Chart title.
    pub title: String,
    /// What the samples measure, without unit, e.g. "time to first token" or "inter-token
    /// latency". The unit (s, ms or µs, chosen from the data) is appended by the chart.
    pub x_label: String,
    /// One line per series.
    pub series: Vec<CdfSeries>,
}

/// Sorted usable samples.
fn sorted(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values
        .iter()
        .copied()
        .filter(|v| axis::usable(*v))
        .collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The nearest-rank `p`-quantile of sorted, non-empty data.
fn quantile(s: &[f64], p: f64) -> f64 {
    let n = s.len();
    let rank = (p * n as f64).ceil() as usize;
    s[rank.clamp(1, n) - 1]
}

/// The points of an empirical CDF of sorted data, at most `MAX_CDF_POINTS` of them:
/// an exact step function for small samples; otherwise evenly spaced ranks plus extra
/// ranks in the upper tail (p99, p99.9, ... and the maximum), where latency lives.
pub(crate) fn cdf_points(s: &[f64]) -> Vec<(f64, f64)> {
    let n = s.len();
    if n == 0 {
        return Vec::new();
    }
    let nf = n as f64;
    if 2 * n <= MAX_CDF_POINTS {
        let mut out = Vec::with_capacity(2 * n);
        for (i, &x) in s.iter().enumerate() {
            out.push((x, i as f64 / nf));
            out.push((x, (i + 1) as f64 / nf));
        }
        return out;
    }
    let uniform = MAX_CDF_POINTS - 64;
    let mut ranks: Vec<usize> = (0..uniform)
        .map(|k| ((k as f64 / (uniform - 1) as f64) * (nf - 1.0)).round() as usize)
        .collect();
    // Tail ranks at p = 1 - 10^-a for a = 2.0, 2.1, ... up to the resolution of the data.
    let mut a = 2.0;
    while a <= nf.log10() && ranks.len() < MAX_CDF_POINTS - 1 {
        let p = 1.0 - 10f64.powf(-a);
        ranks.push(((p * nf).ceil() as usize).clamp(1, n) - 1);
        a += 0.1;
    }
    ranks.push(n - 1);
    ranks.sort_unstable();
    ranks.dedup();
    ranks
        .into_iter()
        .map(|r| (s[r], (r + 1) as f64 / nf))
        .collect()
}

impl CdfChart {
    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        size.check()?;
        let series: Vec<(String, Vec<f64>)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let l = svg::clean(&s.label);
                let l = if l.is_empty() {
                    format!("series {}", i + 1)
                } else {
                    l
                };
                (l, sorted(&s.values))
            })
            .collect();
        let x_name = svg::clean(&self.x_label);
        let x_name = if x_name.is_empty() {
            "latency".to_string()
        } else {
            x_name
        };
        let x_spec = AxisSpec::new(&x_name, Unit::Seconds);
        // The axis only needs each series' extremes.
        let ends: Vec<f64> = series
            .iter()
            .flat_map(|(_, s)| [s.first(), s.last()].into_iter().flatten().copied())
            .collect();
        let xa = axis::build(&x_spec, &ends);
        let ya = axis::build(
            &AxisSpec::new("fraction of requests", Unit::None)
                .scale(ScalePolicy::Linear)
                .fixed(0.0, 1.0)
                .ticks(5),
            &[],
        );
        let entries: Vec<Entry> = series
            .iter()
            .enumerate()
            .map(|(i, (l, s))| {
                let stats = if s.is_empty() {
                    "no data".to_string()
                } else {
                    format!(
                        "p50 {}, p99 {}, n={}",
                        crate::units::duration(quantile(s, 0.5)),
                        crate::units::duration(quantile(s, 0.99)),
                        crate::units::compact(s.len() as f64, 0),
                    )
                };
                Entry::new(Symbol::Line(i), format!("{l} — {stats}"))
            })
            .collect();
        let desc = format!(
            "Empirical cumulative distribution of {} for {}: fraction of requests (0 to 1) \
             against {} on a {} axis; lines further left are faster.",
            x_name,
            list_labels(series.iter().map(|(l, _)| l.as_str())),
            xa.title,
            frame::scale_word(&xa)
        );
        frame::render(size, &self.title, &desc, |c| {
            c.legend(&entries, 0.25)?;
            let rect = c.rest();
            let plot = frame::frame(c.root, rect, xa, ya, &FrameOpts::default())?;
            if series.iter().all(|(_, s)| s.is_empty()) {
                plot.no_data(c.overlay);
            }
            for (i, (_, s)) in series.iter().enumerate() {
                let pts: Vec<(f64, f64)> = cdf_points(s)
                    .into_iter()
                    .filter_map(|(x, y)| plot.map(x, y))
                    .collect();
                shapes::series_line(c.root, &pts, i)?;
            }
            for (i, (_, s)) in series.iter().enumerate() {
                if s.is_empty() {
                    continue;
                }
                for p in [0.5, 0.9, 0.99] {
                    if let Some(at) = plot.map(quantile(s, p), p) {
                        shapes::marker(c.root, at, i, 3.5)?;
                    }
                }
            }
            Ok(())
        })
    }
}

/// One box: a label and raw samples in seconds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoxSeries {
    /// Case label under the box.
    pub label: String,
    /// Samples in seconds, in any order; non-finite values are ignored.
    pub values: Vec<f64>,
}

/// Input of the box plot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoxChart {
    /// Chart title.
    pub title: String,
    /// What the samples measure, without unit (appended by the chart), e.g. "inter-token
    /// latency".
    pub y_label: String,
    /// One box per case, left to right.
    pub boxes: Vec<BoxSeries>,
}

/// Tukey box statistics of sorted, non-empty data.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoxStats {
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub lo_whisker: f64,
    pub hi_whisker: f64,
    /// Outliers drawn (at most `MAX_OUTLIERS`, the most extreme on each side).
    pub outliers: Vec<f64>,
    /// Outliers not drawn.
    pub hidden: usize,
}

/// Linear-interpolated quantile (type 7), the usual choice for box plots.
fn interp(s: &[f64], p: f64) -> f64 {
    let h = (s.len() - 1) as f64 * p;
    let (i, f) = (h.floor() as usize, h - h.floor());
    match s.get(i + 1) {
        Some(next) => s[i] + (next - s[i]) * f,
        None => s[i],
    }
}

pub(crate) fn box_stats(s: &[f64]) -> Option<BoxStats> {
    if s.is_empty() {
        return None;
    }
    let (q1, median, q3) = (interp(s, 0.25), interp(s, 0.5), interp(s, 0.75));
    let iqr = q3 - q1;
    let (lo_fence, hi_fence) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
    let lo_n = s.partition_point(|v| *v < lo_fence);
    let hi_start = s.partition_point(|v| *v <= hi_fence);
    let lo_whisker = s.get(lo_n).copied().unwrap_or(q1).min(q1);
    let hi_whisker = s[..hi_start].last().copied().unwrap_or(q3).max(q3);
    let half = MAX_OUTLIERS / 2;
    let low: Vec<f64> = s[..lo_n].iter().take(half).copied().collect();
    let high_all = &s[hi_start..];
    let high: Vec<f64> = high_all[high_all.len().saturating_sub(half)..].to_vec();
    let hidden = lo_n + high_all.len() - low.len() - high.len();
    Some(BoxStats {
        q1,
        median,
        q3,
        lo_whisker,
        hi_whisker,
        outliers: low.into_iter().chain(high).collect(),
        hidden,
    })
}

impl BoxChart {
    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        size.check()?;
        let labels: Vec<String> = self.boxes.iter().map(|b| svg::clean(&b.label)).collect();
        let stats: Vec<Option<BoxStats>> = self
            .boxes
            .iter()
            .map(|b| box_stats(&sorted(&b.values)))
            .collect();
        let n = stats.len();
        let values: Vec<f64> = stats
            .iter()
            .flatten()
            .flat_map(|b| {
                [b.lo_whisker, b.hi_whisker]
                    .into_iter()
                    .chain(b.outliers.iter().copied())
            })
            .collect();
        let y_name = svg::clean(&self.y_label);
        let y_name = if y_name.is_empty() {
            "latency".to_string()
        } else {
            y_name
        };
        let ya = axis::build(&AxisSpec::new(&y_name, Unit::Seconds), &values);
        let hidden: usize = stats.iter().flatten().map(|b| b.hidden).sum();
        let desc = format!(
            "Box plot of {} for {} cases ({}): boxes span the quartiles with a line at the \
             median, whiskers reach 1.5 IQR, dots are outliers; {} axis.",
            ya.title,
            n,
            list_labels(labels.iter().map(String::as_str)),
            frame::scale_word(&ya)
        );
        frame::render(size, &self.title, &desc, |c| {
            if hidden > 0 {
                let note = format!(
                    "{hidden} outliers not drawn; only the {} most extreme on each side are shown",
                    MAX_OUTLIERS / 2
                );
                c.legend(&[Entry::new(Symbol::None, note)], 0.1)?;
            }
            let rect = c.rest();
            let mut opts = FrameOpts::default();
            let plot_w = frame::plot_width(rect, &ya, &opts);
            let slot = plot_w / n.max(1) as f64;
            let first_centre = rect.x + frame::left_room(&ya, &opts) + slot / 2.0;
            let cats = CategoryLabels::layout(&labels, slot, rect.h * 0.3, first_centre);
            opts.bottom_labels = Some(cats.room);
            opts.x_title = false;
            let plot = frame::frame(c.root, rect, axis::categorical(n), ya, &opts)?;
            let r = plot.rect();
            let centres: Vec<f64> = (0..n).map(|i| plot.sx(i as f64 + 0.5)).collect();
            cats.draw(c.overlay, &centres, r.y + r.h);
            if stats.iter().all(Option::is_none) {
                plot.no_data(c.overlay);
            }
            let half = (slot * 0.3).min(40.0);
            for (i, st) in stats.iter().enumerate() {
                let x = centres[i];
                let Some(b) = st else {
                    c.overlay.text(
                        &Text::new(x, r.y + r.h - 10.0, "no data", style::SMALL_PX)
                            .anchor(svg::Anchor::Middle)
                            .opacity(0.7),
                    );
                    continue;
                };
                let colour = style::colour(i);
                let y = |v: f64| plot.cy(v);
                let (Some(q1), Some(med), Some(q3), Some(wl), Some(wh)) = (
                    y(b.q1),
                    y(b.median),
                    y(b.q3),
                    y(b.lo_whisker),
                    y(b.hi_whisker),
                ) else {
                    continue;
                };
                shapes::polyline(c.root, &[(x, wl), (x, q1)], FG.mix(0.85), 1)?;
                shapes::polyline(c.root, &[(x, q3), (x, wh)], FG.mix(0.85), 1)?;
                for w in [wl, wh] {
                    shapes::polyline(
                        c.root,
                        &[(x - half / 2.0, w), (x + half / 2.0, w)],
                        FG.mix(0.85),
                        1,
                    )?;
                }
                shapes::rect(c.root, (x - half, q1), (x + half, q3), colour.mix(0.55))?;
                shapes::polyline(c.root, &[(x - half, med), (x + half, med)], FG.to_rgba(), 2)?;
                for o in &b.outliers {
                    if let Some(oy) = y(*o) {
                        shapes::dot(c.root, (x, oy), 2.0, FG.mix(0.6))?;
                    }
                }
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdf_points_are_capped_and_monotone() {
        let s: Vec<f64> = (0..1_000_000).map(|i| f64::from(i) * 1e-6).collect();
        let p = cdf_points(&s);
        assert!(p.len() <= MAX_CDF_POINTS);
        assert!(p.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        assert_eq!(p.last().map(|l| l.1), Some(1.0));
        let small = cdf_points(&[1.0, 2.0]);
        assert_eq!(small, vec![(1.0, 0.0), (1.0, 0.5), (2.0, 0.5), (2.0, 1.0)]);
    }

    #[test]
    fn box_stats_follow_tukey() {
        let mut s: Vec<f64> = (1..=100).map(f64::from).collect();
        s.push(1000.0);
        let b = box_stats(&s).expect("stats");
        assert_eq!(b.outliers, vec![1000.0]);
        assert_eq!(b.hi_whisker, 100.0);
        assert_eq!(b.lo_whisker, 1.0);
        assert_eq!(quantile(&s, 0.5), 51.0);
    }
}
