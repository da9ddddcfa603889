//! Colours, markers, dash patterns and font sizes shared by every chart.
//!
//! Series `i` always gets colour `i`, marker `i` and dash pattern `i`, so a series keeps its
//! look across the charts of one report and stays distinguishable in greyscale.
//! Theme-dependent ink (text, axes, grid) is drawn in a sentinel colour that `svg::finish`
//! rewrites to `currentColor`; series lines are drawn in per-series sentinels that it rewrites
//! to the series colour plus a `stroke-dasharray`, which plotters cannot emit itself.

use plotters::style::RGBColor;

/// The Okabe-Ito colour-blind-safe palette without black, as CSS hex colours, in series
/// order. Yellow comes last and is darkened (from `#F0E442`) because it is barely visible on
/// white; pages that colour tables by series can use the same list.
pub const PALETTE_HEX: [&str; 7] = [
    "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#C9B400",
];

const PALETTE: [RGBColor; 7] = [
    RGBColor(0xE6, 0x9F, 0x00),
    RGBColor(0x56, 0xB4, 0xE9),
    RGBColor(0x00, 0x9E, 0x73),
    RGBColor(0x00, 0x72, 0xB2),
    RGBColor(0xD5, 0x5E, 0x00),
    RGBColor(0xCC, 0x79, 0xA7),
    RGBColor(0xC9, 0xB4, 0x00),
];

/// The CSS colour of series `index` (the palette repeats after seven series).
pub fn series_colour(index: usize) -> &'static str {
    PALETTE_HEX[index % PALETTE_HEX.len()]
}

/// The plotters colour of series `index`, for markers, whiskers, bars and fills.
pub(crate) fn colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Dash patterns per series index. There are six (one fewer than colours and markers), so
/// series 7 and later differ from series 0.. in dash even after colour and marker repeat.
const DASHES: [&str; 6] = ["", "7 3", "2 3", "9 3 2 3", "14 4", "4 2 1 2"];

/// How many distinct line sentinels exist; a multiple of both cycle lengths (7 and 6).
const LINE_STYLES: usize = 42;

/// The theme sentinel: text, axes and grid (with opacity) are drawn in it and it becomes
/// `currentColor`. No chart colour uses the `#0102xx` range.
pub(crate) const FG: RGBColor = RGBColor(0x01, 0x02, 0x03);
/// Its hex spelling as plotters' SVG backend writes it.
pub(crate) const FG_HEX: &str = "#010203";

/// The sentinel for reference lines ("no change" at ×1): `currentColor`, dashed.
pub(crate) const REF: RGBColor = RGBColor(0x01, 0x02, 0x04);
/// Its hex spelling.
pub(crate) const REF_HEX: &str = "#010204";
/// What replaces `stroke="#010204"`.
pub(crate) const REF_ATTRS: &str = "stroke=\"currentColor\" stroke-dasharray=\"5 4\"";

/// The sentinel a series line is stroked with; `svg::finish` turns it into the series colour
/// and dash pattern.
pub(crate) fn line_sentinel(index: usize) -> RGBColor {
    // 0x10.. keeps it apart from FG (0x03) in the same #0102xx range.
    RGBColor(0x01, 0x02, 0x10 + (index % LINE_STYLES) as u8)
}

/// The attributes that replace `stroke="#0102xx"` for a line sentinel, or `None` when `hex`
/// (like `#0102AB`) is not one.
pub(crate) fn line_sentinel_attrs(hex: &str) -> Option<String> {
    let b = hex.strip_prefix("#0102")?;
    let v = u8::from_str_radix(b, 16).ok()?;
    let i = usize::from(v.checked_sub(0x10)?);
    if i >= LINE_STYLES {
        return None;
    }
    let dash = DASHES[i % DASHES.len()];
    let mut s = format!("stroke=\"{}\"", series_colour(i));
    if !dash.is_empty() {
        s.push_str(&format!(" stroke-dasharray=\"{dash}\""));
    }
    s.push_str(" stroke-linejoin=\"round\"");
    Some(s)
}

/// Marker shapes, one per series index, so series differ in shape as well as colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    Circle,
    Triangle,
    Square,
    Diamond,
    Cross,
    InvTriangle,
    Plus,
}

/// The marker of series `index`.
pub(crate) fn marker(index: usize) -> Marker {
    const ALL: [Marker; 7] = [
        Marker::Circle,
        Marker::Triangle,
        Marker::Square,
        Marker::Diamond,
        Marker::Cross,
        Marker::InvTriangle,
        Marker::Plus,
    ];
    ALL[index % ALL.len()]
}

/// Font sizes in SVG pixels. Plotters divides the size it is given by 1.24 when writing SVG,
/// so sizes handed to plotters go through `plotters_font`.
pub(crate) const TITLE_PX: f64 = 15.0;
pub(crate) const LABEL_PX: f64 = 12.0;
pub(crate) const TICK_PX: f64 = 11.0;
pub(crate) const SMALL_PX: f64 = 10.5;

/// The size to hand plotters for text that should come out `px` pixels high in the SVG.
pub(crate) fn plotters_font(px: f64) -> f64 {
    px * 1.24
}

/// Stroke width of series lines.
pub(crate) const LINE_WIDTH: u32 = 2;

/// Opacity of interval bands and min/max envelopes, low enough for lines to show through.
pub(crate) const BAND_OPACITY: f64 = 0.18;
/// Opacity of major grid lines (drawn in `currentColor`).
pub(crate) const GRID_OPACITY: f64 = 0.15;
/// Opacity of minor grid lines, e.g. 2..9 within a log decade.
pub(crate) const MINOR_GRID_OPACITY: f64 = 0.06;

/// The fill of a phase band in the power chart: well-known phases keep one colour in every
/// report; other names take the palette in order of first appearance. `None` means neutral
/// (drawn in `currentColor`), used for idle time.
pub(crate) fn phase_colour(name: &str, unknown_rank: usize) -> Option<RGBColor> {
    let n: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .collect();
    let fixed = match n.as_str() {
        "idle" | "cooldown" | "cool down" | "baseline" => return None,
        "prefill" => Some(1),
        "decode" => Some(0),
        "denoise" | "denoising" => Some(2),
        "text encode" | "text encoding" | "encode" => Some(5),
        "vae decode" | "vae" => Some(4),
        "load" | "loading" | "warmup" | "warm up" => Some(3),
        _ => None,
    };
    Some(colour(fixed.unwrap_or(6 + unknown_rank)))
}
