//! Load patterns end to end: `bench run` drives a scripted server on 127.0.0.1 that answers
//! many requests at once, counts how many are in flight, and refuses some with 429. Checked:
//! the closed loop keeps exactly `concurrency` in flight, warmup requests are sent but not
//! stored, open-loop schedules are exact and seeded, failures are counted per kind, and every
//! request and pattern is stored.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

mod common;
use common::{only_run_dir, read_jsonl, run_suite, write_token_chunk, HttpRequest};

/// What the scripted server saw.
#[derive(Default)]
struct Seen {
    requests: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// A server that answers each connection on its own thread: after `work`, it streams
/// `max_tokens` one-token chunks; every `refuse_every`-th request (1-based, 0 for none) gets
/// 429 with `Retry-After: 1` instead.
fn server(work: Duration, refuse_every: usize) -> (String, Arc<Seen>) {
    server_with(move |_| work, refuse_every)
}

/// [`server`] whose work per request depends on the time since the server started.
fn server_with(
    work: impl Fn(Duration) -> Duration + Send + Sync + Copy + 'static,
    refuse_every: usize,
) -> (String, Arc<Seen>) {
    let started = std::time::Instant::now();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Seen::default());
    let shared = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = shared.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &seen, work(started.elapsed()), refuse_every);
            });
        }
    });
    (url, seen)
}

fn answer(
    mut stream: TcpStream,
    seen: &Seen,
    work: Duration,
    refuse_every: usize,
) -> std::io::Result<()> {
    let http = HttpRequest::read(&stream)?;
    let post = http.method == "POST";
    if post && http.path != "/v1/chat/completions" {
        // No /tokenize here: bench sizes prompts with the model folder's tokenizer.
        return stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    if !post {
        // GET /v1/models at load.
        return stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"data\":[]}",
        );
    }
    let n = seen.requests.fetch_add(1, Ordering::SeqCst) + 1;
    if refuse_every > 0 && n.is_multiple_of(refuse_every) {
        return stream.write_all(
            b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbusy",
        );
    }
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let request = http.json();
    let max_tokens = request["max_tokens"].as_u64().unwrap_or(1);
    std::thread::sleep(work);
    let result = (|| {
        stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
        )?;
        for i in 0..max_tokens {
            write_token_chunk(&mut stream, i, max_tokens)?;
            std::thread::sleep(Duration::from_millis(2));
        }
        write!(
            stream,
            "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":16,\"completion_tokens\":{max_tokens}}}}}\n\ndata: [DONE]\n\n"
        )
    })();
    seen.in_flight.fetch_sub(1, Ordering::SeqCst);
    result
}

fn suite(dir: &Path, url: &str, workload: &str) -> std::path::PathBuf {
    let text = format!(
        r#"[suite]
name = "load"
repetitions = 2
warmup = 0

[power]
sampler = "none"

[[target]]
name = "server"
engine = "openai"
model = "synth:tiny"
served_model = "tiny"
url = "{url}"
timeout_s = 10

[[workload]]
name = "w"
kind = "llm"
prompt_tokens = 16
gen_tokens = 4
{workload}
"#
    );
    let path = dir.join("load.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_closed_loop_keeps_its_concurrency_and_stores_every_measured_request() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, seen) = server(Duration::from_millis(60), 0);
    let path = suite(
        tmp.path(),
        &url,
        "concurrency = 4\nrequests = 12\nwarmup_requests = 2",
    );
    let out = run_suite(tmp.path(), &path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    // Two repetitions of 2 warmup + 12 measured requests, never more than 4 at once, and
    // (each taking 60 ms, 12 per pattern) the server did see 4 at once.
    assert_eq!(seen.requests.load(Ordering::SeqCst), 28);
    assert_eq!(seen.max_in_flight.load(Ordering::SeqCst), 4);

    let dir = only_run_dir(&tmp.path().join("results"));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 24, "warmup requests are not stored");
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["case"], "server/w/p16-g4-c4");
        assert_eq!(r["output_tokens"], 4);
        let load = &r["load"];
        assert!(load["index"].as_u64().unwrap() >= 2, "warmups are 0 and 1");
        assert_eq!(load["queue_s"], 0.0, "a closed loop has no queue");
        assert!(r["metrics"]["schedule_lag_s"].as_f64().unwrap() >= 0.0);
    }
    let loads = read_jsonl(&dir.join("loads.jsonl"));
    assert_eq!(loads.len(), 2);
    for (rep, l) in loads.iter().enumerate() {
        assert_eq!(l["repetition"], rep as u64);
        assert_eq!((l["sent"].as_u64(), l["ok"].as_u64()), (Some(12), Some(12)));
        assert_eq!(l["warmup_sent"], 2);
        assert_eq!(l["pattern"]["arrival"]["kind"], "closed");
        assert!(l["output_tps"].as_f64().unwrap() > 0.0);
        assert!(
            l["client_cpu_s"].as_f64().unwrap() > 0.0,
            "bench reports its own cost"
        );
        assert!(l["client_cpu_s_per_1k_tokens"].as_f64().is_some());
        let mine = records
            .iter()
            .filter(|r| r["load"]["run_t_s"] == l["t_start_s"])
            .count();
        assert_eq!(mine, 12, "each request points at its pattern");
    }
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    for metric in [
        "ttft_s",
        "schedule_lag_s",
        "achieved_rate_rps",
        "output_tps",
    ] {
        assert!(summary.contains(&format!(",{metric},")), "{summary}");
    }
    // A server whose device was not named has no roofline ceiling, and the line says so.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "roofline: server/w/p16-g4-c4 no ceiling: bench cannot tell where a server computes"
        ),
        "{stdout}"
    );
}

