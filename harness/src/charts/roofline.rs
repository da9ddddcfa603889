//! The roofline: achieved FLOP rate against arithmetic intensity, under the device's two
//! ceilings.
//!
//! How to read it: the roof is the memory ceiling (bandwidth × intensity, the slope on the
//! left) up to the ridge, then the compute ceiling (flat). Each point is one case's prefill or
//! decode at its intensity (FLOPs per byte read); the gap below the roof is what the engine
//! leaves unused. Decode sits far left (about one FLOP per byte: bound by memory), prefill far
//! right (bound by compute). A point above the roof is a measurement or ceiling error. Both
//! axes are logarithmic whenever the data spans more than a factor of ~30.

use super::axis::{AxisSpec, Unit};
use super::xy::{self, Interval};
use super::{ChartError, ChartSize, Point, Series};

/// One device's two ceilings.
#[derive(Debug, Clone, PartialEq)]
pub struct Roof {
    /// Legend text, e.g. "H100 SXM bf16 (table)".
    pub label: String,
    /// Peak FLOP/s of the compute dtype.
    pub peak_flops: f64,
    /// Memory bandwidth, bytes/s.
    pub bandwidth: f64,
}

/// Input of the roofline chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RooflineChart {
    /// Chart title.
    pub title: String,
    /// The ceilings, one roof per device.
    pub roofs: Vec<Roof>,
    /// Measured points: x is FLOPs per byte, y FLOP/s; one series per target and phase.
    pub series: Vec<Series>,
}

/// y values are drawn in TFLOP/s.
const TERA: f64 = 1e12;

impl RooflineChart {
    /// The roof of `roof` over intensities `lo..hi` as a polyline: the slope, the ridge, the
    /// flat top.
    fn roof_series(roof: &Roof, lo: f64, hi: f64) -> Series {
        let ridge = roof.peak_flops / roof.bandwidth;
        let at = |x: f64| Point::new(x, (roof.bandwidth * x).min(roof.peak_flops) / TERA);
        let mut points = vec![at(lo)];
        if ridge > lo && ridge < hi {
            points.push(at(ridge));
        }
        points.push(at(hi));
        Series {
            label: format!("ceiling: {}", roof.label),
            points,
        }
    }

    /// Render the chart as an SVG document.
    pub fn render(&self, size: ChartSize) -> Result<String, ChartError> {
        let measured: Vec<Series> = self
            .series
            .iter()
            .map(|s| Series {
                label: s.label.clone(),
                points: s
                    .points
                    .iter()
                    .map(|p| Point::new(p.x, p.y / TERA))
                    .collect(),
            })
            .collect();
        let xs: Vec<f64> = measured
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.x))
            .filter(|x| x.is_finite() && *x > 0.0)
            .collect();
        let ridges = self.roofs.iter().map(|r| r.peak_flops / r.bandwidth);
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min).min(1.0) / 2.0;
        let hi = xs.iter().copied().chain(ridges).fold(0.0_f64, f64::max) * 2.0;
        let mut all: Vec<Series> = Vec::new();
        if lo.is_finite() && hi > lo {
            all.extend(self.roofs.iter().map(|r| Self::roof_series(r, lo, hi)));
        }
        all.extend(measured);
        let prepared = xy::prepare(&[&all]).remove(0);
        let x = AxisSpec::new("arithmetic intensity", Unit::Fixed("FLOP/byte".into()));
        let y = AxisSpec::new("achieved", Unit::Fixed("TFLOP/s".into()));
        let (xa, ya) = xy::axes(&prepared, &x, &y);
        let desc = format!(
            "Roofline chart: achieved {} against {} for {}, under the memory and compute \
             ceilings; a point above its roof is an error.",
            ya.title,
            xa.title,
            xy::list_labels(prepared.iter().map(|s| s.label.as_str()))
        );
        xy::Lines {
            series: &prepared,
            x: &x,
            y: &y,
            interval: Interval::Whisker,
            legend_share: 0.3,
        }
        .render(size, &self.title, &desc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roof_bends_at_the_ridge() {
        let roof = Roof {
            label: "gpu".into(),
            peak_flops: 1000e12,
            bandwidth: 4e12,
        };
        let s = RooflineChart::roof_series(&roof, 0.5, 1000.0);
        let xy: Vec<(f64, f64)> = s.points.iter().map(|p| (p.x, p.y)).collect();
        assert_eq!(xy, vec![(0.5, 2.0), (250.0, 1000.0), (1000.0, 1000.0)]);
    }

    #[test]
    fn renders_roofs_and_points_as_svg() {
        let chart = RooflineChart {
            title: "Roofline".into(),
            roofs: vec![Roof {
                label: "H100 SXM bf16".into(),
                peak_flops: 989.5e12,
                bandwidth: 3.35e12,
            }],
            series: vec![
                Series {
                    label: "qwen3-8b prefill".into(),
                    points: vec![Point::new(480.0, 337e12), Point::new(1900.0, 352e12)],
                },
                Series {
                    label: "qwen3-8b decode".into(),
                    points: vec![Point::new(1.0, 1.6e12)],
                },
            ],
        };
        let svg = chart.render(ChartSize::default()).expect("svg");
        assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
        assert!(svg.contains("ceiling: H100 SXM bf16"));
        assert!(svg.contains("qwen3-8b decode"));
        assert!(svg.contains("FLOP/byte"));
    }
}
