//! `[[target]]`: the keys every target has (name, engine, model, ...) and, in one variant of
//! [`EngineKeys`] per engine, the keys only that engine reads. A key for one engine is added
//! to that engine's struct alone: the check that refuses it on other engines, the error that
//! says which engine takes it, the schema and the manifest follow from the struct's fields.
//!
//! Users write a target flat (`engine = "exo"` beside `nodes = 2`), and that is how it is
//! serialized and described in the JSON Schema. serde reads it once
//! [`super::target_keys`] has gathered the engine's keys under `engine`, so that every key
//! keeps its place in the file (see there why serde's own tagged enums cannot).

use std::fmt;

use schemars::JsonSchema;
use serde::de::{Deserializer, EnumAccess, VariantAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::values::{At, Grid, Name, Positive, Seconds};

/// `[[target]]`: one engine serving one model.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Target {
    /// Unique among the suite's targets; appears in case ids.
    pub name: At<Name>,
    /// The engine that runs the model (`engine = "candle"`), with the keys only it reads.
    /// The span is the engine's name in the file.
    #[serde(flatten)]
    pub engine: At<EngineKeys>,
    /// `synth:<preset>` (synthesized once, cached), a local HF-layout folder, or a hub id
    /// (`Org/Name`) found in the local Hugging Face cache.
    pub model: At<String>,
    /// The dtype of synthesized weights, and the candle engine's compute dtype. Default: f32,
    /// or bf16 for the candle engine on a GPU.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<DType>,
    /// Seed of synthesized weights (`synth:` models only).
    #[serde(default)]
    pub seed: u64,
    /// What the target's model makes: `text` or `images`. Inferred when absent: images for
    /// `mflux`, FLUX presets, and folders or cached hub snapshots with a `model_index.json`;
    /// text otherwise (so an exo target serving an image model says `task = "images"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<At<TaskKind>>,
}

/// How serde reads a `[[target]]` once [`super::target_keys`] has gathered its engine's keys
/// under `engine` (`engine = { exo = { nodes = 2 } }`, toml's own form of an enum, read
/// straight from the parse tree with every span). [`Target`]'s derives describe the flat
/// form users write; the fields here are its fields, and the keys every engine shares.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename = "Target")]
pub(super) struct TargetTable {
    name: At<Name>,
    engine: At<EngineKeys>,
    model: At<String>,
    #[serde(default)]
    dtype: Option<DType>,
    #[serde(default)]
    seed: u64,
    #[serde(default)]
    task: Option<At<TaskKind>>,
}

/// Reads a target whose engine keys [`super::parse`] has gathered under `engine`; a flat
/// table read straight with `toml::from_str` is refused at its engine (`expected newtype
/// variant`), since serde alone cannot pick the variant without losing spans.
impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let TargetTable {
            name,
            engine,
            model,
            dtype,
            seed,
            task,
        } = TargetTable::deserialize(deserializer)?;
        Ok(Target {
            name,
            engine,
            model,
            dtype,
            seed,
            task,
        })
    }
}

/// A target's engine and the keys only it reads.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "engine", rename_all = "kebab-case")]
pub enum EngineKeys {
    /// bench's in-process candle engine (no Python).
    Candle(CandleKeys),
    /// `mlx_lm.server`, started and stopped by bench.
    MlxLm(MlxLmKeys),
    /// An exo cluster through its API.
    Exo(ExoKeys),
    /// Any OpenAI-compatible streaming server.
    Openai(OpenaiKeys),
    /// FLUX on MLX through `mflux-generate`.
    Mflux(MfluxKeys),
    /// Any command, its metrics parsed from its output.
    Command(CommandKeys),
}

impl EngineKeys {
    /// The engine.
    pub fn kind(&self) -> EngineKind {
        match self {
            EngineKeys::Candle(_) => EngineKind::Candle,
            EngineKeys::MlxLm(_) => EngineKind::MlxLm,
            EngineKeys::Exo(_) => EngineKind::Exo,
            EngineKeys::Openai(_) => EngineKind::Openai,
            EngineKeys::Mflux(_) => EngineKind::Mflux,
            EngineKeys::Command(_) => EngineKind::Command,
        }
    }
}

/// The engine names, for serde's messages.
const ENGINE_NAMES: &[&str] = &["candle", "mlx-lm", "exo", "openai", "mflux", "command"];

/// toml's enum form (`{ exo = { nodes = 2 } }`): the engine's name picks the variant, and its
/// keys are read into that engine's struct by the same deserializer, spans and all.
impl<'de> Deserialize<'de> for EngineKeys {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysVisitor;

        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = EngineKeys;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an engine name")
            }

            fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<EngineKeys, A::Error> {
                // An unknown name fails here with serde's "unknown variant" and the engines.
                let (kind, keys) = data.variant::<EngineKind>()?;
                Ok(match kind {
                    EngineKind::Candle => EngineKeys::Candle(keys.newtype_variant()?),
                    EngineKind::MlxLm => EngineKeys::MlxLm(keys.newtype_variant()?),
                    EngineKind::Exo => EngineKeys::Exo(keys.newtype_variant()?),
                    EngineKind::Openai => EngineKeys::Openai(keys.newtype_variant()?),
                    EngineKind::Mflux => EngineKeys::Mflux(keys.newtype_variant()?),
                    EngineKind::Command => EngineKeys::Command(keys.newtype_variant()?),
                })
            }
        }

        deserializer.deserialize_enum("EngineKind", ENGINE_NAMES, KeysVisitor)
    }
}

