//! What OpenAI-compatible servers stream: the Server-Sent Events framing (`SseParser`) and the
//! JSON chunk in each event (`parse_chunk`). The framing must give the same events however the
//! bytes are split; a chunk that does not parse must say where (serde's line and column).

use bench_workloads::serving::chunk::parse_chunk;
use bench_workloads::serving::sse::{Event, SseParser};

use crate::corpus;
use crate::engine::{pieces, Target, Verdict};

/// SSE fields and line ends, and the shapes of chunks.
const SSE_TOKENS: &[&str] = &[
    "data: ",
    "data:",
    "data: [DONE]",
    ": keepalive\n\n",
    ": generation_stats {}\n",
    "event: ",
    "id: ",
    "retry: ",
    "\n\n",
    "\r\r",
    "\r\n\r\n",
    ":",
    "data: {\"choices\":[]}\n\n",
];

const CHUNK_TOKENS: &[&str] = &[
    "{\"choices\":[",
    "{\"delta\":{\"content\":",
    "\"text\":",
    "\"finish_reason\":",
    "\"usage\":{\"prompt_tokens\":",
    "\"completion_tokens\":",
    "\"timings\":{",
    "\"error\":",
    "\"message\":",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "[[[[[[[[[[[[[[[[",
    "{\"a\":{\"a\":{\"a\":",
    "-0.0e-0",
    "1.7976931348623157e308",
];

/// Events, comment count and last stats of a stream fed in `pieces`.
fn events(pieces: &[&[u8]]) -> (Vec<Event>, usize, Option<String>) {
    let mut parser = SseParser::new();
    let mut out = Vec::new();
    for piece in pieces {
        parser.feed(piece, &mut out);
    }
    parser.finish(&mut out);
    (out, parser.comments(), parser.stats().map(str::to_string))
}

fn check_sse(input: &[u8]) -> Verdict {
    let whole = events(&[input]);
    let split = events(&pieces(input));
    if whole != split {
        return Err(format!(
            "events differ when fed in pieces:\n{whole:?}\nagainst\n{split:?}"
        ));
    }
    for event in &whole.0 {
        if let Event::Data(data) = event {
            let _ = parse_chunk(data);
        }
    }
    Ok(())
}

fn check_chunk(input: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(input);
    match parse_chunk(&text) {
        Ok(_) => Ok(()),
        Err(message) if message.contains(" line ") && message.contains(" column ") => Ok(()),
        Err(message) => Err(format!("error without line and column: {message}")),
    }
}

/// Streams to fuzz the framing with.
fn streams() -> Vec<Vec<u8>> {
    let mut seeds = vec![corpus::file("harness/tests/fixtures/exo/chat_stream.txt")];
    seeds.extend(corpus::written("sse"));
    seeds
}

#[test]
fn sse_stream() {
    Target {
        name: "sse",
        seeds: streams(),
        tokens: SSE_TOKENS,
        cases: 30_000,
        check: check_sse,
    }
    .run();
}

#[test]
fn openai_chunk() {
    // Every data payload of the streams, then the written chunks, one per line.
    let mut seeds: Vec<Vec<u8>> = streams()
        .iter()
        .flat_map(|s| events(&[s]).0)
        .filter_map(|e| match e {
            Event::Data(data) => Some(data.into_bytes()),
            Event::Done => None,
        })
        .collect();
    for file in corpus::written("openai-chunk") {
        seeds.extend(
            file.split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    seeds.push(corpus::file(
        "harness/tests/fixtures/exo/bench_chat_response.json",
    ));
    Target {
        name: "openai-chunk",
        seeds,
        tokens: CHUNK_TOKENS,
        cases: 30_000,
        check: check_chunk,
    }
    .run();
}
