//! Drawing primitives for data, in pixel coordinates on the root area: lines (with the
//! per-series sentinel that becomes colour and dashes), polygons, bars, whiskers, markers.
//! Coordinates are clamped and dense runs thinned here, so no caller can make plotters
//! overflow or emit one point per sample.

use plotters::prelude::*;

use super::canvas::{draw_err, Root};
use super::style::{self, Marker};
use super::ChartError;

/// Pixel coordinates for plotters, clamped so that arithmetic inside plotters cannot
/// overflow whatever the data.
fn ip((x, y): (f64, f64)) -> (i32, i32) {
    let c = |v: f64| {
        if v.is_finite() {
            v.round().clamp(-20_000.0, 20_000.0) as i32
        } else {
            0
        }
    };
    (c(x), c(y))
}

fn stroke(colour: RGBAColor, width: u32) -> ShapeStyle {
    ShapeStyle {
        color: colour,
        filled: false,
        stroke_width: width,
    }
}

fn fill(colour: RGBAColor) -> ShapeStyle {
    ShapeStyle {
        color: colour,
        filled: true,
        stroke_width: 0,
    }
}

/// A polyline through pixel points, skipping repeats of the same pixel (downsampled data
/// often lands several points on one).
pub(crate) fn polyline(
    root: &Root<'_>,
    pts: &[(f64, f64)],
    colour: RGBAColor,
    width: u32,
) -> Result<(), ChartError> {
    let mut v: Vec<(i32, i32)> = Vec::with_capacity(pts.len());
    for p in pts {
        let q = ip(*p);
        if v.last() != Some(&q) {
            v.push(q);
        }
    }
    let v = thin_columns(v);
    if v.len() < 2 {
        return Ok(());
    }
    root.draw(&PathElement::new(v, stroke(colour, width)))
        .map_err(draw_err)
}

/// Within each run of consecutive points in one pixel column keep only the first, the
/// lowest, the highest and the last (in their order): the drawn line looks the same and a
/// dense series costs at most four points per column.
fn thin_columns(v: Vec<(i32, i32)>) -> Vec<(i32, i32)> {
    let mut out = Vec::with_capacity(v.len().min(4096));
    let mut i = 0;
    while i < v.len() {
        let x = v[i].0;
        let mut j = i;
        while j < v.len() && v[j].0 == x {
            j += 1;
        }
        let run = &v[i..j];
        if run.len() <= 4 {
            out.extend_from_slice(run);
        } else {
            let lowest = (0..run.len()).min_by_key(|&k| run[k].1).unwrap_or(0);
            let highest = (0..run.len()).max_by_key(|&k| run[k].1).unwrap_or(0);
            let mut keep = [0, lowest, highest, run.len() - 1];
            keep.sort_unstable();
            let mut last = None;
            for k in keep {
                if last != Some(k) {
                    out.push(run[k]);
                    last = Some(k);
                }
            }
        }
        i = j;
    }
    out
}

/// The line of series `index`: its sentinel is rewritten to the series colour and dashes.
pub(crate) fn series_line(
    root: &Root<'_>,
    pts: &[(f64, f64)],
    index: usize,
) -> Result<(), ChartError> {
    polyline(
        root,
        pts,
        style::line_sentinel(index).to_rgba(),
        style::LINE_WIDTH,
    )
}

/// A filled polygon through pixel points.
pub(crate) fn polygon(
    root: &Root<'_>,
    pts: &[(f64, f64)],
    colour: RGBAColor,
) -> Result<(), ChartError> {
    if pts.len() < 3 {
        return Ok(());
    }
    let mut v: Vec<(i32, i32)> = Vec::with_capacity(pts.len());
    for p in pts {
        let q = ip(*p);
        if v.last() != Some(&q) {
            v.push(q);
        }
    }
    let v = thin_columns(v);
    root.draw(&Polygon::new(v, fill(colour))).map_err(draw_err)
}

/// A filled rectangle between two pixel corners (any order).
pub(crate) fn rect(
    root: &Root<'_>,
    a: (f64, f64),
    b: (f64, f64),
    colour: RGBAColor,
) -> Result<(), ChartError> {
    let (a, b) = (ip(a), ip(b));
    let tl = (a.0.min(b.0), a.1.min(b.1));
    let br = (a.0.max(b.0), a.1.max(b.1));
    root.draw(&Rectangle::new([tl, br], fill(colour)))
        .map_err(draw_err)
}

/// An interval whisker with end caps, vertical (`vertical`) or horizontal, from `a` to `b`
/// along the axis at cross position `at`.
pub(crate) fn whisker(
    root: &Root<'_>,
    vertical: bool,
    at: f64,
    a: f64,
    b: f64,
    colour: RGBAColor,
) -> Result<(), ChartError> {
    let cap = 4.0;
    let p = |along: f64, across: f64| {
        if vertical {
            (across, along)
        } else {
            (along, across)
        }
    };
    polyline(root, &[p(a, at), p(b, at)], colour, 1)?;
    polyline(root, &[p(a, at - cap), p(a, at + cap)], colour, 1)?;
    polyline(root, &[p(b, at - cap), p(b, at + cap)], colour, 1)
}

/// A filled dot of radius `r` pixels.
pub(crate) fn dot(
    root: &Root<'_>,
    at: (f64, f64),
    r: f64,
    colour: RGBAColor,
) -> Result<(), ChartError> {
    root.draw(&Circle::new(
        ip(at),
        r.round().max(1.0) as u32,
        fill(colour),
    ))
    .map_err(draw_err)
}

/// The marker of series `index` centred on a pixel point, `r` pixels in radius.
pub(crate) fn marker(
    root: &Root<'_>,
    at: (f64, f64),
    index: usize,
    r: f64,
) -> Result<(), ChartError> {
    let c = style::colour(index).to_rgba();
    let (x, y) = at;
    let poly = |pts: &[(f64, f64)]| {
        let v: Vec<(f64, f64)> = pts.iter().map(|(dx, dy)| (x + dx, y + dy)).collect();
        polygon(root, &v, c)
    };
    match style::marker(index) {
        Marker::Circle => dot(root, at, r, c),
        Marker::Triangle => poly(&[(0.0, -r * 1.2), (r * 1.1, r * 0.8), (-r * 1.1, r * 0.8)]),
        Marker::InvTriangle => poly(&[(0.0, r * 1.2), (r * 1.1, -r * 0.8), (-r * 1.1, -r * 0.8)]),
        Marker::Square => poly(&[
            (-r * 0.9, -r * 0.9),
            (r * 0.9, -r * 0.9),
            (r * 0.9, r * 0.9),
            (-r * 0.9, r * 0.9),
        ]),
        Marker::Diamond => poly(&[
            (0.0, -r * 1.3),
            (r * 1.1, 0.0),
            (0.0, r * 1.3),
            (-r * 1.1, 0.0),
        ]),
        Marker::Cross => {
            let d = r * 1.0;
            polyline(root, &[(x - d, y - d), (x + d, y + d)], c, 2)?;
            polyline(root, &[(x - d, y + d), (x + d, y - d)], c, 2)
        }
        Marker::Plus => {
            let d = r * 1.25;
            polyline(root, &[(x - d, y), (x + d, y)], c, 2)?;
            polyline(root, &[(x, y - d), (x, y + d)], c, 2)
        }
    }
}
