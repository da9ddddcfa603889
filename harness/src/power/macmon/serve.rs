//! `macmon serve` on another Mac, polled over HTTP.

use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::Url;
use serde_json::Value;

use super::{parse_line, NAME};
use crate::clock::RunClock;
use crate::power::http::HttpSettings;
use crate::power::http::{self, GetError};
use crate::power::{Position, PowerError, Sample, Source, Ticker};

/// How long `open` waits out macmon serve's `503 no data yet` (it has data one interval after
/// it starts).
const NO_DATA_GRACE: Duration = Duration::from_secs(3);

/// Polls `GET /json` of a `macmon serve` every interval (plain HTTP only, no TLS).
///
/// The body has the `macmon pipe` fields, read by [`parse_line`]. macmon serve samples at its
/// own `-i` and returns the latest reading, with `timestamp` set when the response is written,
/// not when the reading was taken; so samples are stamped on arrival, with window = the
/// polling interval. Run the server with the same interval as the suite, or polls repeat (or
/// skip) its readings. Samples carry the server's host unless it is this machine.
#[derive(Debug)]
pub struct MacmonServeSource {
    url: Url,
    client: Client,
    ticker: Ticker,
    host: Option<String>,
    window_s: f64,
    description: String,
    token: Option<String>,
}

impl MacmonServeSource {
    /// Poll `endpoint` (`http://mac.local:9090`; `http://` and `/json` are added when missing).
    /// Checks it now: not answering, or not macmon's JSON, is [`PowerError::Unavailable`].
    pub fn open(endpoint: &str, interval: Duration) -> Result<Self, PowerError> {
        Self::open_with_timeout(endpoint, interval, http::DEFAULT_TIMEOUT)
    }

    /// [`MacmonServeSource::open`] with a per-request timeout other than 2 s.
    pub fn open_with_timeout(
        endpoint: &str,
        interval: Duration,
        timeout: Duration,
    ) -> Result<Self, PowerError> {
        let settings = HttpSettings {
            timeout,
            token: None,
        };
        Self::open_with(endpoint, interval, &settings)
    }

    /// [`MacmonServeSource::open`] with the timeout and bearer token of `settings` (for a
    /// `macmon serve` behind an authenticating proxy). A 401 answer is
    /// [`PowerError::Unavailable`] saying whether a token is wanted or the one sent was refused.
    pub fn open_with(
        endpoint: &str,
        interval: Duration,
        settings: &HttpSettings,
    ) -> Result<Self, PowerError> {
        let timeout = settings.timeout;
        let token = settings.token.clone();
        let unavailable = |reason: String| PowerError::Unavailable {
            source_name: NAME,
            reason,
        };
        let url = http::endpoint_url(NAME, endpoint, "/json")?;
        let client = http::client(NAME, timeout)?;
        let deadline = Instant::now() + NO_DATA_GRACE;
        let body = loop {
            match http::get_text(&client, &url, "application/json", token.as_deref()) {
                Ok(body) => break body,
                Err(GetError::Status(401, why)) => {
                    return Err(unavailable(http::refusal(&url, token.is_some(), &why)))
                }
                Err(GetError::Status(503, _)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(GetError::Status(404, _)) => {
                    return Err(unavailable(format!(
                        "{url} answered 404: not a `macmon serve` (which has /json since v0.7)"
                    )))
                }
                Err(e) => {
                    return Err(unavailable(format!(
                        "cannot read macmon serve at {url}: {e}; start it on that Mac with \
                         `macmon serve` (port 9090 by default)"
                    )))
                }
            }
        };
        let first = parse_line(&body)
            .map_err(|e| unavailable(format!("{url} answered, but not with macmon's JSON: {e}")))?;
        let chip = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| {
                v.pointer("/soc/chip_name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .map_or_else(String::new, |chip| format!(" ({chip})"));
        let rails: Vec<&str> = first.rails.iter().map(|r| r.rail.as_str()).collect();
        let description = format!(
            "macmon serve at {url}{chip}, polled every {} ms: rails {} (W)",
            interval.as_millis(),
            rails.join(", ")
        );
        Ok(Self {
            host: crate::net::remote_host(&url),
            url,
            client,
            ticker: Ticker::new(interval),
            window_s: interval.as_secs_f64(),
            description,
            token,
        })
    }

    /// The URL polled.
    pub fn url(&self) -> &str {
        self.url.as_str()
    }
}

impl Source for MacmonServeSource {
    fn name(&self) -> &'static str {
        NAME
    }

    fn describe(&self) -> String {
        self.description.clone()
    }

    fn next(&mut self, clock: &RunClock) -> Result<Option<Sample>, PowerError> {
        self.ticker.wait();
        let body = http::poll(
            NAME,
            &self.client,
            &self.url,
            "application/json",
            self.token.as_deref(),
        )?;
        let t_s = clock.now_s();
        let mut sample = parse_line(&body).map_err(|message| PowerError::Malformed {
            format: NAME,
            position: Position::Line(1),
            message: format!("{}: {message}", self.url),
        })?;
        sample.t_s = t_s;
        sample.window_s = self.window_s;
        sample.host = self.host.clone();
        Ok(Some(sample))
    }
}
