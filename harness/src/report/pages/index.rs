//! The index page: every run with its machine and suite, and a link to the comparison.

use super::{render, run_file, Shell};
use crate::compare::suite_name;
use crate::report::{Report, ReportError};

/// The index page (templates/report/index.html).
#[derive(askama::Template)]
#[template(path = "report/index.html")]
struct IndexPage {
    shell: Shell,
    runs: Vec<IndexRow>,
}

/// One run in the index, as plain text.
struct IndexRow {
    file: String,
    id: String,
    suite: String,
    host: String,
    cpu: String,
    started: String,
    status: String,
    cases: usize,
}

/// The index: every run with its machine and suite, and a link to the comparison.
pub fn index(report: &Report) -> Result<String, ReportError> {
    let compare = !report.comparisons.is_empty() || !report.not_compared.is_empty();
    let runs = report
        .runs
        .iter()
        .map(|r| {
            let m = &r.run.manifest;
            IndexRow {
                file: run_file(m.run_id.as_str()),
                id: m.run_id.clone(),
                suite: suite_name(m),
                host: m.environment.hostname.clone(),
                cpu: m.environment.cpu_model.clone(),
                started: m.started_at.clone(),
                status: format!("{:?}", m.status).to_lowercase(),
                cases: r.summaries.len(),
            }
        })
        .collect();
    let page = IndexPage {
        shell: Shell::new("bench report".into(), compare),
        runs,
    };
    render("index.html", &page)
}
