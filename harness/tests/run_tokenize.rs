//! A server with its own tokenizer (`/tokenize`, `/detokenize`, as llama.cpp's server and vLLM
//! have): bench sizes each prompt with it, so the server counts exactly the tokens asked even
//! though its tokenizer (here: one token per character) is nothing like the model folder's.

use std::io::Write;
use std::net::{TcpListener, TcpStream};

use serde_json::{json, Value};

mod common;
use common::{only_run_dir, read_json, read_jsonl, run_suite, HttpRequest};

fn server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = answer(stream);
            });
        }
    });
    url
}

fn reply(stream: &mut TcpStream, body: &Value) -> std::io::Result<()> {
    let body = body.to_string();
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn answer(mut stream: TcpStream) -> std::io::Result<()> {
    let http = HttpRequest::read(&stream)?;
    let body = http.json();
    match http.path.as_str() {
        "/v1/models" => reply(&mut stream, &json!({"data": []})),
        // llama.cpp's field names: `content` in, `tokens` out, and back.
        "/tokenize" => {
            let ids: Vec<u32> = body["content"]
                .as_str()
                .unwrap()
                .chars()
                .map(u32::from)
                .collect();
            reply(&mut stream, &json!({ "tokens": ids }))
        }
        "/detokenize" => {
            let text: String = body["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|id| char::from_u32(id.as_u64()? as u32))
                .collect();
            reply(&mut stream, &json!({ "content": text }))
        }
        "/v1/completions" => {
            let prompt = body["prompt"].as_str().unwrap().chars().count();
            let usage =
                json!({"choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": 2}});
            stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
            )?;
            for finish in ["null", "\"length\""] {
                write!(stream, "data: {{\"choices\":[{{\"index\":0,\"text\":\"x\",\"finish_reason\":{finish}}}]}}\n\n")?;
            }
            write!(stream, "data: {usage}\n\ndata: [DONE]\n\n")
        }
        _ => stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
    }
}

#[test]
fn prompts_are_sized_by_the_servers_own_tokenizer() {
    let tmp = tempfile::tempdir().unwrap();
    let url = server();
    let suite = tmp.path().join("tokenize.toml");
    std::fs::write(
        &suite,
        format!(
            "[suite]\nname = \"tok\"\nrepetitions = 3\nwarmup = 0\n[power]\nsampler = \"none\"\n\
             [[target]]\nname = \"server\"\nengine = \"openai\"\napi = \"completions\"\nurl = \"{url}\"\nmodel = \"synth:tiny\"\ntimeout_s = 5\n\
             [[workload]]\nname = \"w\"\nkind = \"llm\"\nprompt_tokens = [37, 200]\ngen_tokens = 2\n"
        ),
    )
    .unwrap();
    let out = run_suite(tmp.path(), &suite, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = only_run_dir(&tmp.path().join("results"));
    let device = read_json(&dir.join("manifest.json"))["engines"]["server"]["device"].to_string();
    assert!(device.contains("server's /tokenize"), "{device}");
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 6);
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(
            r["prompt_tokens"], r["params"]["prompt_tokens"],
            "the server counted exactly the tokens asked: {r}"
        );
    }
}
