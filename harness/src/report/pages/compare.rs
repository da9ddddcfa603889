//! The comparison page: per later run, what differs from the first, the speedup charts, the
//! verdict table and what could not be compared.

use askama::filters::Safe;

use super::{figure_views, html, render, FigureView, Shell, COMPARE_FILE};
use crate::compare::Comparison;
use crate::report::{figures, tables, Report, ReportError};

/// The comparison page (templates/report/compare.html).
#[derive(askama::Template)]
#[template(path = "report/compare.html")]
struct ComparePage<'a> {
    shell: Shell,
    comparisons: Vec<CompareSection<'a>>,
    /// Why a pair of runs could not be compared.
    not_compared: &'a [String],
}

/// One later run against the first.
struct CompareSection<'a> {
    /// The first run: its id and machine, as `id (machine)`.
    base: String,
    /// The later run, the same way.
    current: String,
    /// Hardware, then engine differences.
    differences: Vec<&'a str>,
    figures: Vec<FigureView<'a>>,
    /// The verdict table.
    html: Safe<String>,
    /// Cases of one run only, and why.
    unmatched: Vec<String>,
    /// How the runs were compared.
    method: &'a str,
}

impl<'a> CompareSection<'a> {
    fn of(c: &'a Comparison, figures: &'a [crate::report::figure::Figure]) -> Self {
        Self {
            base: format!("{} ({})", c.base.run_id, c.base.machine()),
            current: format!("{} ({})", c.current.run_id, c.current.machine()),
            differences: c
                .hardware_differences
                .iter()
                .chain(&c.engine_differences)
                .map(String::as_str)
                .collect(),
            figures: figure_views(figures),
            html: html(&tables::comparison(c)),
            unmatched: c.unmatched.iter().map(|u| u.to_string()).collect(),
            method: &c.method,
        }
    }
}

/// The comparison page: per later run, the speedup chart and the verdict table.
pub fn comparisons(report: &Report) -> Result<String, ReportError> {
    let figures: Vec<_> = report
        .comparisons
        .iter()
        .map(figures::comparison_figures)
        .collect();
    let page = ComparePage {
        shell: Shell::new("bench comparison".into(), true),
        comparisons: report
            .comparisons
            .iter()
            .zip(&figures)
            .map(|(c, f)| CompareSection::of(c, f))
            .collect(),
        not_compared: &report.not_compared,
    };
    render(COMPARE_FILE, &page)
}
