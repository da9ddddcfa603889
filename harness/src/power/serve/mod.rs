//! `bench power serve`: one power source exposed over HTTP, for a cluster coordinator to
//! scrape from a node where it cannot run the sampler itself (powermetrics needs root, macmon
//! is not installed there).
//!
//! Endpoints: `GET /metrics` (Prometheus text, see [`exposition`]), `GET /json` (the latest
//! sample as a `power.jsonl` line; 503 before the first), `GET /` (an index). Off loopback
//! every request needs `Authorization: Bearer <token>` ([`auth`]). Requests are answered one
//! at a time on the caller's thread, between reads of the source's samples ([`feed`]).

pub mod auth;
mod error;
pub mod exposition;
pub mod feed;
pub mod state;

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub use auth::{LoadedToken, Refusal, Token};
pub use error::ServeError;
pub use feed::{Event, Feed};
pub use state::State;

/// How long the loop waits for a request before it looks at the samples and the stop flag
/// again: short, so that Ctrl-C and new samples are noticed within a blink.
const POLL: Duration = Duration::from_millis(50);

/// The port `--bind` defaults to (Prometheus' registry of exporter ports has it free).
pub const DEFAULT_BIND: &str = "127.0.0.1:9464";

/// The index `GET /` answers.
const INDEX: &str = "bench power serve\n\
    GET /metrics  latest sample, Prometheus text format 0.0.4 (bench_power_watts, \
    bench_energy_joules_total, bench_power_sample_age_seconds, bench_power_samples_total)\n\
    GET /json     latest sample as a power.jsonl line (503 before the first)\n";

/// An HTTP server for one power source.
pub struct PowerServer {
    http: tiny_http::Server,
    addr: SocketAddr,
    token: Option<Token>,
}

/// Why [`PowerServer::run`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The stop flag was set (Ctrl-C).
    Stopped,
    /// The source failed: how. Serving stale samples would look like a healthy node.
    SourceFailed(String),
}

impl PowerServer {
    /// Listen on `addr` (`127.0.0.1:9464`, `0.0.0.0:9464`, `[::]:0`). An address other
    /// machines can reach is refused without a `token`.
    pub fn bind(addr: &str, token: Option<Token>) -> Result<Self, ServeError> {
        let bad = |reason: String| ServeError::Address {
            addr: addr.to_string(),
            reason,
        };
        let resolved: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .map_err(|e| bad(format!("{e} (expected HOST:PORT, e.g. 127.0.0.1:9464)")))?
            .collect();
        let Some(&first) = resolved.first() else {
            return Err(bad("it resolves to no address".into()));
        };
        auth::require_token_off_loopback(&first, token.as_ref())?;
        let http = tiny_http::Server::http(first).map_err(|e| ServeError::Listen {
            addr: first.to_string(),
            reason: e.to_string(),
        })?;
        // Port 0 means "any free port": report the one the OS gave.
        let addr = http.server_addr().to_ip().unwrap_or(first);
        Ok(Self { http, addr, token })
    }

    /// The address served (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether requests need a bearer token.
    pub fn token_required(&self) -> bool {
        self.token.is_some()
    }

    /// Serve `feed`'s samples until `stop` is set or the source fails. A source that ends
    /// (a replay without looping) leaves its last sample served, growing older.
    pub fn run(&self, feed: &Feed, stop: &AtomicBool) -> Result<Outcome, ServeError> {
        let mut state = State::new();
        loop {
            for event in feed.drain() {
                match event {
                    Event::Sample(sample, at) => state.push(*sample, at),
                    Event::Ended => tracing::info!("the source ended; its last sample stays"),
                    Event::Failed(why) => return Ok(Outcome::SourceFailed(why)),
                }
            }
            if stop.load(Ordering::SeqCst) {
                return Ok(Outcome::Stopped);
            }
            let request = match self.http.recv_timeout(POLL) {
                Ok(Some(request)) => request,
                Ok(None) => continue,
                Err(e) => {
                    return Err(ServeError::Listen {
                        addr: self.addr.to_string(),
                        reason: e.to_string(),
                    })
                }
            };
            let authorization = request
                .headers()
                .iter()
                .find(|h| h.field.equiv("Authorization"))
                .map(|h| h.value.as_str().to_string());
            let reply = respond(
                request.method().as_str(),
                request.url(),
                authorization.as_deref(),
                self.token.as_ref(),
                &state,
                Instant::now(),
            );
            // A client that hung up is its own problem; the server goes on.
            let _ = request.respond(reply.into_response());
        }
    }
}

/// An answer, before it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Content-Type.
    pub content_type: &'static str,
    /// Body.
    pub body: String,
    /// Whether to send `WWW-Authenticate: Bearer` (with 401).
    pub challenge: bool,
}

impl Reply {
    fn new(status: u16, content_type: &'static str, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type,
            body: body.into(),
            challenge: false,
        }
    }

    fn json_error(status: u16, message: &str) -> Self {
        let body = serde_json::json!({ "error": message }).to_string();
        Self::new(status, "application/json", body)
    }

    fn into_response(self) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
        let mut response =
            tiny_http::Response::from_string(self.body).with_status_code(self.status);
        let mut headers = vec![
            ("Content-Type", self.content_type),
            ("Cache-Control", "no-store"),
        ];
        if self.challenge {
            headers.push(("WWW-Authenticate", "Bearer realm=\"bench power serve\""));
        }
        for (field, value) in headers {
            // Both halves are fixed ASCII, which is all `from_bytes` asks.
            if let Ok(header) = tiny_http::Header::from_bytes(field, value) {
                response.add_header(header);
            }
        }
        response
    }
}

/// The answer to one request: auth first, then the route.
pub fn respond(
    method: &str,
    url: &str,
    authorization: Option<&str>,
    token: Option<&Token>,
    state: &State,
    now: Instant,
) -> Reply {
    if let Err(refusal) = auth::check(token, authorization) {
        return Reply {
            challenge: true,
            ..Reply::new(
                401,
                "text/plain; charset=utf-8",
                format!("{}\n", refusal.message()),
            )
        };
    }
    if method != "GET" && method != "HEAD" {
        return Reply::new(405, "text/plain; charset=utf-8", "only GET is served\n");
    }
    let path = url.split(['?', '#']).next().unwrap_or(url);
    match path {
        "/" => Reply::new(200, "text/plain; charset=utf-8", INDEX),
        "/metrics" => {
            let integrated = state.integrated_j();
            let text = exposition::render(&exposition::View {
                latest: state.latest(),
                integrated_j: &integrated,
                age_s: state.age_s(now),
                samples_total: state.count(),
            });
            Reply::new(200, exposition::CONTENT_TYPE, text)
        }
        "/json" => match state.latest().map(serde_json::to_string) {
            Some(Ok(line)) => Reply::new(200, "application/json", line),
            Some(Err(e)) => Reply::json_error(500, &format!("cannot encode the sample: {e}")),
            None => Reply::json_error(503, "no sample yet: the sampler has not delivered one"),
        },
        _ => Reply::new(
            404,
            "text/plain; charset=utf-8",
            format!("no such endpoint: {path}\n{INDEX}"),
        ),
    }
}

#[cfg(test)]
mod tests;
