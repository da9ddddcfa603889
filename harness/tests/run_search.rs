//! `rate = "search"` end to end: `bench run` searches a scripted server of known capacity
//! (K workers, each request a fixed service time, first come first served), so requests meet
//! an end-to-end bound up to K / service time requests per second and queue ever longer
//! above it. Checked: the knee found is within 10 % of that capacity, every probe is stored
//! as a pattern run marked with its place in the search, `--json` carries the knee and the
//! curve, and the report draws the curve.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{only_run_dir, read_jsonl, write_token_chunk, HttpRequest};

/// Workers of the scripted server.
const WORKERS: usize = 8;
/// Time each request holds a worker.
const SERVICE: Duration = Duration::from_millis(100);
/// The rate it sustains: WORKERS / SERVICE.
const CAPACITY_RPS: f64 = 80.0;

/// When each worker is next free: a request takes the one free soonest, so requests are
/// served in the order they came, however the threads answering them are scheduled.
type Workers = Arc<Mutex<Vec<Instant>>>;

fn server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let workers: Workers = Arc::new(Mutex::new(vec![Instant::now(); WORKERS]));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let workers = workers.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &workers);
            });
        }
    });
    url
}

fn answer(mut stream: TcpStream, workers: &Workers) -> std::io::Result<()> {
    let http = HttpRequest::read(&stream)?;
    if http.method != "POST" {
        // GET /v1/models at load.
        return stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"data\":[]}",
        );
    }
    let arrived = Instant::now();
    let done = {
        let mut free = workers.lock().unwrap();
        let first = (0..free.len()).min_by_key(|&i| free[i]).unwrap();
        let start = free[first].max(arrived);
        free[first] = start + SERVICE;
        start + SERVICE
    };
    std::thread::sleep(done.saturating_duration_since(Instant::now()));
    let max_tokens = http.json()["max_tokens"].as_u64().unwrap_or(1);
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
    )?;
    for i in 0..max_tokens {
        write_token_chunk(&mut stream, i, max_tokens)?;
    }
    write!(
        stream,
        "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":16,\"completion_tokens\":{max_tokens}}}}}\n\ndata: [DONE]\n\n"
    )
}

#[test]
fn the_search_finds_the_capacity_of_a_server_within_ten_percent() {
    let tmp = tempfile::tempdir().unwrap();
    let url = server();
    // Evenly spaced arrivals: below capacity no request waits for a worker, above it each
    // waits longer than the one before, so the 50 ms of slack in the bound is used up a few
    // percent above capacity.
    let suite = format!(
        r#"[suite]
name = "search"
repetitions = 1
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
name = "knee"
kind = "llm"
prompt_tokens = 16
gen_tokens = 2
rate = "search"
arrival = "constant"
requests = 60
search_start_rps = 25
slo = {{ e2e_s = 0.15 }}
"#
    );
    let path = tmp.path().join("search.toml");
    std::fs::write(&path, suite).unwrap();
    let out = common::bench()
        .args(["run", "--json", "--results"])
        .arg(tmp.path().join("results"))
        .arg("--model-cache")
        .arg(tmp.path().join("models"))
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let case = &json["cases"][0];
    assert_eq!(case["case"]["id"], "server/knee/p16-g2-rsearch");
    let search = &case["search"];
    let knee = search["knee_rps"].as_f64().unwrap();
    assert!(
        (knee / CAPACITY_RPS - 1.0).abs() <= 0.1,
        "knee {knee} req/s, capacity {CAPACITY_RPS}: {search:#}\n{stderr}"
    );
    assert_eq!(
        search["repetitions"][0]["stopped"], "converged",
        "{search:#}"
    );
    let curve = search["curve"].as_array().unwrap();
    let offered: Vec<f64> = curve
        .iter()
        .map(|p| p["offered_rps"].as_f64().unwrap())
        .collect();
    // Doubling from 25 until a rate fails, then bisecting.
    assert_eq!(&offered[..3], &[25.0, 50.0, 100.0], "{search:#}");
    assert_eq!(curve[2]["passed"], false, "twice the capacity: {search:#}");
    let max_rate = case["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "max_rate_rps")
        .unwrap();
    assert_eq!(max_rate["median"].as_f64(), Some(knee));

    // Every probe is a stored pattern run of its rate, in order, the last one marked.
    let dir = only_run_dir(&tmp.path().join("results"));
    let loads = read_jsonl(&dir.join("loads.jsonl"));
    assert_eq!(loads.len(), curve.len());
    for (i, l) in loads.iter().enumerate() {
        assert_eq!(l["search"]["probe"], i as u64);
        assert_eq!(l["search"]["last"], i + 1 == loads.len());
        assert_eq!(l["offered_rate_rps"].as_f64(), Some(offered[i]));
        assert_eq!(l["params"]["rate_rps"].as_f64(), Some(offered[i]));
        assert_eq!(l["sent"], 60);
    }
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 60 * loads.len());
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(summary.contains(",max_rate_rps,"), "{summary}");

    // The report draws the curve: e2e p90 (the SLO bounds e2e) against throughput.
    let site = tmp.path().join("site");
    let out = common::bench()
        .arg("report")
        .arg(&dir)
        .arg("--out")
        .arg(&site)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html: String = std::fs::read_dir(&site)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "html"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(
        html.contains("Rate search: server/knee/p16-g2-rsearch"),
        "no search chart"
    );
    assert!(html.contains("SLO 150 ms") && html.contains(">knee<"));
}
