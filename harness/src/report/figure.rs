//! One chart of a report, [`Figure`], and making one from a chart's result; shared by the
//! files that choose a report's charts.

use crate::charts::ChartError;

/// One chart: its SVG and a caption that says how to read it.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The chart, an SVG document.
    pub svg: String,
    /// What it shows and how it was measured.
    pub caption: String,
}

/// `svg` as a figure with `caption`; none, with a warning, where the chart could not be drawn.
pub(super) fn figure(svg: Result<String, ChartError>, caption: &str) -> Option<Figure> {
    match svg {
        Ok(svg) => Some(Figure {
            svg,
            caption: caption.to_string(),
        }),
        Err(e) => {
            tracing::warn!("a chart could not be drawn: {e}");
            None
        }
    }
}
