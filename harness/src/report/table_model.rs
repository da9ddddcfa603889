//! The table model of reports ([`Table`] of [`Cell`]s; [`super::tables`] builds the report's
//! tables on it) written three ways: HTML for the site, Markdown for issues and papers, CSV
//! for spreadsheets. A cell keeps its text for people and, where it is a number, the raw value
//! that CSV writes unrounded.

use std::fmt::Write;

use super::html::escape;
use crate::markup::markdown_cell as md_cell;

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

    /// HTML, every string escaped.
    pub fn to_html(&self) -> String {
        let mut out = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
        for (c, numeric) in self.columns.iter().zip(&self.numeric) {
            let class = if *numeric { " class=\"num\"" } else { "" };
            let _ = write!(out, "<th{class}>{}</th>", escape(c));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            out.push_str("<tr>");
            for (i, cell) in row.iter().enumerate() {
                let mut classes = Vec::new();
                if self.numeric.get(i).copied().unwrap_or(false) {
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

    /// A GitHub-flavoured Markdown table under a `###` heading.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("### {}\n\n|", md_cell(&self.title));
        for c in &self.columns {
            let _ = write!(out, " {} |", md_cell(c));
        }
        out.push_str("\n|");
        for numeric in &self.numeric {
            out.push_str(if *numeric { "--:|" } else { "---|" });
        }
        out.push('\n');
        for row in &self.rows {
            out.push('|');
            for cell in row {
                let _ = write!(out, " {} |", md_cell(&cell.text));
            }
            out.push('\n');
        }
        out.push('\n');
        out
    }

    /// CSV: a header row, then raw values for numbers and text otherwise; a column of
    /// intervals becomes two, `<column> low` and `<column> high`.
    pub fn to_csv(&self) -> String {
        let intervals: Vec<bool> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .any(|r| r.get(i).is_some_and(|c| c.interval.is_some()))
            })
            .collect();
        let mut header = Vec::new();
        for ((c, split), unit) in self.columns.iter().zip(&intervals).zip(&self.units) {
            let unit = unit.as_ref().map_or(String::new(), |u| format!(" ({u})"));
            if *split {
                header.push(format!("{c} low{unit}"));
                header.push(format!("{c} high{unit}"));
            } else {
                header.push(format!("{c}{unit}"));
            }
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&header);
        for row in &self.rows {
            let mut fields = Vec::new();
            for (cell, split) in row.iter().zip(&intervals) {
                if *split {
                    let (low, high) = cell
                        .interval
                        .map_or((String::new(), String::new()), |(l, h)| {
                            (l.to_string(), h.to_string())
                        });
                    fields.push(low);
                    fields.push(high);
                    continue;
                }
                fields.push(match cell.value {
                    Some(v) => v.to_string(),
                    None if cell.text == "–" => String::new(),
                    None => cell.text.clone(),
                });
            }
            let _ = w.write_record(&fields);
        }
        w.into_inner()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
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
    fn one_table_three_formats_each_escaped_its_own_way() {
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
        let csv = t.to_csv();
        assert_eq!(
            csv,
            "case,ttft (s),CI low (s),CI high (s)\na|b<script>,0.012345,0.011,0.013\n\"c,\"\"d\"\"\",,,\n"
        );
    }
}
