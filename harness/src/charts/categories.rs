//! Labels of a categorical x axis (cases under grouped bars or box plots).

use super::style;
use super::svg::{self, Anchor, Baseline, Overlay, Text};

/// Hand-drawn category labels under a plot (for categorical x axes): horizontal when they
/// fit their slot, otherwise turned 35° (or 90° when slots are too narrow for that) and
/// shortened, with the full text as a tooltip; when even upright labels would collide, only
/// every n-th category is labelled.
pub(crate) struct CategoryLabels {
    /// Shortened labels and whether each was shortened.
    labels: Vec<(String, bool)>,
    full: Vec<String>,
    /// Clockwise-negative rotation in degrees (0, -35 or -90).
    angle: f64,
    /// Label every n-th category only.
    every: usize,
    /// Room needed below the plot, tick labels only (the axis title comes on top of it).
    pub room: f64,
}

impl CategoryLabels {
    /// Lay out `labels` (cleaned) for slots of `slot_w` pixels; turned labels take at most
    /// `max_room` pixels below the axis and do not run past the left edge of the drawing,
    /// whose first slot centre is `first_centre` pixels from it.
    pub(crate) fn layout(labels: &[String], slot_w: f64, max_room: f64, first_centre: f64) -> Self {
        let px = style::TICK_PX;
        let fits = labels
            .iter()
            .all(|l| svg::text_width(l, px) <= slot_w - 6.0);
        if fits {
            return Self {
                labels: labels.iter().map(|l| (l.clone(), false)).collect(),
                full: labels.to_vec(),
                angle: 0.0,
                every: 1,
                room: px + 12.0,
            };
        }
        // Parallel turned labels are slot_w * sin(angle) apart; they need a line's height.
        let slanted = 35f64.to_radians();
        let (angle, every) = if slot_w * slanted.sin() >= px + 2.0 {
            (-35.0, 1)
        } else {
            (
                -90.0,
                ((px + 2.0) / slot_w.max(1e-3)).ceil().max(1.0) as usize,
            )
        };
        let rad = f64::abs(angle).to_radians();
        let max_len = if angle == -90.0 {
            max_room
        } else {
            (max_room / rad.sin()).min((first_centre - 2.0) / rad.cos())
        }
        .max(30.0);
        let shown: Vec<(String, bool)> = labels
            .iter()
            .map(|l| svg::fit_middle(l, px, max_len))
            .collect();
        let longest = shown
            .iter()
            .map(|(s, _)| svg::text_width(s, px))
            .fold(0.0, f64::max);
        Self {
            labels: shown,
            full: labels.to_vec(),
            angle,
            every,
            room: longest * rad.sin() + px * rad.cos() + 12.0,
        }
    }

    /// Draw the labels under the plot's bottom edge at the given pixel x centres.
    pub(crate) fn draw(&self, overlay: &mut Overlay, centres: &[f64], bottom: f64) {
        let items = self.labels.iter().zip(centres.iter().zip(self.full.iter()));
        for ((label, cut), (x, full)) in items.step_by(self.every.max(1)) {
            let tip = cut.then_some(full.as_str());
            let text = if self.angle == 0.0 {
                Text::new(*x, bottom + 7.0, label, style::TICK_PX)
                    .anchor(Anchor::Middle)
                    .baseline(Baseline::Top)
            } else {
                // Anchored at its end, so the turned label hangs down and left from its slot.
                let dx = if self.angle == -90.0 { 0.0 } else { 3.0 };
                Text::new(*x + dx, bottom + 8.0, label, style::TICK_PX)
                    .anchor(Anchor::End)
                    .baseline(Baseline::Middle)
                    .rotate(self.angle)
            };
            overlay.text(&text.tooltip(tip));
        }
    }
}
