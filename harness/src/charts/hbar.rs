//! Layout shared by the horizontal bar charts (speedup, phase breakdown): one row per case,
//! case labels left of the plot, and a drawing that grows taller when there are many rows so
//! labels never overlap.

use super::frame::Plot;
use super::style;
use super::svg::{self, Anchor, Baseline, Overlay, Text};
use super::ChartSize;

/// Pixels per row below which labels would collide.
const MIN_ROW: f64 = 20.0;
/// Height taken by title, legend, axis and axis title, roughly.
const CHROME: f64 = 130.0;

/// `size`, made taller when `rows` rows would not get `MIN_ROW` pixels each (up to the
/// largest size allowed).
pub(crate) fn grow(size: ChartSize, rows: usize) -> ChartSize {
    let need = (CHROME + rows as f64 * MIN_ROW).ceil();
    let max = f64::from(ChartSize::MAX_SIDE);
    let height = f64::from(size.height).max(need.min(max));
    ChartSize {
        width: size.width,
        height: height as u32,
    }
}

/// Row labels shortened to at most a third of the width, and the room they need.
pub(crate) fn labels(rows: &[String], width: u32) -> (Vec<(String, bool)>, f64) {
    let max_w = f64::from(width) * 0.33;
    let shown: Vec<(String, bool)> = rows
        .iter()
        .map(|l| svg::fit_middle(l, style::TICK_PX, max_w))
        .collect();
    let w = shown
        .iter()
        .map(|(s, _)| svg::text_width(s, style::TICK_PX))
        .fold(0.0, f64::max);
    (shown, w + 12.0)
}

/// Plot-space y of row `i` of `n` (row 0 at the top) on a categorical y axis.
pub(crate) fn row_pos(i: usize, n: usize) -> f64 {
    n.saturating_sub(i + 1) as f64 + 0.5
}

/// Half the pixel height of a bar: 60 % of a row, at most 14 px.
pub(crate) fn half_height(plot: &Plot, n: usize) -> f64 {
    let row = plot.rect().h / n.max(1) as f64;
    (row * 0.3).min(14.0)
}

/// Draw the row labels right-aligned against the plot's left edge.
pub(crate) fn draw_labels(
    overlay: &mut Overlay,
    plot: &Plot,
    shown: &[(String, bool)],
    full: &[String],
) {
    let x = plot.rect().x - 8.0;
    let n = shown.len();
    // Past the tallest drawing, rows get thinner than a line: label every n-th row only.
    let row = plot.rect().h / n.max(1) as f64;
    let every = ((style::TICK_PX + 2.0) / row.max(1e-3)).ceil().max(1.0) as usize;
    for (i, ((s, cut), f)) in shown.iter().zip(full).enumerate().step_by(every) {
        let y = plot.sy(row_pos(i, n));
        overlay.text(
            &Text::new(x, y, s, style::TICK_PX)
                .anchor(Anchor::End)
                .baseline(Baseline::Middle)
                .tooltip(cut.then_some(f.as_str())),
        );
    }
}
