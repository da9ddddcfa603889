//! `depth` against a server (a scripted OpenAI-compatible one on 127.0.0.1): the depth's
//! shared prefix is sent once alone, every measured prompt extends it with text of its own,
//! and what the server says it took from its cache is kept.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

mod common;
use common::{only_run_dir, read_jsonl, run_suite, HttpRequest};

/// Each chat request's prompt and `max_tokens`, in arrival order.
type Seen = Arc<Mutex<Vec<(String, u64)>>>;

/// Serve chat completions: every prompt is kept; usage says 1000 prompt tokens, 600 cached.
fn server() -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let shared = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = shared.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &seen);
            });
        }
    });
    (url, seen)
}

fn answer(mut stream: TcpStream, seen: &Mutex<Vec<(String, u64)>>) -> std::io::Result<()> {
    let http = HttpRequest::read(&stream)?;
    if http.method == "POST" && http.path != "/v1/chat/completions" {
        // No /tokenize here: bench sizes prompts with the model folder's tokenizer.
        return stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    if http.method != "POST" {
        return stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"data\":[]}",
        );
    }
    let body = http.json();
    let prompt = body["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let max_tokens = body["max_tokens"].as_u64().unwrap_or(1);
    seen.lock().unwrap().push((prompt, max_tokens));
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
    )?;
    for i in 0..max_tokens {
        let finish = if i + 1 == max_tokens {
            "\"length\""
        } else {
            "null"
        };
        write!(
            stream,
            "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" t\"}},\"finish_reason\":{finish}}}]}}\n\n"
        )?;
    }
    write!(
        stream,
        "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":1000,\"completion_tokens\":{max_tokens},\"prompt_tokens_details\":{{\"cached_tokens\":600}}}}}}\n\ndata: [DONE]\n\n"
    )
}

#[test]
fn a_depth_is_sent_once_as_a_shared_prefix_and_the_servers_cache_count_is_kept() {
    let (url, seen) = server();
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("depth.toml");
    std::fs::write(
        &suite,
        format!(
            r#"[suite]
name = "depth"
repetitions = 3
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
gen_tokens = 3
depth = 256
"#
        ),
    )
    .unwrap();
    let out = run_suite(tmp.path(), &suite, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let seen = seen.lock().unwrap();
    assert_eq!(
        seen.len(),
        4,
        "the prefix once, then three measured requests"
    );
    let (prefix, warm_tokens) = &seen[0];
    assert_eq!(*warm_tokens, 1, "the prefix alone generates one token");
    let mut suffixes = Vec::new();
    for (prompt, max_tokens) in &seen[1..] {
        assert_eq!(*max_tokens, 3);
        let suffix = prompt
            .strip_prefix(prefix.as_str())
            .expect("extends the shared prefix");
        assert!(!suffix.is_empty());
        suffixes.push(suffix.to_string());
    }
    suffixes.dedup();
    assert_eq!(
        suffixes.len(),
        3,
        "each request's own text after the prefix"
    );

    let dir = only_run_dir(&tmp.path().join("results"));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 3);
    for r in &records {
        assert_eq!(r["case"], "server/w/p16-g3-d256-c1");
        assert_eq!(r["metrics"]["cached_prompt_tokens"], 600.0, "{r}");
        assert_eq!(
            r["prompt_tokens"],
            1000 - 256,
            "the server's count less the prefix"
        );
    }
}
