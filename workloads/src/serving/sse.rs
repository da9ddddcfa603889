//! An incremental parser of Server-Sent Events as OpenAI-compatible servers stream them.
//!
//! Bytes arrive in arbitrary pieces: a line may be split across reads, several events may come
//! in one read, lines may end in `\n`, `\r\n` or `\r`. Comment lines (`: keepalive`, sent by
//! mlx_lm.server while the prompt is processed) and fields other than `data` are skipped;
//! multi-line `data` is joined with `\n`; an event ends at a blank line.

/// One event's data (the joined `data:` lines), as the server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A `data:` payload other than `[DONE]` (normally one JSON chunk).
    Data(String),
    /// `data: [DONE]`: the stream is over.
    Done,
}

/// Feeds bytes in, takes whole events out.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line not yet ended.
    partial: Vec<u8>,
    /// `data` lines of the event being read.
    data: Vec<String>,
    /// Whether the last byte seen was `\r` (a following `\n` belongs to the same line end).
    after_cr: bool,
    /// Comment lines seen (keepalives), for the record.
    comments: usize,
    /// The payload of the last `: generation_stats {...}` comment (exo sends its server-side
    /// figures this way before `[DONE]`).
    stats: Option<String>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse `bytes`, appending every event they complete to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' && self.after_cr {
                self.after_cr = false;
                start = i + 1;
                continue;
            }
            self.after_cr = b == b'\r';
            if b == b'\n' || b == b'\r' {
                self.partial.extend_from_slice(&bytes[start..i]);
                let line = std::mem::take(&mut self.partial);
                self.line(&line, out);
                start = i + 1;
            }
        }
        self.partial.extend_from_slice(&bytes[start..]);
    }

    /// The end of the stream: an event not closed by a blank line still counts (some servers
    /// end with `data: [DONE]` and no blank line).
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.line(&line, out);
        }
        self.dispatch(out);
    }

    /// Comment lines seen so far.
    pub fn comments(&self) -> usize {
        self.comments
    }

    /// The JSON of the last `: generation_stats` comment, if the server sent one.
    pub fn stats(&self) -> Option<&str> {
        self.stats.as_deref()
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            self.comments += 1;
            let text = String::from_utf8_lossy(&line[1..]);
            if let Some(stats) = text.trim_start().strip_prefix("generation_stats") {
                self.stats = Some(stats.trim().to_string());
            }
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        if field == b"data" {
            self.data.push(String::from_utf8_lossy(value).into_owned());
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        if self.data.is_empty() {
            return;
        }
        let data = self.data.join("\n");
        self.data.clear();
        out.push(if data.trim() == "[DONE]" {
            Event::Done
        } else {
            Event::Data(data)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = ": keepalive 1/4\n\n: keepalive 2/4\n\ndata: {\"a\":1}\n\ndata: {\"b\":\r\ndata: 2}\r\n\r\nevent: ping\nid: 7\nretry: 10\n\ndata:{\"c\":3}\n\ndata: [DONE]\n\n";

    fn events_of(pieces: &[&[u8]]) -> (Vec<Event>, usize) {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for piece in pieces {
            parser.feed(piece, &mut out);
        }
        parser.finish(&mut out);
        (out, parser.comments())
    }

    fn expected() -> Vec<Event> {
        vec![
            Event::Data("{\"a\":1}".into()),
            Event::Data("{\"b\":\n2}".into()),
            Event::Data("{\"c\":3}".into()),
            Event::Done,
        ]
    }

    #[test]
    fn whole_stream_comments_multiline_data_and_other_fields() {
        let (events, comments) = events_of(&[STREAM.as_bytes()]);
        assert_eq!(events, expected());
        assert_eq!(comments, 2);
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let bytes = STREAM.as_bytes();
        for size in 1..=7 {
            let pieces: Vec<&[u8]> = bytes.chunks(size).collect();
            assert_eq!(events_of(&pieces).0, expected(), "pieces of {size}");
        }
        // A split between `\r` and `\n` must not make an empty line (an early dispatch).
        let at = STREAM.find("2}\r\n").unwrap() + 3;
        assert_eq!(events_of(&[&bytes[..at], &bytes[at..]]).0, expected());
    }

    #[test]
    fn a_stream_cut_without_a_blank_line_still_yields_its_last_event() {
        let (events, _) = events_of(&[b"data: {\"a\":1}\n\ndata: [DONE]"]);
        assert_eq!(events, [Event::Data("{\"a\":1}".into()), Event::Done]);
    }

    #[test]
    fn garbage_yields_no_events() {
        let (events, _) = events_of(&[b"<html>\n<body>502 Bad Gateway</body>\n</html>\n"]);
        assert!(events.is_empty());
    }
}
