//! Plain-HTTP GETs for the polled power endpoints (Prometheus exporters, `macmon serve`, exo),
//! shared by their sources.
//!
//! The HTTP client is built without TLS, so only `http://` URLs work; an `https://` one is
//! refused up front with a reason rather than failing on every poll. An endpoint that wants a
//! bearer token (`bench power serve` off loopback) gets it from [`HttpSettings::token`].

use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::Url;

use crate::power::PowerError;

/// How long one request may take by default: short, so that a dead endpoint is noticed within
/// a couple of sampling intervals instead of stalling the monitor.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How to reach an endpoint: how long one request may take, and the bearer token to send.
#[derive(Clone)]
pub struct HttpSettings {
    /// Per-request timeout (connecting included).
    pub timeout: Duration,
    /// Sent as `Authorization: Bearer <token>` with every request, when set.
    pub token: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            token: None,
        }
    }
}

impl HttpSettings {
    /// The default timeout and `token`.
    pub fn with_token(token: Option<String>) -> Self {
        Self {
            token,
            ..Self::default()
        }
    }
}

// By hand, so that the token never reaches a log or an error message.
impl std::fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("timeout", &self.timeout)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// An endpoint's URL: `http://` is added when no scheme is given, and `default_path` when the
/// URL has no path.
pub(crate) fn endpoint_url(
    source_name: &'static str,
    input: &str,
    default_path: &str,
) -> Result<Url, PowerError> {
    let unavailable = |reason: String| PowerError::Unavailable {
        source_name,
        reason,
    };
    let input = input.trim();
    let with_scheme = if input.contains("://") {
        input.to_string()
    } else {
        format!("http://{input}")
    };
    let mut url = Url::parse(&with_scheme)
        .map_err(|e| unavailable(format!("`{input}` is not a URL: {e}")))?;
    match url.scheme() {
        "http" => {}
        "https" => {
            return Err(unavailable(format!(
                "`{input}` uses https, but this build speaks plain http only (no TLS): \
                 use the endpoint's http:// address, or put it behind a local plain-http proxy"
            )))
        }
        other => {
            return Err(unavailable(format!(
                "`{input}` uses `{other}://`; an http:// URL is needed"
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(unavailable(format!("`{input}` names no host")));
    }
    if url.path().is_empty() || url.path() == "/" {
        url.set_path(default_path);
    }
    Ok(url)
}

/// A client with short timeouts. Proxy settings from the environment are ignored: these
/// endpoints are on the local network, and a proxy would only add latency to the timing.
pub(crate) fn client(source_name: &'static str, timeout: Duration) -> Result<Client, PowerError> {
    Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .no_proxy()
        .build()
        .map_err(|e| PowerError::Unavailable {
            source_name,
            reason: format!("cannot set up an HTTP client: {}", chain(&e)),
        })
}

/// Why a GET gave no body.
#[derive(Debug)]
pub(crate) enum GetError {
    /// The endpoint answered with a status other than 200.
    Status(u16, String),
    /// No answer: refused, timed out, reset.
    Transport(String),
}

impl std::fmt::Display for GetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GetError::Status(code, body) if body.is_empty() => write!(f, "HTTP {code}"),
            GetError::Status(code, body) => write!(f, "HTTP {code}: {body}"),
            GetError::Transport(why) => f.write_str(why),
        }
    }
}

/// Why an endpoint answered 401, in words: it wants a token, or refused the one sent.
pub(crate) fn refusal(url: &Url, token_sent: bool, body: &str) -> String {
    let why = if body.is_empty() {
        String::new()
    } else {
        format!(" ({body})")
    };
    if token_sent {
        format!("{url} refused the bearer token{why}: check the token file against the server's")
    } else {
        format!(
            "{url} needs a bearer token{why}: pass the server's token with --token-file FILE \
             (or `token` in the source settings)"
        )
    }
}

/// GET `url`'s body as text, with `token` as a bearer token when given.
pub(crate) fn get_text(
    client: &Client,
    url: &Url,
    accept: &str,
    token: Option<&str>,
) -> Result<String, GetError> {
    let mut request = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, accept);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().map_err(|e| GetError::Transport(chain(&e)))?;
    let status = response.status();
    let body = response
        .text()
        .map_err(|e| GetError::Transport(chain(&e)))?;
    if status != reqwest::StatusCode::OK {
        let body: String = body.trim().chars().take(200).collect();
        return Err(GetError::Status(status.as_u16(), body));
    }
    Ok(body)
}

/// GET with one quick retry, so that a single dropped connection does not end the source.
pub(crate) fn get_text_retrying(
    client: &Client,
    url: &Url,
    accept: &str,
    token: Option<&str>,
) -> Result<String, GetError> {
    match get_text(client, url, accept, token) {
        Err(GetError::Transport(_)) => {
            std::thread::sleep(Duration::from_millis(100));
            get_text(client, url, accept, token)
        }
        other => other,
    }
}

/// One poll of a running source: GET with a retry, a failure named for `source_name` (a
/// refused token says so; anything else: the endpoint stopped answering).
pub(crate) fn poll(
    source_name: &'static str,
    client: &Client,
    url: &Url,
    accept: &str,
    token: Option<&str>,
) -> Result<String, PowerError> {
    get_text_retrying(client, url, accept, token).map_err(|e| PowerError::Failed {
        source_name,
        reason: match e {
            GetError::Status(401, why) => refusal(url, token.is_some(), &why),
            e => format!("{url} stopped answering: {e}"),
        },
    })
}

/// An error with its causes: reqwest's own message says only "error sending request".
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

/// A one-thread HTTP server on 127.0.0.1 for tests: answers requests in turn with fixed
/// responses, then stops answering.
#[cfg(test)]
pub(crate) mod test_server {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    /// What the server does once its responses are used up.
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum Then {
        /// Close the listener: connections are refused.
        Close,
        /// Accept connections and never answer (for a few seconds).
        Hang,
    }

    /// Start serving `responses` (status, body) in order; the base URL, `http://127.0.0.1:N`.
    pub(crate) fn start(responses: Vec<(u16, String)>, then: Then) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for (status, body) in responses {
                let Ok((mut stream, _)) = listener.accept() else {
                    return;
                };
                read_request(&mut stream);
                let reason = if status == 200 { "OK" } else { "Not OK" };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.flush();
            }
            if let Then::Hang = then {
                let _ = listener.set_nonblocking(true);
                let mut held = Vec::new();
                let until = Instant::now() + Duration::from_secs(10);
                while Instant::now() < until {
                    if let Ok((stream, _)) = listener.accept() {
                        held.push(stream);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        });
        url
    }

    fn read_request(stream: &mut TcpStream) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let mut request = Vec::new();
        let mut buf = [0u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => request.extend_from_slice(&buf[..n]),
            }
        }
    }
}
