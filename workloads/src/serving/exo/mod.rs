//! The `exo` engine: an exo cluster through its HTTP API (default port 52415).
//!
//! At open, bench reads the cluster (`GET /state`: nodes, chips, memory, power, topology) for
//! the run manifest, then finds an instance of the model on the asked number of nodes: one
//! already running is used as it is; otherwise bench asks for the placements exo would make
//! (`GET /instance/previews`), creates the one that fits (`POST /instance`, which names the
//! instance id up front, unlike `/place_instance`), and waits until every runner of it is
//! `RunnerReady` in `/state` (`/instance/await` only says that an instance exists). An
//! instance bench created is deleted when the engine is dropped.
//!
//! Requests go through the [`openai`](super::openai) engine to `/v1/chat/completions`, or to
//! `/bench/chat/completions` (end-of-sequence banned, prefix cache off): streamed, with exo's
//! `: generation_stats` comment kept; or whole, with its `generation_stats` and per-node
//! `power_usage` kept (no ttft then: nothing arrives before the end).
//!
//! Shapes as of exo-explore/exo `src/exo/api/main.py` (commit b5375f8), and as recorded from a
//! live exo 1.0.71 by `ci/exo-live.sh` (`harness/tests/fixtures/exo/v1.0.71/`). Differences
//! met there: 1.0.71 forces `stream` off on `/bench/chat/completions`, and applies a removal a
//! moment after answering the DELETE.

pub mod images;
pub mod state;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::openai::{Api, OpenAiEngine, OpenAiOptions};
use crate::engine::{
    EngineInfo, LlmEngine, LlmMeasurement, LlmPatternRequest, LlmRequest, ServerReport,
    ServesPatterns, TokenCountSource,
};
use crate::load::{LoadPattern, LoadTimeline};
use crate::model::ResolvedModel;
use crate::Error;
use state::{Cluster, Placement, Readiness};

/// How long an accepted instance may take to appear in `/state`, and a removed one to leave
/// it (exo's master applies both a moment after answering).
const APPEAR_WITHIN: Duration = Duration::from_secs(10);

/// How long a removed instance's runners take to exit, by default (about a second on exo
/// 1.0.71, whose state does not say when they have; on a busy machine, much longer).
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);

/// Which exo endpoint requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExoEndpoint {
    /// `/v1/chat/completions`, streamed.
    #[default]
    Chat,
    /// `/bench/chat/completions`, streamed: exact output lengths, `generation_stats` kept.
    /// exo 1.0.71 answers it only whole (a located failure says so): use [`Self::Bench`].
    BenchStream,
    /// `/bench/chat/completions`, whole: `generation_stats` and `power_usage` kept, no ttft.
    Bench,
}

/// How bench uses the cluster.
#[derive(Debug, Clone)]
pub struct ExoOptions {
    /// The API (`http://studio-1.local:52415`).
    pub url: String,
    /// exo's model id (`mlx-community/Llama-3.3-70B-Instruct-4bit`).
    pub model_id: String,
    /// Nodes the instance runs on.
    pub nodes: usize,
    /// `Pipeline` or `Tensor` (exo's names); `None`: what exo prefers.
    pub sharding: Option<String>,
    /// `MlxRing` or `MlxJaccl` (RDMA over Thunderbolt); `None`: what exo prefers.
    pub instance_meta: Option<String>,
    /// The endpoint.
    pub endpoint: ExoEndpoint,
    /// Longest wait for the instance's runners to load.
    pub startup_timeout: Duration,
    /// Wait after removing the instance bench placed, for its runners to exit (see
    /// [`DEFAULT_SETTLE`]).
    pub settle: Duration,
    /// Longest wait for each response and each piece of a stream.
    pub timeout: Duration,
}

/// An exo cluster serving one instance of a model.
pub struct ExoEngine {
    inner: OpenAiEngine,
    info: EngineInfo,
    http: reqwest::blocking::Client,
    options: ExoOptions,
    // Declared last: dropped (and removed if bench placed it) after the engine using it.
    instance: ExoInstance,
}

fn get(http: &reqwest::blocking::Client, url: &str) -> Result<Value, Error> {
    let response = http
        .get(url)
        .send()
        .map_err(|e| Error::transport(format!("GET {url}"), format!("GET {url}: {e}")))?;
    read_json(response, "GET", url)
}

