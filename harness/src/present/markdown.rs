//! Tables as GitHub-flavoured Markdown, for issues, pull requests and papers.

use std::fmt::Write;

use super::{Table, TableFormat};
use crate::markup::markdown_cell as md_cell;

/// A GitHub-flavoured Markdown table under a `###` heading, every cell escaped.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownTable;

impl TableFormat for MarkdownTable {
    fn render(&self, table: &Table) -> String {
        let mut out = format!("### {}\n\n|", md_cell(&table.title));
        for c in &table.columns {
            let _ = write!(out, " {} |", md_cell(c));
        }
        out.push_str("\n|");
        for numeric in &table.numeric {
            out.push_str(if *numeric { "--:|" } else { "---|" });
        }
        out.push('\n');
        for row in &table.rows {
            out.push('|');
            for cell in row {
                let _ = write!(out, " {} |", md_cell(&cell.text));
            }
            out.push('\n');
        }
        out.push('\n');
        out
    }
}
