//! What every page shares outside its template: the policy it carries and the file names made
//! from run ids. Pages are self-contained: the stylesheet is inline (in the shell,
//! `harness/templates/report/page.html`), charts are inline SVG, there is no script, font or
//! remote asset, so a page renders the same from any static host or a local folder, years from
//! now.

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

/// The policy every page carries: nothing runs and nothing is fetched, even if a value from a
/// suite or a server ever slipped past the escaping ([`crate::markup::escape`]). The only
/// styles are the page's own `<style>` and the charts' inline SVG attributes; links to the
/// other pages are navigation, which the policy leaves alone.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'none'; \
     style-src 'unsafe-inline'; img-src 'none'; font-src 'none'; connect-src 'none'; \
     object-src 'none'; base-uri 'none'; form-action 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_become_safe_file_names() {
        assert_eq!(file_name("2026/11 run<1>"), "2026_11_run_1_");
    }
}
