//! HTML pieces: escaping, and the page shell with its stylesheet. Pages are self-contained:
//! the stylesheet is inline, charts are inline SVG, there is no script, font or remote asset,
//! so a page renders the same from any static host or a local folder, years from now.

use std::fmt::Write;

pub use crate::markup::escape;

/// A link target made from a run id: letters, digits, `-`, `_` and `.` kept, the rest `_`.
pub fn file_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The stylesheet: system fonts, CSS variables for the light and dark themes (following the
/// reader's system setting), tables and charts that fit a phone.
const STYLE: &str = r#"
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1d2330; --muted: #5b6475;
  --line: #d9dde5; --panel: #f5f7fa; --accent: #0072b2; --bad: #b3261e; --good: #1b7f3b;
  --warn: #8a5a00; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #12151b; --fg: #e6e9ef; --muted: #a0a8b8; --line: #2d333f; --panel: #1a1f28;
    --accent: #56b4e9; --bad: #ff8a80; --good: #7ee2a0; --warn: #ffcc66; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1100px; padding: 1.5rem 1rem 4rem; background: var(--bg);
  color: var(--fg); font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto,
  "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.25rem; margin: 2rem 0 .5rem;
  border-bottom: 1px solid var(--line); padding-bottom: .25rem; } h3 { font-size: 1.05rem; }
a { color: var(--accent); } .muted, figcaption, .note { color: var(--muted); }
pre { background: var(--panel); padding: .75rem; overflow-x: auto; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
nav { margin-bottom: 1rem; font-size: .9rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .88rem; }
td:first-child { white-space: nowrap; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
figure { margin: 1rem 0 1.5rem; color: var(--fg); } figure svg { max-width: min(100%, 760px); height: auto; }
.warnings { border-left: 4px solid var(--warn); background: var(--panel); padding: .5rem 1rem; }
.warnings li { margin: .2rem 0; }
.regressed { color: var(--bad); font-weight: 600; } .improved { color: var(--good); font-weight: 600; }
.within_noise { color: var(--muted); } .not_enough_data { color: var(--warn); }
details { margin: .5rem 0; } summary { cursor: pointer; }
footer { margin-top: 3rem; font-size: .85rem; color: var(--muted); }
"#;

/// The policy every page carries: nothing runs and nothing is fetched, even if a value from a
/// suite or a server ever slipped past [`escape`]. The only styles are the page's own `<style>`
/// and the charts' inline SVG attributes; links to the other pages are navigation, which the
/// policy leaves alone.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'none'; \
     style-src 'unsafe-inline'; img-src 'none'; font-src 'none'; connect-src 'none'; \
     object-src 'none'; base-uri 'none'; form-action 'none'";

/// A whole page: `title` (plain text), a navigation line and the body (HTML).
pub fn page(title: &str, nav: &str, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + STYLE.len() + 512);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CONTENT_SECURITY_POLICY}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"bench {}\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<nav>{nav}</nav>\n{body}\n<footer>Made by bench {} \
         (<code>bench report</code>). Self-contained: no script, font or stylesheet is loaded \
         from anywhere; charts are SVG. Metric definitions: docs/metrics.md in the bench \
         repository.</footer>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION"),
        escape(title),
        env!("CARGO_PKG_VERSION"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_become_safe_file_names() {
        assert_eq!(file_name("2026/11 run<1>"), "2026_11_run_1_");
    }
}
