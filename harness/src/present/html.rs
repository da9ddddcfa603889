//! Tables as HTML for the report's pages: every string escaped, numeric columns and verdict
//! cells marked by CSS classes.

use std::fmt::Write;

use super::{Table, TableFormat};
use crate::markup::escape;

/// HTML, every string escaped: a `<table>` in a scrolling `<div>`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlTable;

impl TableFormat for HtmlTable {
    fn render(&self, table: &Table) -> String {
        let mut out = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
        for (c, numeric) in table.columns.iter().zip(&table.numeric) {
            let class = if *numeric { " class=\"num\"" } else { "" };
            let _ = write!(out, "<th{class}>{}</th>", escape(c));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &table.rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let mut classes = Vec::new();
                if table.numeric.get(i).copied().unwrap_or(false) {
                    classes.push("num");
                }
                if let Some(c) = cell.class {
                    classes.push(c);
                }
                if classes.is_empty() {
                    let _ = write!(out, "<td>{}</td>", escape(&cell.text));
                } else {
                    let _ = write!(
                        out,
                        "<td class=\"{}\">{}</td>",
                        classes.join(" "),
                        escape(&cell.text)
                    );
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
        out
    }
}