/// `engine = "candle"`: bench's in-process engine.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct CandleKeys {
    /// Where the engine computes: `cpu`, `metal` (a build with `--features metal`) or `cuda`
    /// (`--features cuda`).
    #[serde(default)]
    pub device: At<DeviceKind>,
}

/// `engine = "mlx-lm"`: `mlx_lm.server`, started by bench for the target's model, or one
/// already running at `url`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct MlxLmKeys {
    /// A server already running (`http://127.0.0.1:8080`), measured like any
    /// OpenAI-compatible one; without it bench starts `mlx_lm.server` itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<At<String>>,
    /// The Python that has mlx-lm (default `python3`); bench runs
    /// `<python> -m mlx_lm.server` for the target's model unless `url` names a running server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// `chat` (`/v1/chat/completions`, the server's chat template adds tokens) or
    /// `completions` (`/v1/completions`, the prompt exactly as bench built it).
    #[serde(default)]
    pub api: ApiKind,
    /// Seconds to wait for the response and for each piece of the stream.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: Positive,
    /// Started by bench: the longest wait for the server to answer, in seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_timeout_s: Option<At<Positive>>,
    /// Started by bench: also run `mlx_lm.benchmark` on each single-request case, with as many
    /// trials as repetitions, and keep its figures beside bench's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlx_lm_benchmark: Option<At<bool>>,
    /// With `url`: the model name sent in requests (default: `model` as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_model: Option<String>,
    /// With `url`: the environment variable holding the API key (the key itself is never
    /// written to results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<At<String>>,
    /// The device of this machine the server computes on (`cpu`, `metal`, `cuda`). Its
    /// roofline figures are held against that device's ceiling; without it a server has none
    /// (bench cannot tell where a server computes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_device: Option<At<DeviceKind>>,
}

/// `engine = "openai"`: any OpenAI-compatible streaming server, already running.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct OpenaiKeys {
    /// The server's address (`http://127.0.0.1:8080`); required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<At<String>>,
    /// The model name sent in requests (default: `model` as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_model: Option<String>,
    /// The environment variable holding the API key (the key itself is never written to
    /// results).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<At<String>>,
    /// `chat` (`/v1/chat/completions`, the server's chat template adds tokens) or
    /// `completions` (`/v1/completions`, the prompt exactly as bench built it).
    #[serde(default)]
    pub api: ApiKind,
    /// Seconds to wait for the response and for each piece of the stream.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: Positive,
    /// The device of this machine the server computes on (`cpu`, `metal`, `cuda`), for a
    /// server running here (`url` on loopback). Its roofline figures are held against that
    /// device's ceiling; without it a server has none (bench cannot tell where a server
    /// computes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_device: Option<At<DeviceKind>>,
    /// The GGUF the server serves (a `.gguf` file, or a folder holding one model), read for
    /// the bytes each tensor occupies at its own quantization: its roofline figures then count
    /// what a decoded token really reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gguf: Option<At<String>>,
}

/// `engine = "exo"`: an exo cluster through its API.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct ExoKeys {
    /// exo's API (default `http://127.0.0.1:52415`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<At<String>>,
    /// The model id exo knows the model by (default: `model` as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served_model: Option<String>,
    /// Seconds to wait for the response and for each piece of the stream.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: Positive,
    /// Nodes the model's instance runs on (default 1); a list sweeps the node count
    /// (`nodes = [1, 2, 4]`), each with its own instance. bench uses an instance of the model
    /// already running on that many nodes, or places one and removes it when done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<At<Grid>>,
    /// How the model is split over the nodes: `pipeline` (layers) or `tensor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharding: Option<At<ShardingKind>>,
    /// How the nodes talk: `ring` (TCP) or `jaccl` (RDMA over Thunderbolt 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<At<TransportKind>>,
    /// `chat` (`/v1/chat/completions`), `bench-stream` (`/bench/chat/completions` streamed:
    /// exact output lengths, exo's `generation_stats` kept) or `bench` (the same, whole: exo's
    /// `generation_stats` and per-node `power_usage` kept; no ttft).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exo_endpoint: Option<At<ExoEndpointKind>>,
    /// Seconds to wait after removing an instance bench placed, before the next target places
    /// its own (default 2): exo's runners keep exiting a moment after the instance has left
    /// its state, and on a busy machine a placement made meanwhile may never load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settle_s: Option<At<Seconds>>,
    /// The longest wait for the model to load on every runner, in seconds (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_timeout_s: Option<At<Positive>>,
}

/// `engine = "mflux"`: FLUX on MLX through `mflux-generate`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct MfluxKeys {
    /// The `mflux-generate` executable (default `mflux-generate` on `PATH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `--base-model` (`dev`, `schnell`), for local folders and third-party ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_model: Option<String>,
    /// `--quantize` bits: 3, 4, 5, 6 or 8 (default: the weights as stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantize: Option<At<u8>>,
}