#[test]
fn a_server_on_this_machines_cpu_gets_aggregate_roofline_figures() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let calibrate = common::bench()
        .args(["calibrate", "--sizes", "64", "--budget-ms", "20"])
        .args(["--read-mib", "16", "--read-trials", "1", "--results"])
        .arg(&results)
        .output()
        .unwrap();
    assert!(
        calibrate.status.success(),
        "{}",
        String::from_utf8_lossy(&calibrate.stderr)
    );
    let (url, _) = server(Duration::from_millis(30), 0);
    let path = suite(tmp.path(), &url, "concurrency = 4\nrequests = 8");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("timeout_s = 10", "timeout_s = 10\nserver_device = \"cpu\"");
    std::fs::write(&path, text).unwrap();
    let out = run_suite(tmp.path(), &path, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("roofline: server/w/p16-g4-c4"))
        .unwrap_or_else(|| panic!("a roofline line:\n{stdout}"));
    assert!(
        line.contains("aggregate decode MBU") && line.contains("aggregate MFU"),
        "{line}"
    );
    assert!(line.contains("[calibration:"), "{line}");
    let run = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_dir() && !p.ends_with("calibration"))
        .unwrap();
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["engines"]["server"]["roofline_device"], "cpu");
    let mut csv = csv::Reader::from_path(run.join("summary.csv")).unwrap();
    let headers = csv.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (mbu, mfu) = (column("aggregate_decode_mbu"), column("aggregate_mfu"));
    for row in csv.records() {
        let row = row.unwrap();
        for i in [mbu, mfu] {
            let v: f64 = row[i].parse().unwrap();
            assert!(v.is_finite() && v > 0.0, "{} = {v}", &headers[i]);
        }
    }
}

