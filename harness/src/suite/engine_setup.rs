//! A target's engine as the runner opens it: the options of `bench-workloads`, their
//! defaults filled in, built from the target's own variant of [`EngineKeys`]
//! ([`Target::engine_setup`]), so that whoever opens the engine reads no suite keys.

use std::time::Duration;

use bench_workloads::diffusion::mflux::MfluxOptions;
use bench_workloads::llm::DeviceChoice;
use bench_workloads::serving::exo::{ExoEndpoint, ExoOptions, DEFAULT_SETTLE};
use bench_workloads::serving::mlx_lm::MlxLmOptions;
use bench_workloads::serving::openai::{Api, OpenAiOptions};
use bench_workloads::synth::WeightDType;

use super::target::{
    ApiKind, CandleKeys, DType, DeviceKind, EngineKeys, EngineKind, ExoEndpointKind, ExoKeys,
    MfluxKeys, MlxLmKeys, OpenaiKeys, ShardingKind, Target, TransportKind,
};
use super::values::{At, Positive};

/// How long `mlx_lm.server` (or an exo instance) may take to load a model and listen, unless
/// the target says (`startup_timeout_s`).
const DEFAULT_STARTUP: Duration = Duration::from_secs(600);
/// exo's API on this machine, its default port.
const EXO_DEFAULT_URL: &str = "http://127.0.0.1:52415";
/// `mflux-generate` on `PATH`, unless the target names another (`command`).
const MFLUX_DEFAULT_COMMAND: &str = "mflux-generate";
/// The Python bench starts `mlx_lm.server` with, unless the target names another (`python`).
const MLX_LM_DEFAULT_PYTHON: &str = "python3";

/// Everything needed to open a target's engine.
#[derive(Debug, Clone)]
pub struct EngineSetup {
    /// The model as the suite names it (`synth:<preset>`, a folder, a hub id).
    pub model: String,
    /// The dtype its weights are resolved (and synthesized) in.
    pub dtype: WeightDType,
    /// Seed of synthesized weights.
    pub seed: u64,
    /// The engine and its own keys.
    pub engine: EngineOptions,
}

/// An engine and the keys it reads.
#[derive(Debug, Clone)]
pub enum EngineOptions {
    /// bench's in-process candle engine (text, or FLUX images).
    Candle {
        /// Where it computes.
        device: DeviceChoice,
    },
    /// `mlx_lm.server`, started by bench.
    MlxLm {
        /// How it is started and reached.
        options: MlxLmOptions,
        /// The device of this machine the server computes on (`server_device`).
        server_device: Option<DeviceKind>,
    },
    /// An OpenAI-compatible server already running (`openai`, or `mlx-lm` with a `url`).
    Server {
        /// How it is reached; `api_key` is left empty, read from `api_key_env` when opened.
        options: OpenAiOptions,
        /// The environment variable holding the API key.
        api_key_env: Option<String>,
        /// The device of this machine the server computes on (`server_device`).
        server_device: Option<DeviceKind>,
        /// The GGUF the server serves (`gguf`).
        gguf: Option<String>,
    },
    /// An exo cluster.
    Exo {
        /// How the cluster is reached and the model placed (`nodes` is 1: each group of cases
        /// sets its own).
        options: ExoOptions,
        /// Whether requests go to exo's `/bench` endpoints (images then come with exo's own
        /// timings).
        bench_endpoint: bool,
    },
    /// FLUX on MLX through `mflux-generate`.
    Mflux(MfluxOptions),
    /// An engine this version of bench cannot run.
    Unavailable(EngineKind),
}

impl EngineSetup {
    /// The device of this machine a server computes on, where the target names one.
    pub fn server_device(&self) -> Option<DeviceKind> {
        match &self.engine {
            EngineOptions::MlxLm { server_device, .. }
            | EngineOptions::Server { server_device, .. } => *server_device,
            _ => None,
        }
    }

    /// The GGUF a server serves, where the target names one.
    pub fn gguf(&self) -> Option<&str> {
        match &self.engine {
            EngineOptions::Server { gguf, .. } => gguf.as_deref(),
            _ => None,
        }
    }

    /// Whether mlx-lm's own benchmark runs on the target's single-request cases.
    pub fn runs_own_benchmark(&self) -> bool {
        matches!(&self.engine, EngineOptions::MlxLm { options, .. } if options.benchmark)
    }
}

/// The in-process engine's device.
fn device_choice(device: DeviceKind) -> DeviceChoice {
    match device {
        DeviceKind::Cpu => DeviceChoice::Cpu,
        DeviceKind::Metal => DeviceChoice::Metal,
        DeviceKind::Cuda => DeviceChoice::Cuda,
    }
}

impl Target {
    /// The target's engine and its keys, read once (see [`EngineSetup`]).
    pub fn engine_setup(&self) -> EngineSetup {
        let dtype = match self.effective_dtype() {
            DType::F32 => WeightDType::F32,
            DType::F16 => WeightDType::F16,
            DType::Bf16 => WeightDType::BF16,
        };
        let model = &self.model.value;
        let engine = match &self.engine.value {
            EngineKeys::Candle(keys) => keys.options(),
            EngineKeys::MlxLm(keys) => keys.options(model),
            EngineKeys::Exo(keys) => keys.options(model),
            EngineKeys::Openai(keys) => keys.options(model),
            EngineKeys::Mflux(keys) => keys.options(model),
            EngineKeys::Command(_) => EngineOptions::Unavailable(EngineKind::Command),
        };
        EngineSetup {
            model: model.clone(),
            dtype,
            seed: self.seed,
            engine,
        }
    }
}