/// `engine = "command"`: not available in this version, so it has no keys of its own yet.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct CommandKeys {}

fn default_timeout_s() -> Positive {
    Positive(120)
}

impl Target {
    /// The engine.
    pub fn engine_kind(&self) -> EngineKind {
        self.engine.value.kind()
    }

    /// The dtype the engine computes in (and synthesized weights are stored in): the one
    /// given, else the candle engine's device's natural one, else f32.
    pub fn effective_dtype(&self) -> DType {
        let device = match &self.engine.value {
            EngineKeys::Candle(candle) => candle.device.value,
            _ => DeviceKind::Cpu,
        };
        self.dtype.unwrap_or(match device {
            DeviceKind::Cpu => DType::F32,
            DeviceKind::Metal | DeviceKind::Cuda => DType::Bf16,
        })
    }

    /// The node counts an exo target sweeps (`nodes`), if it names any.
    pub fn nodes(&self) -> Option<&At<Grid>> {
        match &self.engine.value {
            EngineKeys::Exo(exo) => exo.nodes.as_ref(),
            _ => None,
        }
    }

    /// Whether the target's model makes images (a FLUX preset or folder) rather than text.
    pub fn makes_images(&self) -> bool {
        if let Some(task) = &self.task {
            return task.value == TaskKind::Images;
        }
        if self.engine_kind() == EngineKind::Mflux {
            return true;
        }
        match self.model.strip_prefix("synth:") {
            Some(preset) => bench_workloads::diffusion::synth::flux_preset(preset).is_some(),
            None => {
                // A folder, or a hub id whose cached snapshot is a diffusers pipeline.
                let folder = std::path::Path::new(&self.model.value);
                let snapshots = bench_workloads::model::hf_hub_cache()
                    .join(format!("models--{}", self.model.replace('/', "--")))
                    .join("snapshots");
                folder.join("model_index.json").is_file()
                    || std::fs::read_dir(snapshots).is_ok_and(|entries| {
                        entries
                            .flatten()
                            .any(|e| e.path().join("model_index.json").is_file())
                    })
            }
        }
    }
}

/// What a target's model makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TaskKind {
    /// Text: llm workloads.
    Text,
    /// Images: diffusion workloads.
    Images,
}

/// How exo splits a model over nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ShardingKind {
    /// Consecutive layers per node.
    Pipeline,
    /// Every layer split over the nodes.
    Tensor,
}

/// How exo's nodes talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// MLX ring over TCP.
    Ring,
    /// MLX JACCL: RDMA over Thunderbolt 5.
    Jaccl,
}

/// Which exo endpoint requests go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExoEndpointKind {
    /// `/v1/chat/completions`, streamed.
    Chat,
    /// `/bench/chat/completions`, streamed.
    BenchStream,
    /// `/bench/chat/completions`, whole.
    Bench,
}

/// The OpenAI endpoint a server target uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApiKind {
    /// `/v1/chat/completions`.
    #[default]
    Chat,
    /// `/v1/completions`.
    Completions,
}

/// An engine that runs models: the name a target's `engine` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// bench's in-process candle engine (no Python).
    Candle,
    /// `mlx_lm.server`, started and stopped by bench.
    MlxLm,
    /// An exo cluster through its API.
    Exo,
    /// Any OpenAI-compatible streaming server.
    Openai,
    /// FLUX on MLX through `mflux-generate`.
    Mflux,
    /// Any command, its metrics parsed from its output.
    Command,
}

impl EngineKind {
    /// Every engine the format knows, in documentation order.
    pub const ALL: [EngineKind; 6] = [
        EngineKind::Candle,
        EngineKind::MlxLm,
        EngineKind::Exo,
        EngineKind::Openai,
        EngineKind::Mflux,
        EngineKind::Command,
    ];

    /// Whether this build can run it.
    pub fn is_available(self) -> bool {
        matches!(
            self,
            EngineKind::Candle
                | EngineKind::Openai
                | EngineKind::MlxLm
                | EngineKind::Exo
                | EngineKind::Mflux
        )
    }

    /// The engine a suite file names (`"mlx-lm"`), if any.
    pub fn from_name(name: &str) -> Option<EngineKind> {
        EngineKind::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The name used in suite files.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Candle => "candle",
            EngineKind::MlxLm => "mlx-lm",
            EngineKind::Exo => "exo",
            EngineKind::Openai => "openai",
            EngineKind::Mflux => "mflux",
            EngineKind::Command => "command",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compute device of this machine: the candle engine's `device`, a server's `server_device`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    /// The CPU (always available).
    #[default]
    Cpu,
    /// Apple GPU through Metal (build with `--features metal`).
    Metal,
    /// NVIDIA GPU through CUDA (build with `--features cuda`).
    Cuda,
}

/// A tensor dtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    /// 32-bit float.
    F32,
    /// 16-bit float.
    F16,
    /// bfloat16.
    Bf16,
}
