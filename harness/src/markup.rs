//! Escaping for every markup bench writes: one function for HTML pages, SVG charts and JUnit
//! XML, one for Markdown table cells, so a string from a run (a model name, a hostname, a
//! server's message) is made safe the same way everywhere.

/// Text safe as content and as a quoted attribute value in HTML and XML 1.0: `& < > " '` as
/// entities, and characters XML 1.0 cannot hold at all (control characters other than tab and
/// line breaks) as U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Text safe inside a Markdown table cell: pipes escaped, HTML-significant characters as
/// entities (GitHub renders inline HTML), newlines as spaces.
pub fn markdown_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '`' => out.push_str("\\`"),
            '*' | '_' | '[' | ']' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// [`escape`] as askama's escaper: harness/askama.toml names it for the `.html` templates of
/// the report's pages, so every value they show is escaped by these rules, not by the
/// template's author remembering to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markup;

impl askama::filters::Escaper for Markup {
    fn write_escaped_str<W: std::fmt::Write>(&self, mut dest: W, text: &str) -> std::fmt::Result {
        dest.write_str(&escape(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_quotes_and_control_characters() {
        assert_eq!(
            escape("<script>alert(\"x\")</script> & 'y'\u{1}"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;\u{FFFD}"
        );
    }
}
