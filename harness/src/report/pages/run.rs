//! A run's page: what ran where, its warnings, case tables, charts, every metric, the machine
//! and engines, and the suite as given.

use askama::filters::Safe;

use super::{figure_views, html, render, run_file, FigureView, Shell, Titled};
use crate::compare::suite_name;
use crate::report::{conversation, figures, tables, warnings, ReportError, ReportedRun};

/// A run's page (templates/report/run.html).
#[derive(askama::Template)]
#[template(path = "report/run.html")]
struct RunPage<'a> {
    shell: Shell,
    id: &'a str,
    suite: String,
    /// The suite's `description`, where it has one.
    description: Option<&'a str>,
    cpu: &'a str,
    host: &'a str,
    started: &'a str,
    warnings: Vec<String>,
    /// The text and image tables.
    case_tables: Vec<Titled>,
    scaling: Option<Titled>,
    roofline: Option<Titled>,
    conversation: Option<Titled>,
    figures: Vec<FigureView<'a>>,
    notes: Vec<String>,
    /// Every metric of each case, under the case's id.
    metrics: Vec<Titled>,
    environment: Safe<String>,
    engines: Safe<String>,
    /// The suite's file, where the run kept its text.
    suite_source: Option<SuiteSource<'a>>,
}

/// The suite file as given.
struct SuiteSource<'a> {
    path: &'a str,
    text: &'a str,
}

/// A run's page; its file name is [`run_file`] of the run's id.
pub fn run(r: &ReportedRun) -> Result<String, ReportError> {
    let m = &r.run.manifest;
    let (warnings, notes) = warnings::warnings_and_notes(&r.run, &r.summaries);
    let case_tables = [
        tables::text_cases(&r.summaries),
        tables::image_cases(&r.summaries),
    ]
    .iter()
    .flatten()
    .map(Titled::of)
    .collect();
    let figures = figures::run_figures(r);
    let page = RunPage {
        shell: Shell::new(format!("bench run {}", m.run_id), false),
        id: &m.run_id,
        suite: suite_name(m),
        description: m.suite.parsed["suite"]["description"].as_str(),
        cpu: &m.environment.cpu_model,
        host: &m.environment.hostname,
        started: &m.started_at,
        warnings,
        case_tables,
        scaling: tables::scaling(&crate::summary::scaling::scaling(&r.summaries))
            .as_ref()
            .map(Titled::of),
        roofline: tables::roofline(&r.rooflines).as_ref().map(Titled::of),
        conversation: conversation::table(&r.summaries).as_ref().map(Titled::of),
        figures: figure_views(&figures),
        notes,
        metrics: r
            .summaries
            .iter()
            .map(|s| Titled::named(s.case.id.clone(), &tables::case_metrics(s)))
            .collect(),
        environment: html(&tables::environment(&r.run)),
        engines: html(&tables::engines(&r.run)),
        suite_source: (!m.suite.source.is_empty()).then(|| SuiteSource {
            path: &m.suite.path,
            text: &m.suite.source,
        }),
    };
    render(&run_file(&m.run_id), &page)
}