fn read_json(
    response: reqwest::blocking::Response,
    method: &str,
    url: &str,
) -> Result<Value, Error> {
    let status = response.status();
    let text = response
        .text()
        .map_err(|e| Error::transport(format!("{method} {url}"), format!("{method} {url}: {e}")))?;
    if !status.is_success() {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| text.chars().take(200).collect());
        return Err(Error::transport(
            format!("{method} {url}"),
            format!("{method} {url}: HTTP {status}: {message}"),
        ));
    }
    serde_json::from_str(&text).map_err(|e| {
        Error::transport(
            format!("{method} {url}"),
            format!("{method} {url}: not JSON ({e})"),
        )
    })
}

/// An instance of the model on the cluster, found or placed by bench, ready to serve; an
/// instance bench placed is deleted when this is dropped.
pub struct ExoInstance {
    http: reqwest::blocking::Client,
    base: String,
    placement: Placement,
    cluster: Cluster,
    /// The instance bench created; `None` when it used one already there.
    created: Option<String>,
    /// Wait after removing `created`.
    settle: Duration,
    /// What the API says its version is (`GET /ollama/api/version`: exo 1.0.71 answers
    /// "exo v1.0" whatever its release, so this is coarse).
    version: Option<String>,
}

impl ExoInstance {
    /// Read the cluster, then use a ready instance of the model on the asked nodes or place
    /// one and wait until all its runners are ready.
    pub fn open(options: &ExoOptions) -> Result<Self, Error> {
        let base = options.url.trim_end_matches('/').to_string();
        let http = reqwest::blocking::Client::builder()
            .no_proxy()
            .timeout(options.timeout)
            .build()
            .map_err(|e| Error::transport(&base, format!("cannot build the HTTP client: {e}")))?;
        let state = get(&http, &format!("{base}/state"))?;
        let cluster = Cluster::from_state(&state);
        let version = get(&http, &format!("{base}/ollama/api/version"))
            .ok()
            .and_then(|v| v["version"].as_str().map(str::to_string));
        let (placement, created) = match running_instance(&state, options) {
            Some(p) => (p, None),
            None => {
                let placement = place(&http, &base, options)?;
                let id = placement.instance_id.clone();
                (placement, Some(id))
            }
        };
        // Built before waiting: if the wait fails, dropping it removes what bench placed.
        let instance = Self {
            http,
            base,
            placement,
            cluster,
            created,
            settle: options.settle,
            version,
        };
        wait_until_ready(
            &instance.http,
            &instance.base,
            &instance.placement,
            options.startup_timeout,
        )?;
        Ok(instance)
    }

    /// The API's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The device line of the engine's manifest entry.
    pub fn describe(&self, model: &str) -> String {
        format!(
            "exo cluster at {}: {model} on {} node(s), {} with {}{}",
            self.base,
            self.placement.nodes,
            self.placement.kind,
            self.placement.shard,
            if self.created.is_some() {
                ""
            } else {
                " (instance already running)"
            }
        )
    }

    /// The cluster and the instance, for the run manifest.
    pub fn manifest(&self) -> Value {
        json!({
            "cluster": self.cluster,
            "exo_version_reported": self.version,
            "instance": {
                "id": self.placement.instance_id,
                "kind": self.placement.kind,
                "shard": self.placement.shard,
                "nodes": self.placement.nodes,
                "created_by_bench": self.created.is_some(),
            },
        })
    }
}

impl Drop for ExoInstance {
    fn drop(&mut self) {
        if self.created.is_some() {
            delete_instance(&self.http, &self.base, &self.placement, self.settle);
        }
    }
}

impl ExoEngine {
    /// Find or place an instance of the model and connect to it.
    pub fn open(spec: &str, resolved: &ResolvedModel, options: ExoOptions) -> Result<Self, Error> {
        let started = Instant::now();
        let instance = ExoInstance::open(&options)?;
        let base = instance.base().to_string();
        let endpoint = match options.endpoint {
            ExoEndpoint::Chat => format!("{base}/v1/chat/completions"),
            ExoEndpoint::BenchStream | ExoEndpoint::Bench => {
                format!("{base}/bench/chat/completions")
            }
        };
        let inner = OpenAiEngine::open(
            spec,
            resolved,
            OpenAiOptions {
                api: Api::Chat,
                url: endpoint,
                served_model: options.model_id.clone(),
                api_key: None,
                timeout: options.timeout,
            },
        )?;
        let mut info = inner.info().clone();
        info.engine = "exo";
        info.device = instance.describe(&options.model_id);
        info.cluster = Some(instance.manifest());
        info.open_s = started.elapsed().as_secs_f64();
        Ok(Self {
            inner,
            info,
            http: instance.http.clone(),
            options,
            instance,
        })
    }