#[test]
fn an_open_loop_follows_its_seeded_schedule_and_counts_refusals_by_kind() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, seen) = server(Duration::from_millis(20), 5);
    let path = suite(
        tmp.path(),
        &url,
        "rate = 25\narrival = \"poisson\"\nseed = 42\nrequests = 10",
    );
    let out = run_suite(tmp.path(), &path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "refused requests are results: {stderr}"
    );
    assert!(stderr.contains("429"), "{stderr}");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 20);

    let dir = only_run_dir(&tmp.path().join("results"));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 20);
    let refused: Vec<&Value> = records.iter().filter(|r| r["status"] == "error").collect();
    assert_eq!(refused.len(), 4, "every fifth of 20 requests");
    for r in &refused {
        assert_eq!(r["error_kind"], "status");
        assert!(r["error"].as_str().unwrap().contains("429"), "{r}");
    }
    // The same seed gives both repetitions the same schedule.
    let schedule = |rep: u64| -> BTreeMap<u64, f64> {
        records
            .iter()
            .filter(|r| r["repetition"] == rep)
            .map(|r| {
                (
                    r["load"]["index"].as_u64().unwrap(),
                    r["load"]["scheduled_s"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let (first, second) = (schedule(0), schedule(1));
    assert_eq!(first.len(), 10);
    assert_eq!(first, second);
    assert_eq!(first[&0], 0.0);
    let loads = read_jsonl(&dir.join("loads.jsonl"));
    for l in &loads {
        assert_eq!(l["offered_rate_rps"], 25.0);
        assert_eq!(l["pattern"]["arrival"]["seed"], 42);
        assert_eq!(l["sent"], 10);
        assert!(l["achieved_rate_rps"].as_f64().unwrap() > 0.0);
    }
    let errors: u64 = loads
        .iter()
        .map(|l| l["errors"]["status"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(errors, 4);
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.contains("server/w/p16-g4-r25"), "{out}");
    assert!(
        out.contains("4 status"),
        "the table counts failures by kind: {out}"
    );
}

/// A workload's `slo` end to end: each pattern's attainment counts refused requests as
/// failing, goodput counts only the requests that met every bound, and a bound nobody meets
/// gives 0 (in `summary.csv`, where `bench compare` and `bench gate` read them).
#[test]
fn slo_attainment_and_goodput_of_each_pattern() {
    let tmp = tempfile::tempdir().unwrap();
    // Every 4th request is refused: 3 of each pattern's 12.
    let (url, _seen) = server(Duration::from_millis(60), 4);
    let path = suite(
        tmp.path(),
        &url,
        "concurrency = 4\nrequests = 12\nslo = { ttft_s = 5.0, tpot_s = 1.0 }",
    );
    let text = std::fs::read_to_string(&path).unwrap()
        + "\n[[workload]]\nname = \"strict\"\nkind = \"llm\"\nprompt_tokens = 16\ngen_tokens = 4\nconcurrency = 4\nrequests = 12\nslo = { ttft_s = 0.001 }\n";
    std::fs::write(&path, text).unwrap();
    let out = run_suite(tmp.path(), &path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let dir = only_run_dir(&tmp.path().join("results"));
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(summary.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let (case, metric, mean, n) = (
        column("case"),
        column("metric"),
        column("mean"),
        column("n"),
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let value = |case_prefix: &str, name: &str| -> (f64, String) {
        let row = rows
            .iter()
            .find(|r| r[case].starts_with(case_prefix) && &r[metric] == name)
            .unwrap_or_else(|| panic!("no {name} for {case_prefix}: {summary}\n{stderr}"));
        (row[mean].parse().unwrap(), row[n].to_string())
    };
    let (attained, patterns) = value("server/w/", "slo_attainment");
    assert!((attained - 0.75).abs() < 1e-9, "{attained}: {summary}");
    assert_eq!(patterns, "2");
    let (goodput_rps, _) = value("server/w/", "goodput_rps");
    let (goodput_tps, _) = value("server/w/", "goodput_tps");
    let (throughput_rps, _) = value("server/w/", "request_throughput_rps");
    // Every request that was not refused met the bounds: goodput is the throughput of ok ones.
    assert!(goodput_rps > 0.0, "{summary}");
    assert!(
        (goodput_rps / throughput_rps - 1.0).abs() < 1e-9,
        "{summary}"
    );
    assert!((goodput_tps / goodput_rps - 4.0).abs() < 1e-9, "{summary}");
    assert_eq!(value("server/strict/", "slo_attainment").0, 0.0);
    assert_eq!(value("server/strict/", "goodput_rps").0, 0.0);

    // Goodput is a metric compare (and gate) can be asked for by name.
    let out = common::bench()
        .args(["compare", "--metric", "goodput_rps", "--format", "json"])
        .arg(&dir)
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("goodput_rps"), "{stdout}");
}

#[test]
fn a_soak_that_slows_down_reports_its_throughput_over_time_and_the_drop() {
    // Fast for the first 2 s, then 30 times slower: the last third of a 6 s soak makes far
    // fewer tokens per second than the first.
    let (url, _) = server_with(
        |since| {
            if since < Duration::from_secs(2) {
                Duration::from_millis(5)
            } else {
                Duration::from_millis(150)
            }
        },
        0,
    );
    let tmp = tempfile::tempdir().unwrap();
    let path = suite(tmp.path(), &url, "concurrency = 1\nduration_s = 6");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("repetitions = 2", "repetitions = 1");
    std::fs::write(&path, text).unwrap();
    let out = run_suite(tmp.path(), &path, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = only_run_dir(&tmp.path().join("results"));
    let loads = read_jsonl(&dir.join("loads.jsonl"));
    assert_eq!(loads.len(), 1);
    let sustained = &loads[0]["sustained"];
    assert_eq!(
        sustained["timeline_tps"].as_array().unwrap().len(),
        10,
        "{sustained}"
    );
    let window = sustained["window_s"].as_f64().unwrap();
    assert!(
        (1.5..=2.5).contains(&window),
        "a third of the run: {sustained}"
    );
    let first = sustained["first_tps"].as_f64().unwrap();
    let last = sustained["last_tps"].as_f64().unwrap();
    assert!(first > last, "{sustained}");
    let drop = sustained["drop_pct"].as_f64().unwrap();
    assert!(drop > 30.0, "{sustained}");
    assert!((drop - (first - last) / first * 100.0).abs() < 1e-9);
    // The drop is a load metric of the summary too.
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(summary.contains("throughput_drop_pct"), "{summary}");
}
