use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;
use crate::clock::RunClock;
use crate::power::http::test_server::{self, Then};
use crate::power::Source;

use crate::power::testing::{fixture_text as fixture, rails};

/// The annotated README examples as the one-line JSON macmon prints: `//` comments, then
/// trailing commas, removed.
pub(crate) fn jsonc_value(text: &str) -> Value {
    let plain = outside_strings(text, |c, rest| {
        if c == '/' && rest.starts_with('/') {
            let skip = rest.find('\n').unwrap_or(rest.len());
            (None, skip)
        } else {
            (Some(c), 0)
        }
    });
    let plain = outside_strings(&plain, |c, rest| {
        let trailing = c == ',' && rest.trim_start().starts_with(['}', ']']);
        ((!trailing).then_some(c), 0)
    });
    serde_json::from_str(&plain).unwrap()
}

/// `text` with `edit(char, rest after it) -> (keep?, chars of rest to skip)` applied to each
/// character outside JSON strings.
fn outside_strings(text: &str, edit: impl Fn(char, &str) -> (Option<char>, usize)) -> String {
    let mut out = String::new();
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while let Some(c) = text[i..].chars().next() {
        i += c.len_utf8();
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        in_string = c == '"';
        let (keep, skip) = edit(c, &text[i..]);
        out.extend(keep);
        i += skip;
    }
    out
}

fn v08() -> Value {
    jsonc_value(&fixture("macmon_pipe_json_v0.8_readme_example.jsonc"))
}

fn v07() -> Value {
    jsonc_value(&fixture("macmon_pipe_json_v0.6-0.7_readme_example.jsonc"))
}

/// Figures as written in both README examples.
const FIXTURE_RAILS: &[(&str, Scope, f64)] = &[
    ("cpu", Scope::Cpu, 0.20486385),
    ("gpu", Scope::Gpu, 0.017451683),
    ("ane", Scope::Ane, 0.0),
    ("combined", Scope::CpuGpuAne, 0.22231553),
    ("sys", Scope::System, 5.876533),
    ("ram", Scope::Dram, 0.11635789),
    ("gpu_ram", Scope::Other, 0.0009615385),
];

#[test]
fn reads_the_v08_fixture() {
    let sample = parse_line(&v08().to_string()).unwrap();
    assert_eq!(rails(&sample), FIXTURE_RAILS);
    assert!(sample.rails.iter().all(|r| r.counter_j.is_none()));
    assert_eq!(sample.source, "macmon");
    assert_eq!(
        sample.utc.as_deref(),
        Some("2025-02-24T20:38:15.427569+00:00")
    );
    assert_eq!(sample.thermal.temps_c["cpu_avg"], 43.73614);
    assert_eq!(sample.thermal.temps_c["gpu_avg"], 36.95167);
    assert_eq!(sample.thermal.temps_c.len(), 2);
    assert_eq!(sample.thermal.clocks_mhz["ecpu"], 1100.0);
    assert_eq!(sample.thermal.clocks_mhz["pcpu"], 1800.0);
    assert_eq!(sample.thermal.clocks_mhz["gpu"], 461.0);
    assert_eq!(
        (sample.t_s, sample.window_s, sample.host.clone()),
        (0.0, 0.0, None)
    );
    // all_power is cpu + gpu + ane in macmon.
    assert!((0.20486385 + 0.017451683 + 0.0 - 0.22231553f64).abs() < 1e-7);
}

#[test]
fn reads_the_v06_v07_fixture_with_clock_tuples() {
    let sample = parse_line(&v07().to_string()).unwrap();
    assert_eq!(rails(&sample), FIXTURE_RAILS);
    assert_eq!(sample.thermal.clocks_mhz["ecpu"], 1181.0);
    assert_eq!(sample.thermal.clocks_mhz["pcpu"], 1974.0);
    assert_eq!(sample.thermal.clocks_mhz["gpu"], 461.0);
    assert_eq!(sample.thermal.temps_c["cpu_avg"], 43.73614);
}

