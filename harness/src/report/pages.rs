//! The pages of the site: the index of runs, one page per run, the comparison page.

use std::fmt::Write;

use super::figure::Figure;
use super::figures;
use super::html::{escape, file_name, page};
use super::{tables, warnings, Report, ReportedRun};
use crate::compare::suite_name;

/// File name of the comparison page.
pub const COMPARE_FILE: &str = "compare.html";

/// File name of a run's page.
pub fn run_file(id: &str) -> String {
    format!("run-{}.html", file_name(id))
}

fn nav(report_has_compare: bool) -> String {
    let mut out = String::from("<a href=\"index.html\">All runs</a>");
    if report_has_compare {
        let _ = write!(out, " · <a href=\"{COMPARE_FILE}\">Comparison</a>");
    }
    out
}

fn figures_html(figures: &[Figure]) -> String {
    let mut out = String::new();
    for f in figures {
        let _ = write!(
            out,
            "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
            f.svg,
            escape(&f.caption)
        );
    }
    out
}

fn list(items: &[String], class: &str) -> String {
    let mut out = format!("<ul class=\"{class}\">");
    for i in items {
        let _ = write!(out, "<li>{}</li>", escape(i));
    }
    out.push_str("</ul>\n");
    out
}

/// The body of the index page (harness/templates/report/index.html): every value is escaped
/// by the template, with [`crate::markup::Markup`].
#[derive(askama::Template)]
#[template(path = "report/index.html")]
struct IndexBody<'a> {
    runs: Vec<IndexRow>,
    compare: bool,
    compare_file: &'a str,
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
pub fn index(report: &Report) -> String {
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
    let body = IndexBody {
        runs,
        compare,
        compare_file: COMPARE_FILE,
    };
    // Rendering into a String fails only if a value's Display does, and these are strings.
    let body = askama::Template::render(&body).unwrap_or_else(|e| {
        format!(
            "<p>the index could not be rendered: {}</p>\n",
            escape(&e.to_string())
        )
    });
    page("bench report", &nav(compare), &body)
}

