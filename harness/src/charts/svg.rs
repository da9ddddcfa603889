//! SVG text handling shared by the charts: cleaning and escaping input strings, estimating
//! text width, raw text elements plotters cannot express (rotated labels, tooltips), and the
//! final pass that turns plotters' output into a themeable, responsive, accessible document.
//!
//! Plotters' SVG backend escapes `& < > " '` in text and attributes itself, so strings handed
//! to plotters are only *cleaned* (`clean`), never escaped; strings written here by hand go
//! through `escape`. Neither path double-escapes.

use std::fmt::Write as _;

use super::style::{line_sentinel_attrs, FG_HEX, REF_ATTRS, REF_HEX};
use super::ChartSize;

pub(crate) use crate::markup::escape;

/// Longest label kept, in characters; anything longer is cut before layout so that a
/// megabyte-long label costs nothing.
const MAX_LABEL_CHARS: usize = 160;

/// Make an input string safe to lay out and to put into XML: characters XML 1.0 cannot carry
/// (control characters, U+FFFE/U+FFFF) and line breaks become spaces, runs of whitespace
/// collapse, and very long strings are cut with an ellipsis. The result is not escaped.
pub(crate) fn clean(s: &str) -> String {
    clean_max(s, MAX_LABEL_CHARS)
}

/// `clean` with a different length limit (descriptions are longer than labels).
pub(crate) fn clean_max(s: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut pending_space = false;
    for c in s.chars() {
        let c = if c.is_whitespace() || c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' {
            ' '
        } else {
            c
        };
        if c == ' ' {
            pending_space = !out.is_empty();
            continue;
        }
        if count >= max_chars {
            out.push('…');
            return out;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// Estimated advance of one character as a fraction of the font size. The numbers follow
/// DejaVu Sans, the widest of the common default sans-serif faces (Helvetica and Arial are
/// 5-10 % narrower), so estimates err towards more room rather than clipped text.
fn char_em(c: char) -> f64 {
    match c {
        'i' | 'j' | 'l' | '\'' | '|' => 0.28,
        '.' | ',' | ':' | ';' | ' ' | '!' | 'I' | '·' | '/' | '\\' => 0.34,
        'f' | 't' | '(' | ')' | '[' | ']' | '-' | '²' | '³' => 0.4,
        'r' | '"' | '°' => 0.46,
        '*' | '?' | '^' => 0.53,
        'c' | 's' | 'z' | 'J' | '–' => 0.56,
        'k' | 'v' | 'x' | 'y' | '_' => 0.6,
        'a' | 'b' | 'd' | 'e' | 'g' | 'h' | 'n' | 'o' | 'p' | 'q' | 'u' => 0.64,
        '0'..='9' | '$' | '{' | '}' => 0.64,
        'A'..='H' | 'K' | 'L' | 'N'..='V' | 'X'..='Z' => 0.78,
        'w' | '%' | '&' | '<' | '>' | '=' | '+' | '~' | '#' | '×' | '±' => 0.84,
        'm' | 'M' | '@' | 'W' => 1.0,
        '…' | '—' => 1.0,
        c if (c as u32) < 0x2E80 => 0.75,
        // CJK and other wide scripts take about a full em.
        _ => 1.0,
    }
}

/// Estimated width in pixels of `s` set at `px` pixels. No font is available at render time
/// (the browser picks it), so this is a per-character estimate.
pub(crate) fn text_width(s: &str, px: f64) -> f64 {
    s.chars().map(char_em).sum::<f64>() * px
}

/// `s` shortened with an ellipsis so its estimated width is at most `max_w`; the flag says
/// whether it was shortened.
pub(crate) fn fit(s: &str, px: f64, max_w: f64) -> (String, bool) {
    if text_width(s, px) <= max_w {
        return (s.to_string(), false);
    }
    let budget = max_w - char_em('…') * px;
    let mut out = String::new();
    let mut w = 0.0;
    for c in s.chars() {
        w += char_em(c) * px;
        if w > budget {
            break;
        }
        out.push(c);
    }
    let trimmed = out.trim_end().to_string();
    (trimmed + "…", true)
}

/// Like `fit`, but the ellipsis goes in the middle, keeping the start and the end: labels
/// such as "model · machine" often differ only at their end.
pub(crate) fn fit_middle(s: &str, px: f64, max_w: f64) -> (String, bool) {
    if text_width(s, px) <= max_w {
        return (s.to_string(), false);
    }
    let budget = (max_w - char_em('…') * px).max(0.0);
    let chars: Vec<char> = s.chars().collect();
    // Give the end a bit less than half: the start usually names the thing.
    let (mut head, mut tail) = (String::new(), Vec::new());
    let (mut w_head, mut w_tail) = (0.0, 0.0);
    let (mut i, mut j) = (0usize, chars.len());
    while i < j {
        let take_head = w_head <= w_tail * 1.3;
        let c = if take_head { chars[i] } else { chars[j - 1] };
        let w = char_em(c) * px;
        if w_head + w_tail + w > budget {
            break;
        }
        if take_head {
            head.push(c);
            w_head += w;
            i += 1;
        } else {
            tail.push(c);
            w_tail += w;
            j -= 1;
        }
    }
    let tail: String = tail.iter().rev().collect();
    (format!("{}…{}", head.trim_end(), tail.trim_start()), true)
}

/// Horizontal anchoring of a text element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

/// Vertical placement of a text element relative to its `y`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Baseline {
    /// `y` is the top of the text.
    Top,
    /// `y` is the middle of the text.
    Middle,
    /// `y` is the alphabetic baseline.
    Alphabetic,
}

/// One hand-written text element.
#[derive(Debug, Clone)]
pub(crate) struct Text<'a> {
    pub x: f64,
    pub y: f64,
    /// Cleaned, unescaped text.
    pub text: &'a str,
    pub px: f64,
    pub anchor: Anchor,
    pub baseline: Baseline,
    pub bold: bool,
    /// Rotation in degrees around (x, y), negative is counter-clockwise.
    pub rotate: Option<f64>,
    /// Full text shown as a tooltip, for labels that were shortened.
    pub tooltip: Option<&'a str>,
    /// Opacity below 1 for secondary text (notes).
    pub opacity: Option<f64>,
}