#[test]
fn v081_lines_with_both_names_use_the_new_ones_and_ignore_unknown_fields() {
    // v0.8.1+ writes the v0.7 tuples beside the v0.8 names; later versions may add more.
    let mut line = v08();
    line["ecpu_usage"] = serde_json::json!([1181, 0.08]);
    line["cpu_usage_pct"] = serde_json::json!(0.04);
    line["soc"] = serde_json::json!({"chip_name": "Apple M3 Pro", "ecpu_cores": 6});
    line["npu"] = serde_json::json!({"new_power": 1.5, "nested": [1, {"x": null}]});
    let sample = parse_line(&line.to_string()).unwrap();
    assert_eq!(sample.thermal.clocks_mhz["ecpu"], 1100.0);
    assert_eq!(rails(&sample), FIXTURE_RAILS);
}

#[test]
fn sys_power_missing_or_zero_gives_no_sys_rail() {
    let mut line = v08();
    line.as_object_mut().unwrap().remove("sys_power");
    let sample = parse_line(&line.to_string()).unwrap();
    let names: Vec<&str> = sample.rails.iter().map(|r| r.rail.as_str()).collect();
    assert_eq!(names, ["cpu", "gpu", "ane", "combined", "ram", "gpu_ram"]);

    // macmon writes 0 when the SMC has no PSTR key; 0 W for a running Mac is no reading.
    line["sys_power"] = serde_json::json!(0.0);
    let sample = parse_line(&line.to_string()).unwrap();
    assert!(sample.rails.iter().all(|r| r.rail != "sys"));

    // Likewise temperatures of 0 (no valid sensor), and NaN written as null.
    line["temp"]["gpu_temp_avg"] = serde_json::json!(0.0);
    line["gpu_power"] = Value::Null;
    let sample = parse_line(&line.to_string()).unwrap();
    assert!(!sample.thermal.temps_c.contains_key("gpu_avg"));
    assert!(sample.rails.iter().all(|r| r.rail != "gpu"));
}

