//! Charts for the static HTML reports: each module turns a plain input struct (numbers and
//! labels, no bench types) into one self-contained SVG document.
//!
//! Every chart is pure rendering: `render(&self, ChartSize) -> Result<String, ChartError>`.
//! The SVG has no background and draws text, axes and grid lines in `currentColor`, so the
//! page's `color` (light or dark theme) decides how they look; data colours come from the
//! Okabe-Ito palette, and every series also has its own marker and dash pattern so the chart
//! survives greyscale printing. The root element carries `role="img"`, a `<title>` and a
//! `<desc>`, a `viewBox` and `width="100%"`: pages should cap its size with CSS (for example
//! `svg.bench-chart { max-width: 720px }`) if they do not want it to grow with the column.
//!
//! Inputs are never trusted: non-finite numbers are dropped, labels are cleaned of characters
//! XML cannot carry and escaped, long labels are shortened, and large series are downsampled
//! so the document stays small. The same input always gives the same bytes.

mod axis;
mod canvas;
mod categories;
mod frame;
mod hbar;
mod legend;
mod shapes;
mod style;
mod svg;
mod xy;

pub mod diffusion;
pub mod energy;
pub mod knee;
pub mod latency;
pub mod power;
pub mod roofline;
pub mod scaling;
pub mod speedup;
pub mod sustained;
pub mod throughput;
pub mod ttft;
pub mod turns;

pub use style::{series_colour, PALETTE_HEX};

/// The size of a chart's drawing in SVG user units (pixels at 100 % zoom).
///
/// The document scales to its container's width; this only fixes the aspect ratio and the
/// size text is laid out for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartSize {
    /// Width of the `viewBox`.
    pub width: u32,
    /// Height of the `viewBox`.
    pub height: u32,
}

impl ChartSize {
    /// The smallest side a chart can be laid out in.
    pub const MIN_SIDE: u32 = 200;
    /// The largest side a chart is laid out in; larger sizes are refused because per-pixel
    /// downsampling allocates per column.
    pub const MAX_SIDE: u32 = 8000;

    /// Refuse sizes the layout cannot fit axes, legend and title into.
    pub(crate) fn check(self) -> Result<Self, ChartError> {
        let ok = |v: u32| (Self::MIN_SIDE..=Self::MAX_SIDE).contains(&v);
        if ok(self.width) && ok(self.height) {
            Ok(self)
        } else {
            Err(ChartError::Size {
                width: self.width,
                height: self.height,
            })
        }
    }
}

impl Default for ChartSize {
    fn default() -> Self {
        Self {
            width: 720,
            height: 420,
        }
    }
}

/// Why a chart could not be drawn. Bad data never causes an error (it is dropped or shown
/// as "no data"); only an impossible size or a failure inside the drawing library does.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The requested size is outside `ChartSize::MIN_SIDE..=ChartSize::MAX_SIDE` on a side.
    #[error(
        "chart size {width}x{height} is outside the drawable range of {min} to {max} units per side",
        min = ChartSize::MIN_SIDE,
        max = ChartSize::MAX_SIDE
    )]
    Size {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
    },
    /// The drawing library reported an error (the message is its own).
    #[error("drawing the chart failed: {0}")]
    Draw(String),
}

/// One measured point of a line series, with an optional interval around `y`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Position on the horizontal axis (its unit depends on the chart).
    pub x: f64,
    /// Position on the vertical axis, usually a median.
    pub y: f64,
    /// Lower end of the interval around `y` (for example a confidence interval of the median).
    pub low: Option<f64>,
    /// Upper end of the interval around `y`.
    pub high: Option<f64>,
}

impl Point {
    /// A point without an interval.
    pub fn new(x: f64, y: f64) -> Self {
        Self {
            x,
            y,
            low: None,
            high: None,
        }
    }

    /// A point with an interval `low..=high` around `y`.
    pub fn with_interval(x: f64, y: f64, low: f64, high: f64) -> Self {
        Self {
            x,
            y,
            low: Some(low),
            high: Some(high),
        }
    }
}

/// A named line of points; the same label gets the same colour, marker and dash pattern
/// within one chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Legend text, for example the target's name.
    pub label: String,
    /// The points; their order does not matter (lines are drawn in order of `x`).
    pub points: Vec<Point>,
}

#[cfg(test)]
mod tests;