impl<'a> Text<'a> {
    /// Start-anchored, middle-aligned text of size `px` at (x, y).
    pub(crate) fn new(x: f64, y: f64, text: &'a str, px: f64) -> Self {
        Self {
            x,
            y,
            text,
            px,
            anchor: Anchor::Start,
            baseline: Baseline::Middle,
            bold: false,
            rotate: None,
            tooltip: None,
            opacity: None,
        }
    }
    pub(crate) fn anchor(mut self, a: Anchor) -> Self {
        self.anchor = a;
        self
    }
    pub(crate) fn baseline(mut self, b: Baseline) -> Self {
        self.baseline = b;
        self
    }
    pub(crate) fn bold(mut self) -> Self {
        self.bold = true;
        self
    }
    pub(crate) fn rotate(mut self, deg: f64) -> Self {
        self.rotate = Some(deg);
        self
    }
    pub(crate) fn tooltip(mut self, t: Option<&'a str>) -> Self {
        self.tooltip = t;
        self
    }
    pub(crate) fn opacity(mut self, o: f64) -> Self {
        self.opacity = Some(o);
        self
    }
}

/// Number formatting for coordinates: one decimal, trailing ".0" dropped, so output is
/// compact and deterministic.
pub(crate) fn num(v: f64) -> String {
    if !v.is_finite() {
        return "0".into();
    }
    let r = (v * 10.0).round() / 10.0;
    let s = format!("{r:.1}");
    let s = s.strip_suffix(".0").unwrap_or(&s).to_string();
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// SVG written by hand, appended on top of what plotters drew.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    buf: String,
}

impl Overlay {
    /// Append a text element in `currentColor`.
    pub(crate) fn text(&mut self, t: &Text<'_>) {
        let anchor = match t.anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let b = &mut self.buf;
        let _ = write!(
            b,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"currentColor\"",
            num(t.x),
            num(t.y),
            num(t.px)
        );
        if anchor != "start" {
            let _ = write!(b, " text-anchor=\"{anchor}\"");
        }
        match t.baseline {
            Baseline::Top => b.push_str(" dy=\"0.76em\""),
            Baseline::Middle => b.push_str(" dy=\"0.35em\""),
            Baseline::Alphabetic => {}
        }
        if t.bold {
            b.push_str(" font-weight=\"bold\"");
        }
        if let Some(o) = t.opacity {
            let _ = write!(b, " opacity=\"{o}\"");
        }
        if let Some(r) = t.rotate {
            let _ = write!(
                b,
                " transform=\"rotate({} {} {})\"",
                num(r),
                num(t.x),
                num(t.y)
            );
        }
        b.push('>');
        if let Some(tip) = t.tooltip {
            let _ = write!(b, "<title>{}</title>", escape(tip));
        }
        b.push_str(&escape(t.text));
        b.push_str("</text>\n");
    }
}

