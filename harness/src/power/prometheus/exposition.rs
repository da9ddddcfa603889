//! The Prometheus text exposition format (version 0.0.4), as exporters serve it at `/metrics`:
//! `# HELP` / `# TYPE` comments, samples `name{label="value",...} value [timestamp]`.
//!
//! Also read, because exporters and Prometheus 3 emit them: quoted UTF-8 metric and label names
//! (`{"my.metric","my.label"="v"}`), a trailing comma in the label set, OpenMetrics `# EOF` /
//! `# UNIT` lines and exemplars after the value (`... 1.0 # {trace_id="x"} 1.0`).

use std::collections::{BTreeMap, HashMap};

use crate::power::{Position, PowerError};

/// The metric type a `# TYPE` line declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricKind {
    /// A cumulative value that only goes up (until the exporter restarts).
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// A histogram's `_bucket`, `_sum` or `_count` series.
    Histogram,
    /// A summary's quantiles, `_sum` or `_count`.
    Summary,
    /// No `# TYPE` line, `untyped`, or a type this reader does not know.
    #[default]
    Untyped,
}

/// One sample line of an exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint {
    /// Metric name (`DCGM_FI_DEV_POWER_USAGE`).
    pub name: String,
    /// Labels, unescaped.
    pub labels: BTreeMap<String, String>,
    /// The value; `NaN` and infinities are kept as written.
    pub value: f64,
    /// The exporter's own timestamp, milliseconds since the Unix epoch, where it gave one.
    pub timestamp_ms: Option<i64>,
    /// The type its `# TYPE` line declared.
    pub kind: MetricKind,
}

const FORMAT: &str = "prometheus";

/// Parse a whole exposition. Errors name the 1-based line.
pub fn parse_exposition(text: &str) -> Result<Vec<MetricPoint>, PowerError> {
    let mut types: HashMap<String, MetricKind> = HashMap::new();
    let mut points = Vec::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let malformed = |message: String| PowerError::Malformed {
            format: FORMAT,
            position: Position::Line(line_no),
            message,
        };
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let line = line.trim_start_matches([' ', '\t']);
        if line.trim_end_matches([' ', '\t']).is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            if let Some((name, kind)) = type_line(comment).map_err(malformed)? {
                types.insert(name, kind);
            }
            continue;
        }
        let mut point = sample_line(line).map_err(malformed)?;
        point.kind = kind_of(&types, &point.name);
        points.push(point);
    }
    Ok(points)
}

/// The metric and type of a `# TYPE` comment; `None` for any other comment.
fn type_line(comment: &str) -> Result<Option<(String, MetricKind)>, String> {
    let mut words = comment.split([' ', '\t']).filter(|w| !w.is_empty());
    if words.next() != Some("TYPE") {
        return Ok(None);
    }
    let (Some(name), Some(kind)) = (words.next(), words.next()) else {
        return Err("`# TYPE` needs a metric name and a type".into());
    };
    // Lenient on purpose: an exporter's new type must not cost the power figures.
    let kind = match kind {
        "counter" => MetricKind::Counter,
        "gauge" => MetricKind::Gauge,
        "histogram" | "gaugehistogram" => MetricKind::Histogram,
        "summary" => MetricKind::Summary,
        _ => MetricKind::Untyped,
    };
    Ok(Some((unquote_name(name), kind)))
}

fn unquote_name(name: &str) -> String {
    name.strip_prefix('"')
        .and_then(|n| n.strip_suffix('"'))
        .unwrap_or(name)
        .to_string()
}

/// A series' type: its own `# TYPE`, or its family's (`x_bucket` of histogram `x`,
/// OpenMetrics counter `x` sampled as `x_total`).
fn kind_of(types: &HashMap<String, MetricKind>, name: &str) -> MetricKind {
    if let Some(kind) = types.get(name) {
        return *kind;
    }
    for (suffix, family) in [
        ("_bucket", &[MetricKind::Histogram][..]),
        ("_sum", &[MetricKind::Histogram, MetricKind::Summary]),
        ("_count", &[MetricKind::Histogram, MetricKind::Summary]),
        ("_total", &[MetricKind::Counter]),
        ("_created", &[MetricKind::Counter]),
    ] {
        if let Some(kind) = name.strip_suffix(suffix).and_then(|base| types.get(base)) {
            if family.contains(kind) {
                return *kind;
            }
        }
    }
    MetricKind::Untyped
}

