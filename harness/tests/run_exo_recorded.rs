//! The `exo` engine against a scripted exo that answers with what a live exo 1.0.71 of two
//! nodes answered `ci/exo-live.sh` (`fixtures/exo/v1.0.71/`, see its SOURCES.md): the
//! placements it offered, its ready state, its whole `/bench/chat/completions` reply, its chat
//! stream (with `: prefill_progress` comments) and a removal applied a moment after the DELETE.
//! The fixtures of `run_exo.rs` are written from exo's main branch; these keep bench working
//! with the release people run.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::json;

mod common;
use common::exo_cluster::FakeCluster;
use common::{only_run_dir, read_json, read_jsonl, run_suite, HttpRequest};

const MODEL: &str = "bench/qwen3-tiny";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exo/v1.0.71")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn exo() -> (String, Arc<Mutex<FakeCluster>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let cluster = Arc::new(Mutex::new(FakeCluster::new(
        serde_json::from_str(&fixture("state.json")).unwrap(),
    )));
    let shared = cluster.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let cluster = shared.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &cluster);
            });
        }
    });
    (url, cluster)
}

fn respond(stream: &mut TcpStream, kind: &str, body: &str) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn answer(mut stream: TcpStream, cluster: &Mutex<FakeCluster>) -> std::io::Result<()> {
    let http = HttpRequest::read(&stream)?;
    let body = http.json();
    let json = "application/json";
    match (
        http.method.as_str(),
        http.path.split('?').next().unwrap_or(""),
    ) {
        ("GET", "/state") => {
            let state = cluster.lock().unwrap().read_state();
            respond(&mut stream, json, &state)
        }
        ("GET", "/ollama/api/version") => respond(&mut stream, json, "{\"version\":\"exo v1.0\"}"),
        ("GET", "/instance/previews") => respond(&mut stream, json, &fixture("previews.json")),
        ("POST", "/instance") => {
            // Ready at once, in the shape the live state showed (`{"RunnerReady": {}}`).
            cluster
                .lock()
                .unwrap()
                .place(body["instance"].clone(), json!({}));
            respond(&mut stream, json, &fixture("place_instance_response.json"))
        }
        ("DELETE", path) => {
            let id = path.trim_start_matches("/instance/").to_string();
            cluster.lock().unwrap().remove(&id);
            respond(&mut stream, json, &fixture("delete_instance_response.json"))
        }
        ("POST", "/bench/chat/completions") => {
            // 1.0.71 forces `stream` off here: a whole reply even to a streamed request.
            respond(&mut stream, json, &fixture("bench_chat_response.json"))
        }
        ("POST", "/v1/chat/completions") => {
            assert_eq!(body["model"], MODEL);
            respond(
                &mut stream,
                "text/event-stream",
                &fixture("chat_stream.txt"),
            )
        }
        _ => write!(
            stream,
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
    }
}

fn suite(dir: &Path, url: &str, endpoint: &str) -> std::path::PathBuf {
    let text = format!(
        r#"[suite]
name = "exo-1.0.71"
repetitions = 2
warmup = 0

[power]
sampler = "none"

[[target]]
name = "cluster"
engine = "exo"
url = "{url}"
model = "synth:tiny"
served_model = "{MODEL}"
nodes = [1, 2]
exo_endpoint = "{endpoint}"
timeout_s = 10

[[workload]]
name = "w"
kind = "llm"
prompt_tokens = 16
gen_tokens = 8
"#
    );
    let path = dir.join("exo.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_two_node_sweep_on_exo_1_0_71_places_measures_and_removes_each_size() {
    for endpoint in ["chat", "bench"] {
        let tmp = tempfile::tempdir().unwrap();
        let (url, cluster) = exo();
        let out = run_suite(tmp.path(), &suite(tmp.path(), &url, endpoint), &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{endpoint}: {stderr}");
        assert_eq!(
            cluster.lock().unwrap().created.len(),
            2,
            "{endpoint}: one per size"
        );

        let dir = only_run_dir(&tmp.path().join("results"));
        let engines = &read_json(&dir.join("manifest.json"))["engines"];
        for nodes in [1, 2] {
            let engine = &engines[format!("cluster/n{nodes}")]["cluster"];
            assert_eq!(engine["instance"]["nodes"], nodes, "{endpoint}");
            assert_eq!(engine["instance"]["kind"], "MlxRingInstance");
            assert_eq!(engine["instance"]["shard"], "PipelineShardMetadata");
            let nodes_seen = engine["cluster"]["nodes"].as_array().unwrap();
            assert_eq!(nodes_seen.len(), 2);
            assert!(nodes_seen
                .iter()
                .all(|n| n["os"].as_str().unwrap().contains("Linux")));
            let links = engine["cluster"]["links"].as_array().unwrap();
            assert!(
                !links.is_empty() && links.iter().all(|l| l["kind"] == "socket"),
                "{links:?}"
            );
        }
        let records = read_jsonl(&dir.join("measurements.jsonl"));
        assert_eq!(records.len(), 4, "{endpoint}");
        // The sweep's scaling table, in the Markdown report and after the run.
        let md = common::bench()
            .args(["report", "--format", "md"])
            .arg(&dir)
            .output()
            .unwrap();
        let md = String::from_utf8_lossy(&md.stdout);
        assert!(md.contains(": Cluster scaling"), "{md}");
        assert!(md.contains("| cluster/w/p16-g8-c1 | 2 |"), "{md}");
        if endpoint == "chat" {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                stdout.contains("scaling: cluster/w/p16-g8-c1 on 2 node(s)"),
                "{stdout}"
            );
        }
        for r in &records {
            assert_eq!(r["status"], "ok", "{endpoint}: {r}");
            assert_eq!(
                r["output_tokens"], 8,
                "{endpoint}: the recorded reply's count"
            );
            if endpoint == "bench" {
                assert!(
                    r["metrics"]["server_decode_tps"].as_f64().unwrap() > 0.0,
                    "{r}"
                );
            } else {
                assert!(r["metrics"]["ttft_s"].as_f64().unwrap() > 0.0, "{r}");
            }
        }
    }
}

#[test]
fn a_streamed_bench_request_to_exo_1_0_71_says_it_is_not_streamed() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, _) = exo();
    let out = run_suite(tmp.path(), &suite(tmp.path(), &url, "bench-stream"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("does not stream this endpoint"), "{stderr}");
}
