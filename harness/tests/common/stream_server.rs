//! A scripted OpenAI-compatible server on 127.0.0.1 that streams slowly, for tests that need
//! requests in flight for a while (to interrupt them) or a quick serving target.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{write_token_chunk, HttpRequest};

/// A server that streams `max_tokens` one-token chunks, one every `per_token`; counts the
/// completion requests it received.
pub fn slow_server(per_token: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let _ = answer(stream, &seen, per_token);
            });
        }
    });
    (url, requests)
}

fn answer(mut stream: TcpStream, seen: &AtomicUsize, per_token: Duration) -> std::io::Result<()> {
    let http = HttpRequest::read(&stream)?;
    if http.method != "POST" {
        // GET /v1/models at load.
        return stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"data\":[]}",
        );
    }
    if http.path != "/v1/chat/completions" {
        // No /tokenize: bench sizes prompts with the model folder's tokenizer.
        return stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    seen.fetch_add(1, Ordering::SeqCst);
    let max_tokens = http.json()["max_tokens"].as_u64().unwrap_or(1);
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
    )?;
    for i in 0..max_tokens {
        std::thread::sleep(per_token);
        write_token_chunk(&mut stream, i, max_tokens)?;
    }
    write!(
        stream,
        "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":16,\"completion_tokens\":{max_tokens}}}}}\n\ndata: [DONE]\n\n"
    )
}
