//! Tables as aligned text for the terminal: columns padded to their widest cell, a rule under
//! the header, numeric columns aligned right.

use super::{Table, TableFormat};

/// Aligned text, one line per row after the header and its rule; no title (the lines around a
/// table in the terminal say what it is) and no escaping (the terminal shows text as it is).
#[derive(Debug, Clone, Copy, Default)]
pub struct TerminalTable;

impl TerminalTable {
    /// The table's lines, without line ends: the header, a rule, the rows. Columns are
    /// padded to their widest cell (in characters); numeric columns aligned right, the others
    /// left; each line without trailing spaces.
    pub fn lines(&self, table: &Table) -> Vec<String> {
        let mut rows: Vec<Vec<&str>> = vec![table.columns.iter().map(String::as_str).collect()];
        rows.extend(
            table
                .rows
                .iter()
                .map(|row| row.iter().map(|cell| cell.text.as_str()).collect()),
        );
        let widths: Vec<usize> = (0..table.columns.len())
            .map(|i| {
                rows.iter()
                    .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out: Vec<String> = rows
            .iter()
            .map(|row| {
                let cells: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .enumerate()
                    .map(|(i, (cell, width))| {
                        let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
                        if table.numeric.get(i).copied().unwrap_or(false) {
                            format!("{pad}{cell}")
                        } else {
                            format!("{cell}{pad}")
                        }
                    })
                    .collect();
                cells.join("  ").trim_end().to_string()
            })
            .collect();
        let total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
        out.insert(1, "-".repeat(total));
        out
    }
}

impl TableFormat for TerminalTable {
    fn render(&self, table: &Table) -> String {
        self.lines(table)
            .into_iter()
            .map(|line| line + "\n")
            .collect()
    }
}
