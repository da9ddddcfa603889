//! One streamed request to an OpenAI-compatible server, timed from the moment it is sent:
//! the arrival of every chunk that carries a generated token, the finish reason, the server's
//! usage and timings, and, when it goes wrong, what went wrong (refused, HTTP status with
//! Retry-After, cut mid-stream, garbage, a stall past the timeout).

use std::time::{Duration, Instant};

use serde::Serialize;

use super::chunk::{parse_chunk, ThinkSplitter, Usage};
use super::sse::{Event, SseParser};

/// A chunk that carried at least one generated token, as it arrived (see
/// [`Chunk::carries_token`](super::chunk::Chunk::carries_token)).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arrival {
    /// Seconds from sending the request.
    pub t_s: f64,
    /// The answer text it carried: empty for a token with no text of its own (a control
    /// token, or part of a multi-byte character sent apart from the rest) and for reasoning.
    pub text: String,
    /// The reasoning text it carried (a reasoning field, or content inside `<think>`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reasoning: String,
    /// Whether its tokens were reasoning: reasoning text, or no answer text while the model
    /// was thinking (the `<think>` and `</think>` tags themselves included).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub thinking: bool,
}

/// Why a request failed, by kind (the summary counts them per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// No connection (refused, unreachable, DNS).
    Connect,
    /// The server answered with an HTTP error status.
    Status,
    /// Nothing arrived for longer than the timeout.
    Timeout,
    /// The stream ended before the server said it was done.
    Cut,
    /// The body was not an event stream of JSON chunks.
    Garbage,
    /// The server reported an error inside the stream.
    Server,
    /// bench was interrupted while waiting (see [`crate::cancel`]): not the server's doing,
    /// and never stored as a measurement.
    Interrupted,
}

impl FailureKind {
    /// The kind's name, as stored and counted.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Connect => "connect",
            FailureKind::Status => "status",
            FailureKind::Timeout => "timeout",
            FailureKind::Cut => "cut",
            FailureKind::Garbage => "garbage",
            FailureKind::Server => "server",
            FailureKind::Interrupted => "interrupted",
        }
    }
}

/// A failed request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The details, in words.
    pub message: String,
    /// HTTP status, for [`FailureKind::Status`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Seconds the server asked to wait (`Retry-After`), where it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<f64>,
}

/// Everything observed of one streamed request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamOutcome {
    /// When the request was sent: every time below counts from here.
    #[serde(skip)]
    pub sent: Option<Instant>,
    /// HTTP status of the response, if one came.
    pub status: Option<u16>,
    /// Seconds from sending to the response headers.
    pub headers_s: Option<f64>,
    /// Chunks that carried generated tokens, in order, with or without text.
    pub arrivals: Vec<Arrival>,
    /// Chunks received (content or not), for `chunks_per_token`.
    pub chunks: usize,
    /// Keepalive comments received.
    pub keepalives: usize,
    /// Seconds from sending to the last byte.
    pub e2e_s: f64,
    /// `finish_reason` of the last choice.
    pub finish_reason: Option<String>,
    /// The server's usage report.
    pub usage: Option<Usage>,
    /// The server's own timings (llama.cpp), as sent.
    pub timings: Option<serde_json::Value>,
    /// The server's own statistics sent as a `: generation_stats` comment (exo), as sent.
    pub stats: Option<serde_json::Value>,
    /// Why the request failed, if it did.
    pub failure: Option<Failure>,
    /// Separates `<think>` reasoning from the answer in the content, across chunks.
    #[serde(skip)]
    pub think: ThinkSplitter,
}

impl StreamOutcome {
    fn fail(mut self, kind: FailureKind, message: String, sent: Instant) -> Self {
        self.e2e_s = sent.elapsed().as_secs_f64();
        self.failure = Some(Failure {
            kind,
            message,
            status: self.status.filter(|_| kind == FailureKind::Status),
            retry_after_s: None,
        });
        self
    }
}

