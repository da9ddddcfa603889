//! A scripted OpenAI-compatible server on 127.0.0.1 that keeps every completion request it
//! gets (its messages or prompt, and `max_tokens`) and answers each with `max_tokens`
//! one-token chunks of its own text (` a<n>` for its n-th request), so a test can tell which
//! answer a later request carries back. [`chat_server_failing`] answers chosen requests with
//! an HTTP 500 instead.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::HttpRequest;

/// One completion request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `messages` (chat) as sent; `null` on `/v1/completions`.
    pub messages: Value,
    /// The last message's content (chat) or the prompt (completions).
    pub prompt: String,
    /// `max_tokens` asked for.
    pub max_tokens: u64,
    /// The text the server streamed back.
    pub answer: String,
}

/// What the server saw, in arrival order.
pub type SeenLog = Arc<Mutex<Vec<Seen>>>;

/// How the server reports usage.
#[derive(Debug, Clone, Copy)]
pub enum Usage {
    /// No usage block: bench counts the tokens itself.
    None,
    /// A usage block whose cached prompt tokens are 100 × the messages before the last one.
    CachedPerMessage,
}

/// Start the server; its URL and the log of what it saw.
#[allow(dead_code)]
pub fn chat_server(usage: Usage) -> (String, SeenLog) {
    chat_server_failing(usage, &[])
}

/// Like [`chat_server`], but the requests whose place in the log (from 0) is in `fail` get an
/// HTTP 500 (logged with an empty answer).
pub fn chat_server_failing(usage: Usage, fail: &[usize]) -> (String, SeenLog) {
    let fail: Arc<Vec<usize>> = Arc::new(fail.to_vec());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: SeenLog = Arc::new(Mutex::new(Vec::new()));
    let shared = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (seen, fail) = (shared.clone(), fail.clone());
            std::thread::spawn(move || {
                let _ = answer(stream, &seen, usage, &fail);
            });
        }
    });
    (url, seen)
}

fn answer(
    mut stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    usage: Usage,
    fail: &[usize],
) -> std::io::Result<()> {
    let http = HttpRequest::read(&stream)?;
    if http.method != "POST" {
        return stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"data\":[]}",
        );
    }
    if !http.path.ends_with("/completions") {
        // No /tokenize: bench sizes prompts with the model folder's tokenizer.
        return stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    let body = http.json();
    let messages = body["messages"].clone();
    let prompt = match messages.as_array() {
        Some(list) => list
            .last()
            .and_then(|m| m["content"].as_str())
            .unwrap_or_default()
            .to_string(),
        None => body["prompt"].as_str().unwrap_or_default().to_string(),
    };
    let max_tokens = body["max_tokens"].as_u64().unwrap_or(1);
    let before = messages.as_array().map_or(0, |l| l.len().saturating_sub(1));
    let (token, failed) = {
        let mut log = seen.lock().unwrap();
        let failed = fail.contains(&log.len());
        let token = format!(" a{}", log.len());
        log.push(Seen {
            messages,
            prompt,
            max_tokens,
            answer: if failed {
                String::new()
            } else {
                token.repeat(max_tokens as usize)
            },
        });
        (token, failed)
    };
    if failed {
        return stream.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
    )?;
    let chat = body["messages"].is_array();
    for i in 0..max_tokens {
        let finish = if i + 1 == max_tokens {
            "\"length\""
        } else {
            "null"
        };
        let choice = if chat {
            format!(
                "{{\"index\":0,\"delta\":{{\"content\":\"{token}\"}},\"finish_reason\":{finish}}}"
            )
        } else {
            format!("{{\"index\":0,\"text\":\"{token}\",\"finish_reason\":{finish}}}")
        };
        write!(stream, "data: {{\"choices\":[{choice}]}}\n\n")?;
    }
    if let Usage::CachedPerMessage = usage {
        write!(
            stream,
            "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":{},\"completion_tokens\":{max_tokens},\"prompt_tokens_details\":{{\"cached_tokens\":{}}}}}}}\n\n",
            1000 + 100 * before,
            100 * before
        )?;
    }
    write!(stream, "data: [DONE]\n\n")
}
