//! `bench run` through the `openai` engine against a scripted OpenAI-compatible server on
//! 127.0.0.1: exact counts from the server's usage, timings that match the script, the API key
//! sent but never stored, and a server error recorded on its measurement.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{
    bench, only_run_dir, read_json, read_jsonl, run_suite, write_token_chunk, HttpRequest,
};

const KEY: &str = "sk-test-do-not-store";
/// Delay before the first chunk, and between chunks.
const TTFT: Duration = Duration::from_millis(50);
const GAP: Duration = Duration::from_millis(5);

/// Answer every request: 401 without the key, 500 for a prompt of `fail_at` tokens' worth of
/// `max_tokens`, else stream `max_tokens` chunks of one token each and a usage chunk.
fn server(fail_max_tokens: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, fail_max_tokens);
        }
    });
    url
}

fn answer(mut stream: TcpStream, fail_max_tokens: u64) -> std::io::Result<()> {
    let http = HttpRequest::read(&stream)?;
    let start = Instant::now();
    if http.header("authorization") != Some(format!("Bearer {KEY}").as_str()) {
        return stream.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    let request = http.json();
    let max_tokens = request["max_tokens"].as_u64().unwrap_or(1);
    assert_eq!(request["stream"], true);
    if max_tokens == fail_max_tokens {
        let body = "{\"error\":\"out of memory\"}";
        return write!(
            stream,
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
    )?;
    for i in 0..max_tokens {
        let due = TTFT + GAP * i as u32;
        if let Some(wait) = due.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        write_token_chunk(&mut stream, i, max_tokens)?;
    }
    write!(
        stream,
        "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":37,\"completion_tokens\":{max_tokens}}}}}\n\ndata: [DONE]\n\n"
    )
}

fn suite(dir: &Path, url: &str) -> std::path::PathBuf {
    let text = format!(
        r#"[suite]
name = "served"
repetitions = 2
warmup = 1

[power]
sampler = "none"

[[target]]
name = "server"
engine = "openai"
model = "synth:tiny"
served_model = "tiny"
url = "{url}"
api_key_env = "BENCH_TEST_KEY"
timeout_s = 5

[[workload]]
name = "w"
kind = "llm"
prompt_tokens = 32
gen_tokens = [6, 9]
"#
    );
    let path = dir.join("served.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_served_model_is_measured_with_the_servers_counts_and_its_errors_are_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let url = server(9);
    let out = run_suite(
        tmp.path(),
        &suite(tmp.path(), &url),
        &[("BENCH_TEST_KEY", Some(KEY))],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the 9-token case fails: {stderr}"
    );
    assert!(stderr.contains("out of memory"), "{stderr}");

    let dir = only_run_dir(&tmp.path().join("results"));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    let ok: Vec<&Value> = records.iter().filter(|r| r["status"] == "ok").collect();
    assert_eq!(ok.len(), 2, "{records:?}");
    for r in &ok {
        assert_eq!(r["token_count_source"], "server-usage");
        assert_eq!(r["output_tokens"], 6);
        assert_eq!(
            r["prompt_tokens"], 37,
            "the server's count, chat template included"
        );
        let ttft = r["metrics"]["ttft_s"].as_f64().unwrap();
        assert!(
            ttft >= TTFT.as_secs_f64() && ttft < TTFT.as_secs_f64() + 0.05,
            "{r}"
        );
        let itl: Vec<f64> = r["itl_s"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(itl.len(), 5);
        let mean = itl.iter().sum::<f64>() / itl.len() as f64;
        assert!(
            (mean - GAP.as_secs_f64()).abs() < 2e-3,
            "mean gap {mean}: {r}"
        );
    }
    let failed: Vec<&Value> = records.iter().filter(|r| r["status"] == "error").collect();
    assert!(!failed.is_empty());
    assert!(
        failed[0]["error"].as_str().unwrap().contains("HTTP 500"),
        "{:?}",
        failed[0]
    );

    let manifest = read_json(&dir.join("manifest.json"));
    assert_eq!(manifest["engines"]["server"]["engine"], "openai");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default();
        assert!(!text.contains(KEY), "the API key must never be stored");
    }
}

#[test]
fn a_server_that_is_not_there_fails_the_target_at_load() {
    let tmp = tempfile::tempdir().unwrap();
    let url = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let out = run_suite(
        tmp.path(),
        &suite(tmp.path(), &url),
        &[("BENCH_TEST_KEY", Some(KEY))],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no server answers at"), "{stderr}");
    assert_eq!(
        stderr.matches("failed: server:").count(),
        1,
        "one failure for the target: {stderr}"
    );
}

#[test]
fn a_missing_key_variable_and_a_missing_url_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let path = suite(tmp.path(), "http://127.0.0.1:9");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("url = \"http://127.0.0.1:9\"\n", "")).unwrap();
    let out = bench().args(["validate"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs `url`"));

    let url = server(0);
    let out = run_suite(
        tmp.path(),
        &suite(tmp.path(), &url),
        &[("BENCH_TEST_KEY", None)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("`BENCH_TEST_KEY` is not set"), "{stderr}");
}