/// Send `body` (serialized JSON) with `request` and read the event stream. `timeout` bounds
/// the wait for the response and for each piece of the stream (a server that stalls longer
/// fails the request).
pub async fn stream_request(
    request: reqwest::RequestBuilder,
    body: impl Into<reqwest::Body>,
    timeout: Duration,
) -> StreamOutcome {
    let mut out = StreamOutcome::default();
    let request = request
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    let sent = Instant::now();
    out.sent = Some(sent);
    // An interrupt ends the wait for the response, and the stream below, at once.
    let interrupted = crate::cancel::requested();
    tokio::pin!(interrupted);
    let waited = tokio::select! {
        biased;
        waited = tokio::time::timeout(timeout, request.send()) => waited,
        () = &mut interrupted => {
            return out.fail(FailureKind::Interrupted, "bench was interrupted".into(), sent)
        }
    };
    let response = match waited {
        Err(_) => {
            return out.fail(
                FailureKind::Timeout,
                format!("no response within {:.1} s", timeout.as_secs_f64()),
                sent,
            )
        }
        Ok(Err(e)) => {
            let kind = if e.is_connect() {
                FailureKind::Connect
            } else if e.is_timeout() {
                FailureKind::Timeout
            } else {
                FailureKind::Garbage
            };
            return out.fail(kind, error_chain(&e), sent);
        }
        Ok(Ok(response)) => response,
    };
    let mut out = StreamOutcome {
        status: Some(response.status().as_u16()),
        headers_s: Some(sent.elapsed().as_secs_f64()),
        ..out
    };
    if !response.status().is_success() {
        let status = response.status();
        let retry_after_s = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok());
        let text = tokio::time::timeout(timeout, response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let excerpt: String = text.chars().take(200).collect();
        let mut out = out.fail(
            FailureKind::Status,
            format!("HTTP {status}: {}", excerpt.trim()),
            sent,
        );
        if let Some(f) = out.failure.as_mut() {
            f.retry_after_s = retry_after_s;
        }
        return out;
    }

    let whole_json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if whole_json {
        let text = tokio::time::timeout(timeout, response.text())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let excerpt: String = text.chars().take(120).collect();
        return out.fail(
            FailureKind::Garbage,
            format!(
                "a streamed request was answered with one JSON document (Content-Type: \
                 application/json), not server-sent events: the server does not stream this \
                 endpoint ({})",
                excerpt.trim()
            ),
            sent,
        );
    }
    let mut response = response;
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    let mut done = false;
    let mut bytes_seen = 0usize;
    // One stall timer for the whole stream, moved only when it fires early: re-arming a timer
    // for every chunk would cost more than reading the chunk.
    let stall = tokio::time::sleep(timeout);
    tokio::pin!(stall);
    let mut last_piece = Instant::now();
    loop {
        let chunks = out.chunks;
        let piece = tokio::select! {
            biased;
            piece = response.chunk() => piece,
            () = &mut stall => {
                if last_piece.elapsed() >= timeout {
                    return out.fail(
                        FailureKind::Timeout,
                        format!(
                            "the stream stalled for {:.1} s after {chunks} chunks",
                            timeout.as_secs_f64(),
                        ),
                        sent,
                    );
                }
                stall.as_mut().reset((last_piece + timeout).into());
                continue;
            }
            () = &mut interrupted => {
                return out.fail(
                    FailureKind::Interrupted,
                    format!("bench was interrupted after {chunks} chunks"),
                    sent,
                );
            }
        };
        let piece = match piece {
            Err(e) => {
                return out.fail(
                    FailureKind::Cut,
                    format!(
                        "the stream broke after {chunks} chunks: {}",
                        error_chain(&e)
                    ),
                    sent,
                )
            }
            Ok(None) => break,
            Ok(Some(bytes)) => bytes,
        };
        last_piece = Instant::now();
        let t_s = last_piece.duration_since(sent).as_secs_f64();
        bytes_seen += piece.len();
        parser.feed(&piece, &mut events);
        if let Some(failed) = take_events(&mut out, &mut events, t_s, &mut done) {
            return failed.fail_at(sent);
        }
    }
    parser.finish(&mut events);
    let t_end = sent.elapsed().as_secs_f64();
    if let Some(failed) = take_events(&mut out, &mut events, t_end, &mut done) {
        return failed.fail_at(sent);
    }
    out.keepalives = parser.comments();
    out.stats = parser.stats().and_then(|s| serde_json::from_str(s).ok());
    out.e2e_s = t_end;
    if out.chunks == 0 {
        let message = if bytes_seen == 0 {
            "the response had no body".to_string()
        } else {
            format!("{bytes_seen} bytes that hold no server-sent event")
        };
        return out.fail(FailureKind::Garbage, message, sent);
    }
    if !done && out.finish_reason.is_none() {
        let chunks = out.chunks;
        return out.fail(
            FailureKind::Cut,
            format!("the stream ended after {chunks} chunks without a finish reason or [DONE]"),
            sent,
        );
    }
    out
}

/// A failure found while reading events, waiting for its end time.
struct Pending(StreamOutcome, FailureKind, String);

impl Pending {
    fn fail_at(self, sent: Instant) -> StreamOutcome {
        self.0.fail(self.1, self.2, sent)
    }
}

fn take_events(
    out: &mut StreamOutcome,
    events: &mut Vec<Event>,
    t_s: f64,
    done: &mut bool,
) -> Option<Pending> {
    for event in events.drain(..) {
        match event {
            Event::Done => *done = true,
            Event::Data(data) => {
                out.chunks += 1;
                let chunk = match parse_chunk(&data) {
                    Ok(chunk) => chunk,
                    Err(message) => {
                        return Some(Pending(std::mem::take(out), FailureKind::Garbage, message))
                    }
                };
                if let Some(error) = chunk.error {
                    return Some(Pending(std::mem::take(out), FailureKind::Server, error));
                }
                if chunk.carries_token(!out.arrivals.is_empty()) {
                    let before = out.think.thinking();
                    let (thought, answer) = out.think.split(&chunk.content);
                    let reasoning = chunk.reasoning + &thought;
                    let thinking = !reasoning.is_empty()
                        || (answer.is_empty() && (before || out.think.thinking()));
                    out.arrivals.push(Arrival {
                        t_s,
                        text: answer,
                        reasoning,
                        thinking,
                    });
                }
                if chunk.finish_reason.is_some() {
                    out.finish_reason = chunk.finish_reason;
                }
                if chunk.usage.is_some() {
                    out.usage = chunk.usage;
                }
                if chunk.timings.is_some() {
                    out.timings = chunk.timings;
                }
            }
        }
    }
    None
}

/// An error and its causes, on one line (reqwest's top-level message alone is vague).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    parts.join(": ")
}