/// A cursor over one sample line.
struct Cursor<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.line.as_bytes().get(self.pos).copied()
    }

    fn rest(&self) -> &'a str {
        &self.line[self.pos..]
    }

    fn skip_blanks(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// A bare name: `[a-zA-Z_:][a-zA-Z0-9_:]*` (colons only where `colons`).
    fn name(&mut self, colons: bool) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            let ok = b.is_ascii_alphabetic()
                || b == b'_'
                || (colons && b == b':')
                || (self.pos > start && b.is_ascii_digit());
            if !ok {
                break;
            }
            self.pos += 1;
        }
        &self.line[start..self.pos]
    }

    /// A double-quoted string with `\\`, `\"` and `\n` escapes; the cursor is on the quote.
    fn quoted(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, '\\')) => out.push('\\'),
                    Some((_, '"')) => out.push('"'),
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, other)) => {
                        return Err(format!(
                        "invalid escape `\\{other}` in a quoted string (only \\\\, \\\" and \\n)"
                    ))
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err("a quoted string is not closed".into())
    }

    /// A label or metric name, bare or quoted.
    fn label_name(&mut self) -> Result<String, String> {
        if self.peek() == Some(b'"') {
            return self.quoted();
        }
        let name = self.name(false);
        if name.is_empty() {
            return Err(format!(
                "expected a label name at `{}`",
                excerpt(self.rest())
            ));
        }
        Ok(name.to_string())
    }

    /// The next blank-separated token.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while !matches!(self.peek(), None | Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        &self.line[start..self.pos]
    }
}

fn excerpt(s: &str) -> String {
    s.chars().take(24).collect()
}

fn sample_line(line: &str) -> Result<MetricPoint, String> {
    let mut cur = Cursor { line, pos: 0 };
    let mut name = cur.name(true).to_string();
    let mut labels = BTreeMap::new();
    cur.skip_blanks();
    if cur.peek() == Some(b'{') {
        cur.pos += 1;
        let mut first = true;
        loop {
            cur.skip_blanks();
            if cur.peek() == Some(b'}') {
                cur.pos += 1;
                break;
            }
            let label = cur.label_name()?;
            cur.skip_blanks();
            // Prometheus 3 puts a quoted metric name first inside the braces.
            if first && name.is_empty() && matches!(cur.peek(), Some(b',' | b'}')) {
                name = label;
            } else {
                if cur.peek() != Some(b'=') {
                    return Err(format!(
                        "expected `=` after label `{label}`, found `{}`",
                        excerpt(cur.rest())
                    ));
                }
                cur.pos += 1;
                cur.skip_blanks();
                if cur.peek() != Some(b'"') {
                    return Err(format!(
                        "the value of label `{label}` must be in double quotes"
                    ));
                }
                let value = cur.quoted()?;
                labels.insert(label, value);
                cur.skip_blanks();
            }
            first = false;
            match cur.peek() {
                Some(b',') => cur.pos += 1,
                Some(b'}') => {}
                _ => {
                    return Err(format!(
                        "expected `,` or `}}` in the label set, found `{}`",
                        excerpt(cur.rest())
                    ))
                }
            }
        }
    }
    if name.is_empty() {
        return Err(format!(
            "expected a metric name at `{}`",
            excerpt(line.trim_end())
        ));
    }
    cur.skip_blanks();
    let value_text = cur.token();
    if value_text.is_empty() {
        return Err(format!("`{name}` has no value"));
    }
    let value = parse_value(value_text)
        .ok_or_else(|| format!("the value of `{name}`, `{value_text}`, is not a number"))?;
    cur.skip_blanks();
    let mut timestamp_ms = None;
    if !matches!(cur.peek(), None | Some(b'#')) {
        let ts = cur.token();
        timestamp_ms = Some(
            parse_timestamp(ts)
                .ok_or_else(|| format!("the timestamp of `{name}`, `{ts}`, is not a number"))?,
        );
        cur.skip_blanks();
    }
    // What follows a `#` is an OpenMetrics exemplar: not needed here.
    if !matches!(cur.peek(), None | Some(b'#')) {
        return Err(format!(
            "unexpected `{}` after the value of `{name}`",
            excerpt(cur.rest())
        ));
    }
    Ok(MetricPoint {
        name,
        labels,
        value,
        timestamp_ms,
        kind: MetricKind::Untyped,
    })
}

/// A float as Go's `strconv.ParseFloat` writes it: `1.5`, `1e3`, `NaN`, `+Inf`, `-Inf`.
fn parse_value(text: &str) -> Option<f64> {
    text.parse::<f64>().ok()
}