#[test]
fn lines_that_are_not_macmon_json_are_errors() {
    for (line, says) in [
        ("garbage", "not a JSON object"),
        ("[1, 2]", "not a JSON object"),
        (
            r#"{"timestamp": "2025-02-24T20:38:15+00:00", "temp": {}}"#,
            "no power field",
        ),
        (r#"{"cpu_power": "3 W"}"#, "`cpu_power` is not a number"),
    ] {
        let err = parse_line(line).unwrap_err();
        assert!(err.contains(says), "{line}: {err}");
    }
}

/// The v0.8 fixture line with another timestamp and CPU power.
fn line_at(timestamp: &str, cpu_power: f64) -> String {
    let mut line = v08();
    line["timestamp"] = Value::String(timestamp.into());
    line["cpu_power"] = serde_json::json!(cpu_power);
    line.to_string()
}

#[test]
fn import_places_samples_by_timestamp_and_keeps_those_before_a_bad_line() {
    let text = [
        line_at("2025-02-24T20:38:15.000+00:00", 1.0),
        line_at("2025-02-24T20:38:16.000+00:00", 2.0),
        String::new(),
        line_at("2025-02-24T21:38:17.200+01:00", 3.0), // another offset, same instant scale
        "{not json".into(),
        line_at("2025-02-24T20:38:18.100+00:00", 4.0),
    ]
    .join("\n");
    let imported = import(&text, None);
    // Gaps 1.0 and 1.2 s: the median window is 1.1 s.
    let times: Vec<(f64, f64)> = imported
        .samples
        .iter()
        .map(|s| (s.t_s, s.window_s))
        .collect();
    assert_eq!(times.len(), 3);
    for ((t, w), expected) in times.iter().zip([1.1, 2.1, 3.3]) {
        assert!((t - expected).abs() < 1e-9, "{times:?}");
        assert!((w - 1.1).abs() < 1e-9);
    }
    assert_eq!(imported.samples[2].rails[0].watts, Some(3.0));
    match imported.error {
        Some(PowerError::Malformed {
            format: "macmon",
            position: Position::Line(5),
            message,
        }) => assert!(message.contains("not a JSON object"), "{message}"),
        other => panic!("{other:?}"),
    }

    // A given interval is the window, whatever the gaps.
    let imported = import(&text, Some(0.5));
    let t: Vec<f64> = imported.samples.iter().map(|s| s.t_s).collect();
    for (t, expected) in t.iter().zip([0.5, 1.5, 2.7]) {
        assert!((t - expected).abs() < 1e-9, "{t}");
    }
    assert_eq!(imported.samples[0].window_s, 0.5);
}

#[test]
fn import_edge_cases() {
    // One sample: no gap to measure, so window 0 and t 0.
    let one = import(&line_at("2025-02-24T20:38:15+00:00", 1.0), None);
    assert!(one.error.is_none());
    assert_eq!((one.samples[0].t_s, one.samples[0].window_s), (0.0, 0.0));

    // Both README examples, CRLF line ends, trailing blank lines.
    let text = format!("{}\r\n{}\r\n\r\n", v07(), v08());
    let both = import(&text, Some(1.0));
    assert!(both.error.is_none(), "{:?}", both.error);
    assert_eq!(both.samples.len(), 2);

    // A line without a timestamp cannot be placed in time.
    let mut untimed = v08();
    untimed.as_object_mut().unwrap().remove("timestamp");
    let text = format!("{}\n{untimed}\n", line_at("2025-02-24T20:38:15+00:00", 1.0));
    let imported = import(&text, None);
    assert_eq!(imported.samples.len(), 1);
    assert!(matches!(
        imported.error,
        Some(PowerError::Malformed {
            position: Position::Line(2),
            ..
        })
    ));

    // Pretty-printed JSON gets a hint.
    let imported = import("{\n  \"cpu_power\": 1.0\n}\n", None);
    let message = imported.error.unwrap().to_string();
    assert!(
        message.contains("line 1") && message.contains("jq -c"),
        "{message}"
    );
}

/// A stand-in for macmon: `sh -c <script>`, which ignores the `pipe -i N` appended.
fn fake_macmon(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.args(["-c", script, "macmon"]);
    command
}

#[test]
fn pipe_source_stamps_lines_on_arrival_and_reports_the_exit_with_stderr() {
    let script = format!(
        "printf '%s\\n' '{}'; sleep 0.2; printf '%s\\n' '{}'; \
         echo 'Error: IOReport subscription failed' >&2; exit 3",
        line_at("2025-02-24T20:38:15+00:00", 1.5),
        v07()
    );
    let clock = RunClock::start();
    let mut source = MacmonPipeSource::spawn(fake_macmon(&script), 250).unwrap();
    assert_eq!(source.name(), "macmon");
    assert!(
        source.describe().contains("every 250 ms")
            && source
                .describe()
                .contains("cpu, gpu, ane, combined, sys, ram, gpu_ram"),
        "{}",
        source.describe()
    );
    let first = source.next(&clock).unwrap().unwrap();
    assert_eq!(first.rails[0].watts, Some(1.5));
    assert_eq!(first.window_s, 0.25);
    let second = source.next(&clock).unwrap().unwrap();
    assert_eq!(second.thermal.clocks_mhz["ecpu"], 1181.0);
    assert!(second.t_s - first.t_s > 0.1, "{} {}", first.t_s, second.t_s);
    match source.next(&clock) {
        Err(PowerError::Failed { reason, .. }) => {
            assert!(reason.contains("exit status: 3"), "{reason}");
            assert!(reason.contains("IOReport subscription failed"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pipe_source_skips_a_stray_line_but_not_three() {
    let good = line_at("2025-02-24T20:38:15+00:00", 1.0);
    let script = format!(
        "printf '%s\\n' '{good}' 'warning: something' '{good}' x y z '{good}'; exec sleep 30"
    );
    let clock = RunClock::start();
    let mut source = MacmonPipeSource::spawn(fake_macmon(&script), 100).unwrap();
    assert!(source.next(&clock).unwrap().is_some());
    assert!(source.next(&clock).unwrap().is_some());
    match source.next(&clock) {
        Err(PowerError::Malformed {
            format: "macmon",
            position: Position::Line(6),
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn pipe_source_interrupter_ends_a_blocked_next() {
    let script = format!(
        "printf '%s\\n' '{}'; exec sleep 30",
        line_at("2025-02-24T20:38:15+00:00", 1.0)
    );
    let clock = RunClock::start();
    let mut source = MacmonPipeSource::spawn(fake_macmon(&script), 100).unwrap();
    assert!(source.next(&clock).unwrap().is_some());
    let interrupt = source.interrupter().unwrap();
    let started = Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        interrupt();
    });
    assert!(source.next(&clock).unwrap().is_none());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn pipe_source_is_unavailable_without_macmon_or_when_it_dies_at_once() {
    match MacmonPipeSource::open_program("/nonexistent/macmon", 1000) {
        Err(PowerError::Unavailable { reason, .. }) => {
            assert!(reason.contains("brew install macmon"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let dies = fake_macmon("echo 'Error: Failed to get channels' >&2; exit 1");
    match MacmonPipeSource::spawn(dies, 100) {
        Err(PowerError::Unavailable { reason, .. }) => {
            assert!(reason.contains("Failed to get channels"), "{reason}");
            assert!(reason.contains("exit status: 1"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let talks = fake_macmon("echo 'Usage: macmon [OPTIONS]'; exec sleep 30");
    match MacmonPipeSource::spawn(talks, 100) {
        Err(PowerError::Unavailable { reason, .. }) => {
            assert!(reason.contains("Usage: macmon"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    if !cfg!(target_os = "macos") {
        match MacmonPipeSource::open(1000) {
            Err(PowerError::Unavailable { reason, .. }) => {
                assert!(reason.contains("only on macOS"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn serve_source_polls_json_then_fails_when_the_server_goes() {
    let mut body = v08();
    body["soc"] = serde_json::json!({"chip_name": "Apple M3 Pro"});
    let body = body.to_string();
    let url = test_server::start(
        vec![
            (503, r#"{"error":"no data yet"}"#.into()),
            (200, body.clone()),
            (200, body.clone()),
            (200, body),
        ],
        Then::Close,
    );
    let clock = RunClock::start();
    // No path given: /json is added. The 503 is waited out.
    let mut source = MacmonServeSource::open(&url, Duration::from_millis(50)).unwrap();
    assert_eq!(source.url(), format!("{url}/json"));
    assert!(
        source.describe().contains("Apple M3 Pro"),
        "{}",
        source.describe()
    );
    let a = source.next(&clock).unwrap().unwrap();
    let b = source.next(&clock).unwrap().unwrap();
    assert_eq!(rails(&a), FIXTURE_RAILS);
    assert_eq!(a.window_s, 0.05);
    assert!(b.t_s > a.t_s);
    // Loopback is this machine: no host recorded.
    assert_eq!(a.host, None);
    match source.next(&clock) {
        Err(PowerError::Failed { reason, .. }) => {
            assert!(reason.contains("stopped answering"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn serve_source_fails_when_the_server_hangs() {
    let url = test_server::start(vec![(200, v08().to_string())], Then::Hang);
    let clock = RunClock::start();
    let mut source = MacmonServeSource::open_with_timeout(
        &format!("{url}/json"),
        Duration::from_millis(50),
        Duration::from_millis(300),
    )
    .unwrap();
    let started = Instant::now();
    assert!(matches!(
        source.next(&clock),
        Err(PowerError::Failed { .. })
    ));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[test]
fn serve_source_open_errors() {
    let https = MacmonServeSource::open("https://mac.local:9090", Duration::from_secs(1));
    match https {
        Err(PowerError::Unavailable { reason, .. }) => {
            assert!(reason.contains("no TLS"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    // A port nobody listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    match MacmonServeSource::open(&format!("127.0.0.1:{port}"), Duration::from_secs(1)) {
        Err(PowerError::Unavailable { reason, .. }) => {
            assert!(reason.contains("macmon serve"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
    let not_macmon = test_server::start(vec![(200, "{\"status\":\"ok\"}".into())], Then::Close);
    match MacmonServeSource::open(&not_macmon, Duration::from_secs(1)) {
        Err(PowerError::Unavailable { reason, .. }) => {
            assert!(reason.contains("no power field"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn remote_hosts_are_recorded_and_this_machine_is_not() {
    use crate::net::remote_host;
    use crate::power::http::endpoint_url;
    let host = |u: &str| remote_host(&endpoint_url("macmon", u, "/json").unwrap());
    assert_eq!(
        host("mac-studio.local:9090"),
        Some("mac-studio.local".into())
    );
    assert_eq!(host("http://10.0.0.7:9090/json"), Some("10.0.0.7".into()));
    assert_eq!(host("localhost:9090"), None);
    assert_eq!(host("http://[::1]:9090"), None);
    assert_eq!(host("127.0.0.1:9090"), None);
}

#[test]
fn serve_source_reports_a_refused_token() {
    use crate::power::http::HttpSettings;
    let url = test_server::start(vec![(401, "wrong bearer token".into())], Then::Close);
    let settings = HttpSettings::with_token(Some("guess".into()));
    match MacmonServeSource::open_with(&url, Duration::from_secs(1), &settings) {
        Err(PowerError::Unavailable { reason, .. }) => {
            assert!(reason.contains("refused the bearer token"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}