impl CandleKeys {
    fn options(&self) -> EngineOptions {
        EngineOptions::Candle {
            device: device_choice(self.device.value),
        }
    }
}

impl MlxLmKeys {
    fn options(&self, model: &str) -> EngineOptions {
        let server_device = self.server_device.as_ref().map(|d| d.value);
        match &self.url {
            None => EngineOptions::MlxLm {
                options: MlxLmOptions {
                    api: api(self.api),
                    python: self
                        .python
                        .clone()
                        .unwrap_or_else(|| MLX_LM_DEFAULT_PYTHON.into()),
                    startup_timeout: startup_timeout(self.startup_timeout_s.as_ref()),
                    timeout: timeout(self.timeout_s),
                    benchmark: self.mlx_lm_benchmark.as_ref().is_some_and(|f| f.value),
                },
                server_device,
            },
            // A server already running at `url` is measured like any OpenAI-compatible one.
            Some(url) => EngineOptions::Server {
                options: OpenAiOptions {
                    api: api(self.api),
                    url: url.value.clone(),
                    served_model: served_model(self.served_model.as_ref(), model),
                    api_key: None,
                    timeout: timeout(self.timeout_s),
                },
                api_key_env: self.api_key_env.as_ref().map(|v| v.value.clone()),
                server_device,
                gguf: None,
            },
        }
    }
}

impl OpenaiKeys {
    fn options(&self, model: &str) -> EngineOptions {
        EngineOptions::Server {
            options: OpenAiOptions {
                api: api(self.api),
                url: self
                    .url
                    .as_ref()
                    .map(|u| u.value.clone())
                    .unwrap_or_default(),
                served_model: served_model(self.served_model.as_ref(), model),
                api_key: None,
                timeout: timeout(self.timeout_s),
            },
            api_key_env: self.api_key_env.as_ref().map(|v| v.value.clone()),
            server_device: self.server_device.as_ref().map(|d| d.value),
            gguf: self.gguf.as_ref().map(|g| g.value.clone()),
        }
    }
}

impl ExoKeys {
    /// How the cluster is reached and the model placed, on one node (each group of cases
    /// sets its own count).
    fn options(&self, model: &str) -> EngineOptions {
        let endpoint = self.exo_endpoint.as_ref().map(|e| e.value);
        let options = ExoOptions {
            url: self
                .url
                .as_ref()
                .map_or_else(|| EXO_DEFAULT_URL.to_string(), |u| u.value.clone()),
            model_id: served_model(self.served_model.as_ref(), model),
            nodes: 1,
            sharding: self.sharding.as_ref().map(|s| {
                match s.value {
                    ShardingKind::Pipeline => "Pipeline",
                    ShardingKind::Tensor => "Tensor",
                }
                .to_string()
            }),
            instance_meta: self.transport.as_ref().map(|t| {
                match t.value {
                    TransportKind::Ring => "MlxRing",
                    TransportKind::Jaccl => "MlxJaccl",
                }
                .to_string()
            }),
            endpoint: match endpoint {
                None | Some(ExoEndpointKind::Chat) => ExoEndpoint::Chat,
                Some(ExoEndpointKind::BenchStream) => ExoEndpoint::BenchStream,
                Some(ExoEndpointKind::Bench) => ExoEndpoint::Bench,
            },
            startup_timeout: startup_timeout(self.startup_timeout_s.as_ref()),
            settle: self
                .settle_s
                .as_ref()
                .map_or(DEFAULT_SETTLE, |s| Duration::from_secs_f64(s.value.0)),
            timeout: timeout(self.timeout_s),
        };
        EngineOptions::Exo {
            options,
            bench_endpoint: matches!(
                endpoint,
                Some(ExoEndpointKind::Bench | ExoEndpointKind::BenchStream)
            ),
        }
    }
}

impl MfluxKeys {
    fn options(&self, model: &str) -> EngineOptions {
        EngineOptions::Mflux(MfluxOptions {
            command: self
                .command
                .clone()
                .unwrap_or_else(|| MFLUX_DEFAULT_COMMAND.into()),
            model: model.to_string(),
            base_model: self.base_model.clone(),
            quantize: self.quantize.as_ref().map(|q| q.value),
        })
    }
}

/// The endpoint a server target uses.
fn api(kind: ApiKind) -> Api {
    match kind {
        ApiKind::Chat => Api::Chat,
        ApiKind::Completions => Api::Completions,
    }
}

/// The model name sent in requests: `served_model`, else `model` as given.
fn served_model(served_model: Option<&String>, model: &str) -> String {
    served_model.map_or_else(|| model.to_string(), String::clone)
}

/// The wait for each response and each piece of a stream (`timeout_s`).
fn timeout(seconds: Positive) -> Duration {
    Duration::from_secs(u64::from(seconds.0))
}

/// The longest wait for a model to load (`startup_timeout_s`), else 600 s.
fn startup_timeout(seconds: Option<&At<Positive>>) -> Duration {
    seconds.map_or(DEFAULT_STARTUP, |t| {
        Duration::from_secs(u64::from(t.value.0))
    })
}
