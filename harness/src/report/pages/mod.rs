//! The pages of the site: the index of runs, one page per run, the comparison page. Each is
//! an askama template under `harness/templates/report/` extending the shell `page.html`, and
//! every value a template shows is escaped by [`crate::markup::Markup`] (harness/askama.toml)
//! unless its Rust type is [`Safe`]: the tables and charts, markup their own code escaped.

mod compare;
mod index;
mod run;

use askama::filters::Safe;

use super::figure::Figure;
use super::html::{file_name, CONTENT_SECURITY_POLICY};
use super::ReportError;
use crate::present::Table;

pub use compare::comparisons;
pub use index::index;
pub use run::run;

/// File name of the comparison page.
pub const COMPARE_FILE: &str = "compare.html";

/// File name of a run's page.
pub fn run_file(id: &str) -> String {
    format!("run-{}.html", file_name(id))
}

/// What the shell of every page (templates/report/page.html) shows.
struct Shell {
    /// The page's title, plain text.
    title: String,
    /// Whether the navigation links to the comparison page.
    compare_link: bool,
    /// [`COMPARE_FILE`].
    compare_file: &'static str,
    /// The version of bench that made the page.
    version: &'static str,
    /// [`CONTENT_SECURITY_POLICY`], a constant with quotes that must stay as they are.
    policy: Safe<&'static str>,
}

impl Shell {
    fn new(title: String, compare_link: bool) -> Self {
        Self {
            title,
            compare_link,
            compare_file: COMPARE_FILE,
            version: env!("CARGO_PKG_VERSION"),
            policy: Safe(CONTENT_SECURITY_POLICY),
        }
    }
}

/// A table under a plain-text title.
struct Titled {
    title: String,
    /// The table as HTML, every string escaped by [`crate::present::HtmlTable`].
    html: Safe<String>,
}

impl Titled {
    fn of(table: &Table) -> Self {
        Self::named(table.title.clone(), table)
    }

    fn named(title: String, table: &Table) -> Self {
        Self {
            title,
            html: html(table),
        }
    }
}

/// A table as HTML, every string escaped by [`crate::present::HtmlTable`].
fn html(table: &Table) -> Safe<String> {
    Safe(table.to_html())
}

/// A chart and its plain-text caption.
struct FigureView<'a> {
    /// The SVG, every string escaped by the chart code.
    svg: Safe<&'a str>,
    caption: &'a str,
}

fn figure_views(figures: &[Figure]) -> Vec<FigureView<'_>> {
    figures
        .iter()
        .map(|f| FigureView {
            svg: Safe(&f.svg),
            caption: &f.caption,
        })
        .collect()
}

/// A page's text; `page` names it in the error.
fn render(page: &str, template: &impl askama::Template) -> Result<String, ReportError> {
    template.render().map_err(|source| ReportError::Render {
        page: page.to_string(),
        source,
    })
}
