//! Tables as CSV, for spreadsheets: raw values, not the rounded text people read.

use super::{Table, TableFormat};

/// CSV: a header row, then raw values for numbers and text otherwise; a column of intervals
/// becomes two, `<column> low` and `<column> high`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvTable;

impl TableFormat for CsvTable {
    fn render(&self, table: &Table) -> String {
        let intervals: Vec<bool> = (0..table.columns.len())
            .map(|i| {
                table
                    .rows
                    .iter()
                    .any(|r| r.get(i).is_some_and(|c| c.interval.is_some()))
            })
            .collect();
        let mut header = Vec::new();
        for ((c, split), unit) in table.columns.iter().zip(&intervals).zip(&table.units) {
            let unit = unit.as_ref().map_or(String::new(), |u| format!(" ({u})"));
            if *split {
                header.push(format!("{c} low{unit}"));
                header.push(format!("{c} high{unit}"));
            } else {
                header.push(format!("{c}{unit}"));
            }
        }
        let mut w = ::csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(&header);
        for row in &table.rows {
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
