//! The one table model of bench's output: a titled [`Table`] of [`Cell`]s. A cell keeps its
//! text for people and, where it is a number, the raw value that CSV writes unrounded; a
//! column says whether it is numeric (aligned right) and the unit of its raw values.
use super::{CsvTable, HtmlTable, MarkdownTable, TableFormat, TerminalTable};

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// As shown to people (units, rounding).
    pub text: String,
    /// The raw value, for numbers (CSV writes it instead of the text).
    pub value: Option<f64>,
    /// A CSS class for the HTML cell (verdict colours).
    pub class: Option<&'static str>,
    /// The raw bounds, for intervals (CSV writes them as two columns).
    pub interval: Option<(f64, f64)>,
}

impl Cell {
    /// A text cell.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            value: None,
            class: None,
            interval: None,
        }
    }

    /// An interval from `low` to `high` shown as `text`.
    pub fn interval(low: f64, high: f64, text: impl Into<String>) -> Self {
        Self {
            interval: Some((low, high)),
            ..Self::text(text)
        }
    }

    /// A number shown as `text`.
    pub fn number(value: f64, text: impl Into<String>) -> Self {
        Self {
            value: Some(value),
            ..Self::text(text)
        }
    }

    /// An empty cell (no value).
    pub fn empty() -> Self {
        Self::text("–")
    }

    /// The same cell with a CSS class.
    pub fn with_class(mut self, class: &'static str) -> Self {
        self.class = Some(class);
        self
    }
}

/// A titled table.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Heading above it.
    pub title: String,
    /// Column names (with units where they have one).
    pub columns: Vec<String>,
    /// Which columns are numeric (right-aligned in HTML).
    pub numeric: Vec<bool>,
    /// The unit of each column's raw values, named in CSV headers (cells show their own).
    pub units: Vec<Option<String>>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with `columns`. A column written `#name` is numeric; `#name|unit` also
    /// names the unit of its raw values, which CSV headers show as `name (unit)`.
    pub fn new(title: impl Into<String>, columns: &[&str]) -> Self {
        let split = |c: &str| -> (String, Option<String>) {
            let c = c.trim_start_matches('#');
            match c.split_once('|') {
                Some((name, unit)) => (name.to_string(), Some(unit.to_string())),
                None => (c.to_string(), None),
            }
        };
        Self {
            title: title.into(),
            columns: columns.iter().map(|c| split(c).0).collect(),
            numeric: columns.iter().map(|c| c.starts_with('#')).collect(),
            units: columns.iter().map(|c| split(c).1).collect(),
            rows: Vec::new(),
        }
    }

    /// A table of text cells, for listings: `right` names the columns aligned right.
    pub fn of_text(columns: &[&str], right: &[usize], rows: Vec<Vec<String>>) -> Self {
        Self {
            title: String::new(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            numeric: (0..columns.len()).map(|i| right.contains(&i)).collect(),
            units: vec![None; columns.len()],
            rows: rows
                .into_iter()
                .map(|row| row.into_iter().map(Cell::text).collect())
                .collect(),
        }
    }

    /// The table as [`HtmlTable`] writes it.
    pub fn to_html(&self) -> String {
        HtmlTable.render(self)
    }

    /// The table as [`MarkdownTable`] writes it.
    pub fn to_markdown(&self) -> String {
        MarkdownTable.render(self)
    }

    /// The table as [`CsvTable`] writes it.
    pub fn to_csv(&self) -> String {
        CsvTable.render(self)
    }

    /// The table as [`TerminalTable`] writes it.
    pub fn to_terminal(&self) -> String {
        TerminalTable.render(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        let mut t = Table::new("Cases <1>", &["case", "#ttft (s)", "#CI|s"]);
        t.rows.push(vec![
            Cell::text("a|b<script>"),
            Cell::number(0.012345, "12.3 ms"),
            Cell::interval(0.011, 0.013, "11.0 ms – 13.0 ms"),
        ]);
        t.rows
            .push(vec![Cell::text("c,\"d\""), Cell::empty(), Cell::empty()]);
        t
    }

    #[test]
    fn one_table_four_formats_each_escaped_its_own_way() {
        let t = table();
        let html = t.to_html();
        assert!(html.contains("<th class=\"num\">ttft (s)</th>"));
        assert!(html.contains("<td>a|b&lt;script&gt;</td>"));
        assert!(html.contains("<td class=\"num\">12.3 ms</td>"));
        let md = t.to_markdown();
        assert!(
            md.starts_with("### Cases &lt;1&gt;\n\n| case | ttft (s) | CI |\n|---|--:|--:|\n"),
            "{md}"
        );
        assert!(
            md.contains("| a\\|b&lt;script&gt; | 12.3 ms | 11.0 ms – 13.0 ms |"),
            "{md}"
        );
        // The terminal: no title, no escaping, numbers aligned right.
        assert_eq!(
            t.to_terminal(),
            "case         ttft (s)                 CI\n\
             ----------------------------------------\n\
             a|b<script>   12.3 ms  11.0 ms – 13.0 ms\n\
             c,\"d\"               –                  –\n"
        );
        let csv = t.to_csv();
        assert_eq!(
            csv,
            "case,ttft (s),CI low (s),CI high (s)\na|b<script>,0.012345,0.011,0.013\n\"c,\"\"d\"\"\",,,\n"
        );
    }
}