/// Turn plotters' document into the final one: replace the root element (responsive,
/// accessible, themeable), rewrite sentinel colours, drop redundant `opacity="1"`, and add
/// the overlay on top.
pub(crate) fn finish(
    plotters_svg: &str,
    size: ChartSize,
    title: &str,
    desc: &str,
    overlay: &Overlay,
) -> String {
    let body_start = plotters_svg
        .find("<svg")
        .and_then(|s| plotters_svg[s..].find('>').map(|e| s + e + 1))
        .unwrap_or(0);
    let body = &plotters_svg[body_start..];
    let body = body.rfind("</svg>").map(|e| &body[..e]).unwrap_or(body);

    let mut out = String::with_capacity(body.len() + overlay.buf.len() + 512);
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"100%\" \
         role=\"img\" class=\"bench-chart\" font-family=\"sans-serif\">\n\
         <title>{t}</title>\n<desc>{d}</desc>\n",
        w = size.width,
        h = size.height,
        t = escape(title),
        d = escape(desc),
    );
    rewrite_colours(body, &mut out);
    out.push_str(&overlay.buf);
    out.push_str("</svg>\n");
    out
}

/// Copy `body` into `out`, rewriting sentinel colours and dropping `opacity="1"` and the
/// per-element `font-family` (set once on the root).
fn rewrite_colours(body: &str, out: &mut String) {
    let mut rest = body;
    while let Some(pos) = rest.find(['"', ' ']) {
        let (head, tail) = rest.split_at(pos);
        out.push_str(head);
        if let Some(t) = tail.strip_prefix(" opacity=\"1\"") {
            rest = t;
        } else if let Some(t) = tail.strip_prefix(" font-family=\"sans-serif\"") {
            rest = t;
        } else if tail.starts_with("\"#0102") && tail.len() >= 9 && tail.as_bytes()[8] == b'"' {
            let hex = &tail[1..8];
            if hex == FG_HEX {
                out.push_str("\"currentColor\"");
                rest = &tail[9..];
            } else if let Some(attrs) =
                line_sentinel_attrs(hex).or_else(|| (hex == REF_HEX).then(|| REF_ATTRS.to_string()))
            {
                // The sentinel only ever appears as a stroke; the attribute name was
                // already copied, so drop it again and write the full replacement.
                if out.ends_with("stroke=") {
                    out.truncate(out.len() - "stroke=".len());
                    out.push_str(&attrs);
                } else {
                    out.push_str(&tail[..9]);
                }
                rest = &tail[9..];
            } else {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_xml_specials() {
        assert_eq!(
            escape("<a & 'b' \"c\">"),
            "&lt;a &amp; &#39;b&#39; &quot;c&quot;&gt;"
        );
    }

    #[test]
    fn clean_removes_controls_and_caps_length() {
        assert_eq!(clean("a\u{0}b\n\tc\u{FFFF}"), "a b c");
        let long = "x".repeat(10_000);
        assert_eq!(clean(&long).chars().count(), MAX_LABEL_CHARS + 1);
    }

    #[test]
    fn fit_shortens_with_ellipsis() {
        let (s, cut) = fit("a very long label indeed", 12.0, 60.0);
        assert!(cut);
        assert!(s.ends_with('…'));
        assert!(text_width(&s, 12.0) <= 60.0 + 0.01);
        assert_eq!(fit("ok", 12.0, 60.0), ("ok".to_string(), false));
        let (m, cut) = fit_middle("llama-3.1-8b q4 · M4 Max", 12.0, 100.0);
        assert!(cut && m.starts_with("lla") && m.ends_with("Max"), "{m}");
        assert!(text_width(&m, 12.0) <= 100.0 + 0.01);
    }

    #[test]
    fn finish_rewrites_sentinels() {
        let raw = "<svg width=\"10\" height=\"10\">\n<line opacity=\"1\" stroke=\"#010203\"/>\n\
                   <polyline fill=\"none\" stroke=\"#010211\"/>\n</svg>\n";
        let out = finish(raw, ChartSize::default(), "t", "d", &Overlay::default());
        assert!(out.contains("<line stroke=\"currentColor\"/>"));
        assert!(out.contains("stroke=\"#56B4E9\" stroke-dasharray=\"7 3\""));
        assert!(!out.contains("#0102"));
    }
}