/// Milliseconds (the text format's int64); a float is OpenMetrics' seconds.
fn parse_timestamp(text: &str) -> Option<i64> {
    if let Ok(ms) = text.parse::<i64>() {
        return Some(ms);
    }
    let seconds = text.parse::<f64>().ok().filter(|s| s.is_finite())?;
    Some((seconds * 1000.0).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_of(err: PowerError) -> usize {
        match err {
            PowerError::Malformed {
                format: "prometheus",
                position: Position::Line(line),
                ..
            } => line,
            other => panic!("not a prometheus line error: {other:?}"),
        }
    }

    #[test]
    fn reads_types_labels_timestamps_and_special_values() {
        let text = "# HELP http_requests_total The total number of HTTP requests.\n\
                    # TYPE http_requests_total counter\n\
                    http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n\
                    http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\r\n\
                    \n\
                    # A normal comment.\n\
                    msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n\
                    metric_without_timestamp_and_labels 12.47\n\
                    something_weird{problem=\"division by zero\"} +Inf -3982045\n\
                    not_a_number NaN\n\
                    negative_infinity -Inf\n\
                    # TYPE rpc_duration_seconds summary\n\
                    rpc_duration_seconds{quantile=\"0.5\"} 4773\n\
                    rpc_duration_seconds_count 2693\n";
        let points = parse_exposition(text).unwrap();
        assert_eq!(points.len(), 9);
        assert_eq!(points[0].name, "http_requests_total");
        assert_eq!(points[0].kind, MetricKind::Counter);
        assert_eq!(points[0].labels["method"], "post");
        assert_eq!(points[0].labels["code"], "200");
        assert_eq!(points[0].value, 1027.0);
        assert_eq!(points[0].timestamp_ms, Some(1_395_066_363_000));
        assert_eq!(points[1].value, 3.0);
        assert_eq!(points[2].labels["path"], r"C:\DIR\FILE.TXT");
        assert_eq!(points[2].labels["error"], "Cannot find file:\n\"FILE.TXT\"");
        assert_eq!(points[2].value, 1.458255915e9);
        assert_eq!(points[3].kind, MetricKind::Untyped);
        assert!(points[3].labels.is_empty());
        assert_eq!(points[4].value, f64::INFINITY);
        assert_eq!(points[4].timestamp_ms, Some(-3_982_045));
        assert!(points[5].value.is_nan());
        assert_eq!(points[6].value, f64::NEG_INFINITY);
        assert_eq!(points[7].kind, MetricKind::Summary);
        assert_eq!(points[8].kind, MetricKind::Summary);
    }

    #[test]
    fn reads_spaces_trailing_commas_quoted_names_and_exemplars() {
        let text = "DCGM_FI_DEV_SM_CLOCK{gpu=\"0\", UUID=\"GPU-604ac76c\",} 139\n\
                    {\"my.metric\", \"my.label\"=\"a,b}\"} 2\n\
                    # TYPE foo counter\n\
                    foo_total{a=\"1\"} 5 # {trace_id=\"abc\"} 1.0\n\
                    # EOF\n";
        let points = parse_exposition(text).unwrap();
        assert_eq!(points[0].labels["UUID"], "GPU-604ac76c");
        assert_eq!(points[0].labels.len(), 2);
        assert_eq!(points[1].name, "my.metric");
        assert_eq!(points[1].labels["my.label"], "a,b}");
        assert_eq!(points[2].kind, MetricKind::Counter);
        assert_eq!(points[2].value, 5.0);
    }

    #[test]
    fn errors_name_the_line() {
        for (text, line) in [
            ("ok 1\n\nbroken{a=\"1\" 2\n", 3),
            ("ok 1\nno_value\n", 2),
            ("ok 1\nok 2\nbad_value{a=\"x\"} twelve\n", 3),
            ("bad_escape{a=\"\\t\"} 1\n", 1),
            ("unclosed{a=\"1} 1\n", 1),
            ("unquoted{a=1} 1\n", 1),
            ("# TYPE only_a_name\n", 1),
            ("x 1 2 3\n", 1),
            ("{} 1\n", 1),
        ] {
            let err = parse_exposition(text).unwrap_err();
            assert_eq!(line_of(err), line, "{text:?}");
        }
    }

    #[test]
    fn reads_the_macmon_serve_fixture() {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/apple/macmon_serve_metrics_prometheus_readme_example.txt"
        ));
        let points = parse_exposition(text).unwrap();
        let names: Vec<&str> = points.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "macmon_cpu_temp_celsius",
                "macmon_cpu_power_watts",
                "macmon_fan_speed_rpm",
                "macmon_cpu_scaled_ratio",
                "macmon_cpu_active_ratio",
                "macmon_ecpu_scaled_ratio",
                "macmon_ecpu_freq_mhz",
                "macmon_ecpu_active_ratio",
            ]
        );
        assert!(points.iter().all(|p| p.kind == MetricKind::Gauge));
        assert!(points.iter().all(|p| p.labels["chip"] == "Apple M3 Pro"));
        assert_eq!(points[1].value, 8.42);
        assert_eq!(points[2].labels["fan"], "fan0");
        assert_eq!(points[2].value, 1234.0);
    }
}
