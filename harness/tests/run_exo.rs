//! The `exo` engine against a scripted exo API on 127.0.0.1 that answers with the JSON
//! fixtures in `fixtures/exo/` (written from exo's own types; see their SOURCES.md): the
//! cluster read into the manifest, an instance placed, awaited and removed, requests streamed
//! in exo's chunk format with its `: generation_stats` comment, and the whole bench endpoint
//! with exo's per-node `power_usage`.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

mod common;
use common::exo_cluster::FakeCluster;
use common::{only_run_dir, read_json, read_jsonl, run_suite, HttpRequest};

const MODEL: &str = "mlx-community/Llama-3.3-70B-Instruct-4bit";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exo")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Serve the fake exo API; each connection on its own thread.
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

fn respond(stream: &mut TcpStream, status: &str, kind: &str, body: &str) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn answer(mut stream: TcpStream, cluster: &Mutex<FakeCluster>) -> std::io::Result<()> {
    let http = HttpRequest::read(&stream)?;
    let body = http.json();
    let (method, path) = (http.method.as_str(), http.path.as_str());
    let json_type = "application/json";
    match (method, path.split('?').next().unwrap_or("")) {
        ("GET", "/state") => {
            let state = cluster.lock().unwrap().read_state();
            respond(&mut stream, "200 OK", json_type, &state)
        }
        ("GET", "/instance/previews") => {
            assert!(path.contains("model_id=mlx-community%2FLlama"), "{path}");
            respond(&mut stream, "200 OK", json_type, &fixture("previews.json"))
        }
        ("POST", "/instance") => {
            // exo applies the instance and its runners load; here they are ready at once.
            cluster
                .lock()
                .unwrap()
                .place(body["instance"].clone(), json!({"prefillServerPort": null}));
            respond(
                &mut stream,
                "200 OK",
                json_type,
                &fixture("place_instance_response.json"),
            )
        }
        ("DELETE", p) if p.starts_with("/instance/") => {
            let id = p.trim_start_matches("/instance/").to_string();
            cluster.lock().unwrap().remove(&id);
            let mut reply: Value =
                serde_json::from_str(&fixture("delete_instance_response.json")).unwrap();
            reply["instance_id"] = json!(id);
            respond(&mut stream, "200 OK", json_type, &reply.to_string())
        }
        ("GET", "/ollama/api/version") => respond(
            &mut stream,
            "200 OK",
            json_type,
            "{\"version\":\"exo v1.0\"}",
        ),
        ("GET", "/v1/models") => respond(
            &mut stream,
            "200 OK",
            json_type,
            "{\"object\":\"list\",\"data\":[]}",
        ),
        ("POST", "/bench/images/generations") => {
            assert_eq!(body["advanced_params"]["num_inference_steps"], 20);
            assert_eq!(body["size"], "512x512");
            let reply = fixture("bench_images_response.json");
            respond(&mut stream, "200 OK", json_type, &reply)
        }
        ("POST", "/bench/chat/completions") if body["stream"] == false => {
            let mut reply: Value =
                serde_json::from_str(&fixture("bench_chat_response.json")).unwrap();
            reply["generation_stats"]["generation_tokens"] = body["max_tokens"].clone();
            respond(&mut stream, "200 OK", json_type, &reply.to_string())
        }
        ("POST", "/v1/chat/completions" | "/bench/chat/completions") => {
            assert_eq!(body["model"], MODEL);
            let tokens = body["max_tokens"].as_u64().unwrap_or(1);
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nConnection: close\r\n\r\n: keep-alive\n\n")?;
            // The shapes of fixtures/exo/chat_stream.txt: "chat.completion" chunks, usage on the
            // last one, then the generation_stats comment and [DONE].
            for i in 0..tokens {
                let mut chunk = json!({"id": "7b1e2c94", "object": "chat.completion", "created": 1782137131, "model": MODEL,
                    "choices": [{"index": 0, "delta": {"role": "assistant", "content": " tok"}}]});
                if i + 1 == tokens {
                    chunk["choices"][0]["finish_reason"] = json!("length");
                    chunk["usage"] = json!({"prompt_tokens": 42, "completion_tokens": tokens, "total_tokens": 42 + tokens});
                }
                write!(stream, "data: {chunk}\n\n")?;
                stream.flush()?;
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
            write!(stream, ": generation_stats {{\"prompt_tps\":187.42,\"generation_tps\":24.87,\"prompt_tokens\":42,\"generation_tokens\":{tokens},\"peak_memory_usage\":{{\"in_bytes\":22978075034}},\"prefix_cache_hit\":\"none\"}}\n\ndata: [DONE]\n\n")
        }
        _ => respond(
            &mut stream,
            "404 Not Found",
            json_type,
            "{\"detail\":\"Not Found\"}",
        ),
    }
}

fn suite(dir: &Path, url: &str, target: &str, workloads: &str) -> std::path::PathBuf {
    let text = format!(
        r#"[suite]
name = "exo"
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
timeout_s = 10
{target}

[[workload]]
name = "w"
kind = "llm"
prompt_tokens = 16
gen_tokens = 5
{workloads}
"#
    );
    let path = dir.join("exo.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn an_instance_is_placed_measured_with_exos_own_figures_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, cluster) = exo();
    let path = suite(
        tmp.path(),
        &url,
        "nodes = 1\nexo_endpoint = \"bench-stream\"",
        "",
    );
    let out = run_suite(tmp.path(), &path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let exo = cluster.lock().unwrap();
    assert_eq!(exo.created.len(), 1, "one instance placed");
    assert_eq!(exo.deleted, exo.created, "and removed when bench was done");

    let dir = only_run_dir(&tmp.path().join("results"));
    let engine = &read_json(&dir.join("manifest.json"))["engines"]["cluster"];
    assert_eq!(engine["engine"], "exo");
    let nodes = engine["cluster"]["cluster"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 2);
    assert!(
        nodes.iter().all(|n| n["chip"] == "Apple M3 Ultra"),
        "{nodes:?}"
    );
    assert!(nodes.iter().all(|n| n["sys_power_w"].as_f64().is_some()));
    let links = engine["cluster"]["cluster"]["links"].as_array().unwrap();
    assert!(links.iter().any(|l| l["kind"] == "rdma"), "{links:?}");
    assert_eq!(engine["cluster"]["exo_version_reported"], "exo v1.0");
    let instance = &engine["cluster"]["instance"];
    assert_eq!(instance["nodes"], 1);
    assert_eq!(instance["kind"], "MlxRingInstance");
    assert_eq!(instance["created_by_bench"], true);

    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["output_tokens"], 5);
        assert_eq!(r["server"]["stats"]["prompt_tps"], 187.42, "{r}");
        assert_eq!(r["metrics"]["server_prefill_tps"], 187.42, "{r}");
        assert_eq!(r["metrics"]["server_decode_tps"], 24.87, "{r}");
        assert!(r["metrics"]["ttft_s"].as_f64().unwrap() > 0.0);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("server vs bench"), "{stdout}");
}

#[test]
fn a_running_instance_is_used_as_it_is_and_the_whole_bench_endpoint_keeps_exos_power() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, cluster) = exo();
    // state.json already runs the model on both nodes over RDMA with tensor sharding.
    let path = suite(
        tmp.path(),
        &url,
        "nodes = 2\ntransport = \"jaccl\"\nsharding = \"tensor\"\nexo_endpoint = \"bench\"",
        "",
    );
    let out = run_suite(tmp.path(), &path, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exo = cluster.lock().unwrap();
    assert!(
        exo.created.is_empty() && exo.deleted.is_empty(),
        "nothing placed nor removed"
    );

    let dir = only_run_dir(&tmp.path().join("results"));
    let engine = &read_json(&dir.join("manifest.json"))["engines"]["cluster"];
    assert_eq!(engine["cluster"]["instance"]["created_by_bench"], false);
    assert_eq!(engine["cluster"]["instance"]["kind"], "MlxJacclInstance");
    for r in read_jsonl(&dir.join("measurements.jsonl")) {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["output_tokens"], 5, "exo's own count");
        assert!(
            r["server"]["power"]["total_energy_joules"]
                .as_f64()
                .unwrap()
                > 0.0,
            "{r}"
        );
        assert!(
            r["metrics"].get("ttft_s").is_none(),
            "nothing arrives before the end: {r}"
        );
        assert!(r["metrics"]["e2e_s"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn a_target_after_one_whose_instance_bench_removed_places_its_own() {
    // Two targets on one node in turn: the first one's instance, removed by bench, is still
    // in exo's state for a moment; the second must not take it for a running instance.
    let tmp = tempfile::tempdir().unwrap();
    let (url, cluster) = exo();
    let path = suite(tmp.path(), &url, "nodes = 1", "");
    let text = std::fs::read_to_string(&path).unwrap();
    let second = text
        .split("[[workload]]")
        .next()
        .unwrap()
        .split("[[target]]")
        .nth(1)
        .unwrap()
        .replace("name = \"cluster\"", "name = \"cluster-bench\"")
        + "exo_endpoint = \"bench-stream\"\n";
    let text = text.replace("[[workload]]", &format!("[[target]]{second}\n[[workload]]"));
    std::fs::write(&path, text).unwrap();
    let out = run_suite(tmp.path(), &path, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exo = cluster.lock().unwrap();
    assert_eq!(exo.created.len(), 2, "each target placed its own instance");
    assert_eq!(exo.deleted, exo.created);
    assert_eq!(
        exo.placed_beside_stopping, 0,
        "the second was placed only once the first one's runners had shut down"
    );
}

#[test]
fn a_placement_exo_cannot_make_is_named_with_what_it_offers() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, _) = exo();
    let path = suite(tmp.path(), &url, "nodes = 3", "");
    let out = run_suite(tmp.path(), &path, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no placement") && stderr.contains("on 3 node(s)"),
        "{stderr}"
    );
    assert!(stderr.contains("2 node(s) MlxJacclInstance"), "{stderr}");
}

#[test]
fn a_node_count_sweep_runs_each_size_on_its_own_instance() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, cluster) = exo();
    let path = suite(tmp.path(), &url, "nodes = [1, 2]", "");
    let out = run_suite(tmp.path(), &path, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One node: placed by bench and removed; two: the instance state.json already runs.
    let exo = cluster.lock().unwrap();
    assert_eq!((exo.created.len(), exo.deleted.len()), (1, 1));

    let dir = only_run_dir(&tmp.path().join("results"));
    let engines = &read_json(&dir.join("manifest.json"))["engines"];
    assert_eq!(engines["cluster/n1"]["cluster"]["instance"]["nodes"], 1);
    assert_eq!(engines["cluster/n2"]["cluster"]["instance"]["nodes"], 2);
    let cases: std::collections::BTreeSet<String> = read_jsonl(&dir.join("measurements.jsonl"))
        .iter()
        .map(|r| r["case"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        cases.into_iter().collect::<Vec<_>>(),
        ["cluster/w/p16-g5-c1-n1", "cluster/w/p16-g5-c1-n2"]
    );
}

#[test]
fn exo_makes_images_through_its_bench_endpoint_with_its_own_figures_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, _) = exo();
    let text = format!(
        r#"[suite]
name = "exo-images"
repetitions = 2
warmup = 0

[power]
sampler = "none"

[[target]]
name = "cluster"
engine = "exo"
task = "images"
url = "{url}"
model = "{MODEL}"
nodes = 2
exo_endpoint = "bench"

[[workload]]
name = "img"
kind = "diffusion"
width = 512
height = 512
steps = 20
seed = 42
"#
    );
    let path = tmp.path().join("exo-images.toml");
    std::fs::write(&path, text).unwrap();
    let out = run_suite(tmp.path(), &path, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = only_run_dir(&tmp.path().join("results"));
    for r in read_jsonl(&dir.join("measurements.jsonl")) {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["case"], "cluster/img/512x512-s20-b1-n2");
        assert_eq!(
            r["metrics"]["tool_image_s"], 18.28,
            "exo's total_generation_time: {r}"
        );
        // exo divides by its quality preset's 25 steps; bench by the 20 it asked for.
        assert_eq!(
            r["reported"]["generation_stats"]["seconds_per_step"],
            0.7312
        );
        assert_eq!(r["reported"]["seconds_per_step_recomputed"], 18.28 / 20.0);
        assert!(
            r["reported"]["power_usage"]["total_energy_joules"]
                .as_f64()
                .unwrap()
                > 0.0
        );
        assert_eq!(r["metrics"]["peak_memory_bytes"], 27_853_127_680.0);
    }
    // A size exo does not make is refused before anything runs.
    std::fs::write(
        &path,
        std::fs::read_to_string(&path)
            .unwrap()
            .replace("width = 512", "width = 640"),
    )
    .unwrap();
    let out = common::bench().arg("validate").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not 640x512"));
}
