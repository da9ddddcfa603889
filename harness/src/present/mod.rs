//! The presentation layer's one table model and its renderers, in the spirit of hyperfine's
//! exporters: a [`Table`] of [`Cell`]s is built once by whoever has the data (the end-of-run
//! summary, the report's tables, a comparison, the history's listings) and written by one
//! [`TableFormat`] per output: [`TerminalTable`] (aligned text), [`MarkdownTable`], [`CsvTable`] and
//! [`HtmlTable`]. Numbers in the cells are written by [`crate::units`]; escaping is each
//! renderer's job, with the functions of [`crate::markup`].
//!
//! A leaf above `units` and `markup`: `store`, `stats` and `summary` do not import it.

mod csv;
mod html;
mod markdown;
mod table;
mod terminal;

pub use self::csv::CsvTable;
pub use html::HtmlTable;
pub use markdown::MarkdownTable;
pub use table::{Cell, Table};
pub use terminal::TerminalTable;

/// One output format of tables.
pub trait TableFormat {
    /// The whole table in this format.
    fn render(&self, table: &Table) -> String;
}