/// A run's page.
pub fn run(r: &ReportedRun) -> String {
    let m = &r.run.manifest;
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"muted\">Suite <strong>{}</strong>{} · {} on {} · {}</p>\n",
        escape(&m.run_id),
        escape(&suite_name(m)),
        m.suite.parsed["suite"]["description"]
            .as_str()
            .map(|d| format!(": {}", escape(d)))
            .unwrap_or_default(),
        escape(&m.environment.cpu_model),
        escape(&m.environment.hostname),
        escape(&m.started_at),
    );
    let (warnings, notes) = warnings::warnings_and_notes(&r.run, &r.summaries);
    if !warnings.is_empty() {
        body.push_str("<h2>Warnings</h2>\n");
        body.push_str(&list(&warnings, "warnings"));
    }
    body.push_str("<h2>Results</h2>\n");
    body.push_str(
        "<p class=\"note\">Medians over repetitions; 95 % intervals are percentile bootstrap \
         intervals of the median across repetitions. Definitions: docs/metrics.md.</p>\n",
    );
    for t in [
        tables::text_cases(&r.summaries),
        tables::image_cases(&r.summaries),
    ]
    .into_iter()
    .flatten()
    {
        let _ = write!(body, "<h3>{}</h3>\n{}", escape(&t.title), t.to_html());
    }
    if let Some(t) = tables::scaling(&crate::summary::scaling::scaling(&r.summaries)) {
        let _ = write!(
            body,
            "<h3>{}</h3>\n<p class=\"note\">Throughput is output tokens/s under load, else \
             decode tokens/s (medians). Speedup: throughput over the same case on one node; \
             efficiency: speedup ÷ nodes (100 % is perfect scaling). Power is the cluster's \
             total over every node sampled, including nodes the instance does not use; per \
             node: that total ÷ the nodes sampled.</p>\n{}",
            escape(&t.title),
            t.to_html()
        );
    }
    if let Some(t) = tables::roofline(&r.rooflines) {
        let _ = write!(
            body,
            "<h3>{}</h3>\n<p class=\"note\">Prefill MFU: the prompt's FLOPs (from the model's \
             config.json) over the median TTFT, over the device's peak for the compute dtype. \
             Decode MBU: bytes read per token (weights and KV cache) times the median decode \
             rate, over the memory bandwidth. Step MFU: a denoising step's FLOPs over its median \
             time. Definitions: docs/metrics.md.</p>\n{}",
            escape(&t.title),
            t.to_html()
        );
    }
    if let Some(t) = super::conversation::table(&r.summaries) {
        let _ = write!(
            body,
            "<h3>{}</h3>\n<p class=\"note\">Each turn of a conversation resends the earlier \
             messages and the answers the server returned, then a new message. Per turn, over \
             the complete conversations: TTFT median and 90th percentile, the prompt tokens \
             sent (history and new message) and those the server said it took from its cache \
             (median). Definitions: docs/metrics.md.</p>\n{}",
            escape(&t.title),
            t.to_html()
        );
    }
    let figures = figures::run_figures(r);
    if !figures.is_empty() {
        body.push_str("<h2>Charts</h2>\n");
        body.push_str(&figures_html(&figures));
    }
    if !notes.is_empty() {
        body.push_str("<h2>Notes</h2>\n");
        body.push_str(&list(&notes, "notes"));
    }
    body.push_str("<h2>Every metric</h2>\n");
    for s in &r.summaries {
        let t = tables::case_metrics(s);
        let _ = write!(
            body,
            "<details><summary>{}</summary>\n{}</details>\n",
            escape(&s.case.id),
            t.to_html()
        );
    }
    body.push_str("<h2>Machine and engines</h2>\n");
    body.push_str(&tables::environment(&r.run).to_html());
    body.push_str(&tables::engines(&r.run).to_html());
    if !m.suite.source.is_empty() {
        let _ = write!(
            body,
            "<details><summary>The suite as given ({})</summary>\n<pre><code>{}</code></pre>\n</details>\n",
            escape(&m.suite.path),
            escape(&m.suite.source)
        );
    }
    page(&format!("bench run {}", m.run_id), &nav(false), &body)
}

/// The comparison page: per later run, the speedup chart and the verdict table.
pub fn comparisons(report: &Report) -> String {
    let mut body = String::from("<h1>Comparison</h1>\n");
    body.push_str(
        "<p class=\"note\">Each run is compared with the first. Speedup: how many times faster \
         the later run is (base median / current median for times, current / base for rates), \
         with a 95 % bootstrap interval. Verdicts: two-sided Mann-Whitney U at α = 0.05 on \
         one value per repetition; \"not enough data\" below 3 repetitions a side.</p>\n",
    );
    for c in &report.comparisons {
        let _ = writeln!(
            body,
            "<h2>{} ({}) → {} ({})</h2>",
            escape(&c.base.run_id),
            escape(&c.base.machine()),
            escape(&c.current.run_id),
            escape(&c.current.machine())
        );
        let differences: Vec<String> = c
            .hardware_differences
            .iter()
            .chain(&c.engine_differences)
            .cloned()
            .collect();
        if !differences.is_empty() {
            body.push_str("<p>Differences between the runs:</p>\n");
            body.push_str(&list(&differences, "notes"));
        }
        body.push_str(&figures_html(&figures::comparison_figures(c)));
        body.push_str(&tables::comparison(c).to_html());
        if !c.unmatched.is_empty() {
            let unmatched: Vec<String> = c.unmatched.iter().map(|u| u.to_string()).collect();
            body.push_str("<p>Not compared:</p>\n");
            body.push_str(&list(&unmatched, "notes"));
        }
        let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(&c.method));
    }
    if !report.not_compared.is_empty() {
        body.push_str("<h2>Not compared</h2>\n");
        body.push_str(&list(&report.not_compared, "warnings"));
    }
    page("bench comparison", &nav(true), &body)
}
