//! Legends, drawn above the plot (never over data) in rows that wrap to the chart's width.
//! Each entry shows the same line, marker or fill the data uses, so colour, shape and dash
//! all identify a series.

use plotters::prelude::*;

use super::canvas::{draw_err, Root};
use super::shapes;
use super::style::{self, FG};
use super::svg::{self, Overlay, Text};
use super::ChartError;

/// What an entry's symbol looks like.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Symbol {
    /// Series `index`'s line with its marker.
    Line(usize),
    /// Series `index`'s line without marker (dense data such as CDFs and power traces).
    PlainLine(usize),
    /// A filled square in series `index`'s colour (bars).
    Bar(usize),
    /// A filled square in an arbitrary colour at an opacity (phase bands).
    Swatch(RGBColor, f64),
    /// No symbol: a note.
    None,
}

/// One legend entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub symbol: Symbol,
    /// Cleaned, unescaped text.
    pub label: String,
}

impl Entry {
    pub(crate) fn new(symbol: Symbol, label: impl Into<String>) -> Self {
        Self {
            symbol,
            label: label.into(),
        }
    }
}

const ROW_H: f64 = 18.0;
const GAP: f64 = 18.0;

fn symbol_width(s: Symbol) -> f64 {
    match s {
        Symbol::Line(_) | Symbol::PlainLine(_) => 28.0,
        Symbol::Bar(_) | Symbol::Swatch(..) => 12.0,
        Symbol::None => 0.0,
    }
}

/// Draw `entries` from (x, y) within `width`; returns the height used (0 for no entries).
/// When the entries need more than `max_h`, the last row that fits ends with "+N more".
pub(crate) fn draw(
    root: &Root<'_>,
    overlay: &mut Overlay,
    entries: &[Entry],
    x: f64,
    y: f64,
    width: f64,
    max_h: f64,
) -> Result<f64, ChartError> {
    if entries.is_empty() {
        return Ok(0.0);
    }
    let px = style::LABEL_PX;
    let max_rows = ((max_h / ROW_H).floor() as usize).max(1);
    // Lay out first: (row, x offset, shown text, shortened?) per entry.
    let mut placed: Vec<(usize, f64, String, bool)> = Vec::new();
    let (mut row, mut cx) = (0usize, 0.0);
    for e in entries {
        let sym = symbol_width(e.symbol);
        let sym_gap = if sym > 0.0 { 5.0 } else { 0.0 };
        // Series names share a row; notes (no symbol) may take the whole width.
        let share = if e.symbol == Symbol::None { 1.0 } else { 0.6 };
        let (text, cut) = svg::fit_middle(&e.label, px, (width * share).min(width - sym - sym_gap));
        let w = sym + sym_gap + svg::text_width(&text, px);
        if cx > 0.0 && cx + w > width {
            row += 1;
            cx = 0.0;
        }
        placed.push((row, cx, text, cut));
        cx += w + GAP;
    }
    let rows = placed.last().map(|p| p.0 + 1).unwrap_or(0);
    let (shown, more) = if rows > max_rows {
        let keep = placed.iter().filter(|p| p.0 + 1 < max_rows).count();
        (keep, entries.len() - keep)
    } else {
        (entries.len(), 0)
    };

    for ((r, ox, text, cut), e) in placed.iter().zip(entries).take(shown) {
        let cy = y + *r as f64 * ROW_H + ROW_H / 2.0;
        let sx = x + ox;
        draw_symbol(root, e.symbol, sx, cy)?;
        let sym = symbol_width(e.symbol);
        let tx = sx + sym + if sym > 0.0 { 5.0 } else { 0.0 };
        overlay.text(&Text::new(tx, cy, text, px).tooltip(cut.then_some(e.label.as_str())));
    }
    if more > 0 {
        let note = format!("+{more} more not listed");
        let cy = y + (max_rows - 1) as f64 * ROW_H + ROW_H / 2.0;
        overlay.text(&Text::new(x, cy, &note, px).opacity(0.75));
    }
    let used_rows = rows.min(max_rows);
    Ok(used_rows as f64 * ROW_H + 4.0)
}

fn draw_symbol(root: &Root<'_>, s: Symbol, x: f64, cy: f64) -> Result<(), ChartError> {
    let square = |c: RGBAColor| shapes::rect(root, (x, cy - 6.0), (x + 12.0, cy + 6.0), c);
    match s {
        Symbol::Line(i) => {
            shapes::series_line(root, &[(x, cy), (x + 28.0, cy)], i)?;
            shapes::marker(root, (x + 14.0, cy), i, 3.5)
        }
        Symbol::PlainLine(i) => shapes::series_line(root, &[(x, cy), (x + 28.0, cy)], i),
        Symbol::Bar(i) => square(style::colour(i).to_rgba()),
        Symbol::Swatch(c, a) => {
            square(c.mix(a))?;
            // An outline so that very light fills still show against the page.
            root.draw(&Rectangle::new(
                [
                    (x as i32, (cy - 6.0) as i32),
                    ((x + 12.0) as i32, (cy + 6.0) as i32),
                ],
                ShapeStyle {
                    color: FG.mix(0.35),
                    filled: false,
                    stroke_width: 1,
                },
            ))
            .map_err(draw_err)
        }
        Symbol::None => Ok(()),
    }
}