    /// `/bench/chat/completions` whole: time the request, keep exo's own figures.
    fn bench_whole(&mut self, request: &LlmRequest) -> Result<LlmMeasurement, Error> {
        let prepared = self.inner.request_body(request)?;
        let url = format!("{}/bench/chat/completions", self.instance.base());
        let mut body: Value = serde_json::from_slice(&prepared.body)
            .map_err(|e| Error::Engine(format!("cannot build the request: {e}")))?;
        body["stream"] = json!(false);
        if let Some(object) = body.as_object_mut() {
            object.remove("stream_options");
        }
        let started = Instant::now();
        let doc = post_json(&self.http, &url, &body)?;
        let e2e_s = started.elapsed().as_secs_f64();
        let reply = BenchReply::read(&doc);
        let count = |n: Option<u64>, asked: usize| n.map_or(asked, |n| n as usize);
        Ok(LlmMeasurement {
            started,
            prompt_tokens: count(reply.prompt_tokens, prepared.prompt_tokens),
            output_tokens: count(reply.generation_tokens, request.gen_tokens),
            token_count_source: if reply.server.stats.is_some() {
                TokenCountSource::ServerUsage
            } else {
                TokenCountSource::Tokenizer
            },
            tokenize_s: 0.0,
            token_times_s: Vec::new(),
            e2e_s,
            peak_memory: None,
            device_peak_memory: None,
            server: Some(reply.server),
            exchange: None,
        })
    }
}

/// What a whole (not streamed) `/bench/chat/completions` answer reports besides its text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BenchReply {
    /// `generation_stats.prompt_tokens`: the prompt as exo counted it.
    pub prompt_tokens: Option<u64>,
    /// `generation_stats.generation_tokens`.
    pub generation_tokens: Option<u64>,
    /// The finish reason, `generation_stats` and `power_usage`, as sent.
    pub server: ServerReport,
}

impl BenchReply {
    /// Read the answer's JSON; what is missing or of another type is left out.
    pub fn read(doc: &Value) -> Self {
        let stats = doc
            .get("generation_stats")
            .filter(|v| !v.is_null())
            .cloned();
        let count = |key: &str| stats.as_ref().and_then(|s| s[key].as_u64());
        Self {
            prompt_tokens: count("prompt_tokens"),
            generation_tokens: count("generation_tokens"),
            server: ServerReport {
                finish_reason: doc["choices"][0]["finish_reason"]
                    .as_str()
                    .map(str::to_string),
                power: doc.get("power_usage").filter(|v| !v.is_null()).cloned(),
                stats,
                ..ServerReport::default()
            },
        }
    }
}

/// POST `body` as JSON to `url` and read the JSON answer.
pub(crate) fn post_json(
    http: &reqwest::blocking::Client,
    url: &str,
    body: &Value,
) -> Result<Value, Error> {
    let response = http
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .map_err(|e| Error::transport(format!("POST {url}"), format!("POST {url}: {e}")))?;
    read_json(response, "POST", url)
}

/// Remove `placement`'s instance, wait until exo's state no longer lists it, then give its
/// runners' processes `settle` to exit. exo answers the DELETE before it applies it, so the next
/// target must not take the instance for a running one; and a live exo 1.0.71 never loaded an
/// instance placed while the last one's runners were still exiting. Its state cannot say when
/// they have: runners of removed instances stay listed, as `RunnerShuttingDown` or even
/// `RunnerReady`, for good.
fn delete_instance(
    http: &reqwest::blocking::Client,
    base: &str,
    placement: &Placement,
    settle: Duration,
) {
    let id = &placement.instance_id;
    let url = format!("{base}/instance/{id}");
    match http.delete(&url).send() {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => {
            tracing::warn!(
                "DELETE {url}: HTTP {}; the instance may still be running",
                r.status()
            );
            return;
        }
        Err(e) => {
            tracing::warn!("DELETE {url}: {e}; the instance may still be running");
            return;
        }
    }
    let deadline = Instant::now() + APPEAR_WITHIN;
    while Instant::now() < deadline {
        match get(http, &format!("{base}/state")) {
            Ok(state) if state["instances"].get(id).is_none() => {
                std::thread::sleep(settle);
                return;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(100)),
            Err(_) => return, // the cluster is gone: nothing left to wait for
        }
    }
    tracing::warn!(
        "exo still lists instance {id} {} s after it was removed",
        APPEAR_WITHIN.as_secs()
    );
}

