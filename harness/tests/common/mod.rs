//! Helpers the end-to-end tests share: run the `bench` binary, find the run it stored, read its
//! files.
#![allow(dead_code)] // each test file uses some of them

pub mod browser;
pub mod chat_server;
pub mod exo_cluster;
pub mod exporter;
pub mod server;
pub mod spawned;
pub mod stream_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The `bench` binary under test.
pub fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bench"))
}

/// `bench run SUITE`, storing under `tmp/results` with synthesized models cached in
/// `tmp/models`; `env` sets (`Some`) or removes (`None`) variables for the run.
pub fn run_suite(tmp: &Path, suite: &Path, env: &[(&str, Option<&str>)]) -> Output {
    let mut command = bench();
    command
        .args(["run", "--results"])
        .arg(tmp.join("results"))
        .arg("--model-cache")
        .arg(tmp.join("models"))
        .arg(suite);
    for (key, value) in env {
        match value {
            Some(v) => command.env(key, v),
            None => command.env_remove(key),
        };
    }
    command.output().unwrap()
}

/// The one run folder under `results` (files beside it, such as the history index, are not
/// runs).
pub fn only_run_dir(results: &Path) -> PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// Every line of a JSONL file.
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A JSON array of numbers (a record's `step_s`, `itl_s`).
pub fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// The (case, repetition) of every record, checked to be unique: no repetition is stored twice.
pub fn repetition_keys(records: &[Value]) -> std::collections::BTreeSet<(String, u64)> {
    let keys: Vec<(String, u64)> = records
        .iter()
        .map(|r| {
            (
                r["case"].as_str().unwrap().to_string(),
                r["repetition"].as_u64().unwrap(),
            )
        })
        .collect();
    let set: std::collections::BTreeSet<_> = keys.iter().cloned().collect();
    assert_eq!(
        set.len(),
        keys.len(),
        "a repetition is stored twice: {keys:?}"
    );
    set
}

/// One streamed chat chunk carrying the token `" tok"`, the `i`-th of `max_tokens`: the last
/// one says `finish_reason: "length"`, as a server that stopped at `max_tokens` does.
pub fn write_token_chunk(
    stream: &mut impl std::io::Write,
    i: u64,
    max_tokens: u64,
) -> std::io::Result<()> {
    let finish = if i + 1 == max_tokens {
        "\"length\""
    } else {
        "null"
    };
    write!(
        stream,
        "data: {{\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\" tok\"}},\"finish_reason\":{finish}}}]}}\n\n"
    )?;
    stream.flush()
}

/// A JSON file.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One HTTP/1.1 request, as the scripted servers of the tests read it.
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with its query.
    pub path: String,
    /// Header lines, names lowercased.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// Read one request from `stream`.
    pub fn read(stream: &std::net::TcpStream) -> std::io::Result<Self> {
        use std::io::{BufRead, BufReader, Read};
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut first = String::new();
        reader.read_line(&mut first)?;
        let mut parts = first.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
        let length = headers
            .iter()
            .find(|(name, _)| name == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        Ok(Self {
            method,
            path,
            headers,
            body,
        })
    }

    /// The value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}
