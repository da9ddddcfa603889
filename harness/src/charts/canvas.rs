//! What every drawing step draws on, and how a plotters error becomes ours: the leaf that the
//! frame, the legend and the shapes all use, so none of them reaches back into another.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ChartError;

/// The root drawing area everything is drawn on, in pixel coordinates.
pub(crate) type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Map any plotters error into ours.
pub(crate) fn draw_err<E: std::fmt::Display>(e: E) -> ChartError {
    ChartError::Draw(e.to_string())
}