/// Whether `placement` is what the target asked for.
fn fits(placement: &Placement, options: &ExoOptions) -> bool {
    let kind = |meta: &str| format!("{meta}Instance");
    let shard = |sharding: &str| format!("{sharding}ShardMetadata");
    placement.nodes == options.nodes
        // exo runs every one-node instance as a pipeline ring, whatever was asked.
        && (options.nodes == 1
            || (options.instance_meta.as_deref().is_none_or(|m| placement.kind == kind(m))
                && options.sharding.as_deref().is_none_or(|s| placement.shard == shard(s))))
}

fn running_instance(state: &Value, options: &ExoOptions) -> Option<Placement> {
    state["instances"]
        .as_object()?
        .values()
        .filter_map(Placement::of)
        .find(|p| {
            p.model() == Some(options.model_id.as_str())
                && fits(p, options)
                && state::readiness(state, p) == Readiness::Ready
        })
}

fn place(
    http: &reqwest::blocking::Client,
    base: &str,
    options: &ExoOptions,
) -> Result<Placement, Error> {
    let mut url = reqwest::Url::parse(&format!("{base}/instance/previews"))
        .map_err(|e| Error::Config(format!("`{base}` is not a URL: {e}")))?;
    url.query_pairs_mut()
        .append_pair("model_id", &options.model_id);
    let (placements, errors) = state::previews(&get(http, url.as_str())?);
    let Some(placement) = placements.iter().find(|p| fits(p, options)) else {
        let offered: Vec<String> = placements
            .iter()
            .map(|p| format!("{} node(s) {} {}", p.nodes, p.kind, p.shard))
            .collect();
        return Err(Error::NotAvailable(format!(
            "exo offers no placement of {} on {} node(s){}{}; it offers: {}{}",
            options.model_id,
            options.nodes,
            options
                .sharding
                .as_deref()
                .map_or(String::new(), |s| format!(" with {s} sharding")),
            options
                .instance_meta
                .as_deref()
                .map_or(String::new(), |m| format!(" over {m}")),
            if offered.is_empty() {
                "nothing".into()
            } else {
                offered.join(", ")
            },
            if errors.is_empty() {
                String::new()
            } else {
                format!(" (refused: {})", errors.join("; "))
            },
        )));
    };
    post_json(
        http,
        &format!("{base}/instance"),
        &json!({ "instance": placement.instance }),
    )?;
    Ok(placement.clone())
}

fn wait_until_ready(
    http: &reqwest::blocking::Client,
    base: &str,
    placement: &Placement,
    timeout: Duration,
) -> Result<(), Error> {
    let started = Instant::now();
    let deadline = started + timeout;
    loop {
        let state = get(http, &format!("{base}/state"))?;
        match state::readiness(&state, placement) {
            Readiness::Ready => return Ok(()),
            Readiness::Loading => {}
            Readiness::Missing if started.elapsed() < APPEAR_WITHIN => {}
            Readiness::Missing => {
                return Err(Error::Engine(format!(
                    "exo: instance {} never appeared in the cluster's state: placement failed (exo's master log says why)",
                    placement.instance_id
                )))
            }
            Readiness::Failed(e) => return Err(Error::Engine(format!("exo: {e}"))),
        }
        if Instant::now() >= deadline {
            return Err(Error::Engine(format!(
                "exo: instance {} was not ready within {:.0} s",
                placement.instance_id,
                timeout.as_secs_f64()
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

impl LlmEngine for ExoEngine {
    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn generate(&mut self, request: &LlmRequest) -> Result<LlmMeasurement, Error> {
        match self.options.endpoint {
            ExoEndpoint::Bench => self.bench_whole(request),
            _ => self.inner.generate(request),
        }
    }

    fn count_tokens(&self, text: &str) -> Option<usize> {
        self.inner.count_tokens(text)
    }

    fn pattern_server(&mut self) -> Option<&mut dyn ServesPatterns> {
        (self.options.endpoint != ExoEndpoint::Bench).then_some(self as &mut dyn ServesPatterns)
    }
}

impl ServesPatterns for ExoEngine {
    fn serve_pattern(
        &mut self,
        requests: &[LlmRequest],
        pattern: &LoadPattern,
        sink: &mut dyn FnMut(LlmPatternRequest),
    ) -> Result<LoadTimeline, Error> {
        self.inner.serve_pattern(requests, pattern, sink)
    }
}
