//! Building the engine a target names.

use std::path::Path;
use std::time::Duration;

use bench_workloads::diffusion::flux::CandleFlux;
use bench_workloads::diffusion::mflux::{MfluxEngine, MfluxOptions};
use bench_workloads::diffusion::DiffusionEngine;
use bench_workloads::engine::LlmEngine;
use bench_workloads::llm::{CandleLlm, DeviceChoice, LoadOptions};
use bench_workloads::model;
use bench_workloads::serving::exo::images::ExoImages;
use bench_workloads::serving::exo::{ExoEndpoint, ExoEngine, ExoOptions, DEFAULT_SETTLE};
use bench_workloads::serving::mlx_lm::{MlxLmEngine, MlxLmOptions};
use bench_workloads::serving::openai::{Api, OpenAiEngine, OpenAiOptions};

/// How long `mlx_lm.server` (or an exo instance) may take to load a model and listen.
const MLX_LM_STARTUP: Duration = Duration::from_secs(600);
/// exo's API on this machine, its default port.
const EXO_DEFAULT_URL: &str = "http://127.0.0.1:52415";
use bench_workloads::synth::WeightDType;

use crate::suite::{
    ApiKind, DType, DeviceKind, EngineKind, ExoEndpointKind, ShardingKind, Target, TransportKind,
};

/// The endpoint the target names.
fn api(target: &Target) -> Api {
    match target.api {
        ApiKind::Chat => Api::Chat,
        ApiKind::Completions => Api::Completions,
    }
}

/// The target's model folder (synthesized on first use, in the target's dtype) and that dtype.
fn resolve(
    target: &Target,
    synth_cache: &Path,
) -> Result<(model::ResolvedModel, WeightDType), bench_workloads::Error> {
    let dtype = match target.effective_dtype() {
        DType::F32 => WeightDType::F32,
        DType::F16 => WeightDType::F16,
        DType::Bf16 => WeightDType::BF16,
    };
    Ok((
        bench_workloads::catalog::resolve(&target.model, dtype, target.seed, synth_cache)?,
        dtype,
    ))
}

/// How the exo engines reach the cluster and place the model.
/// The target's `startup_timeout_s`, else 600 s.
fn startup_timeout(target: &Target) -> Duration {
    target
        .startup_timeout_s
        .as_ref()
        .map_or(MLX_LM_STARTUP, |t| {
            Duration::from_secs(u64::from(t.value.0))
        })
}

fn exo_options(target: &Target, nodes: Option<u32>) -> ExoOptions {
    ExoOptions {
        url: target
            .url
            .as_ref()
            .map_or_else(|| EXO_DEFAULT_URL.to_string(), |u| u.value.clone()),
        model_id: target
            .served_model
            .clone()
            .unwrap_or_else(|| target.model.value.clone()),
        nodes: nodes.unwrap_or(1) as usize,
        sharding: target.sharding.as_ref().map(|s| {
            match s.value {
                ShardingKind::Pipeline => "Pipeline",
                ShardingKind::Tensor => "Tensor",
            }
            .to_string()
        }),
        instance_meta: target.transport.as_ref().map(|t| {
            match t.value {
                TransportKind::Ring => "MlxRing",
                TransportKind::Jaccl => "MlxJaccl",
            }
            .to_string()
        }),
        endpoint: match target.exo_endpoint.as_ref().map(|e| e.value) {
            None | Some(ExoEndpointKind::Chat) => ExoEndpoint::Chat,
            Some(ExoEndpointKind::BenchStream) => ExoEndpoint::BenchStream,
            Some(ExoEndpointKind::Bench) => ExoEndpoint::Bench,
        },
        startup_timeout: startup_timeout(target),
        settle: target
            .settle_s
            .as_ref()
            .map_or(DEFAULT_SETTLE, |s| Duration::from_secs_f64(s.value.0)),
        timeout: Duration::from_secs(u64::from(target.timeout_s.0)),
    }
}

/// The image engine of `target`: candle's FLUX (its model resolved, synthesized on first use),
/// mflux, or an exo cluster (on `nodes`).
pub fn open_images(
    target: &Target,
    nodes: Option<u32>,
    synth_cache: &Path,
) -> Result<Box<dyn DiffusionEngine>, bench_workloads::Error> {
    if target.engine.value == EngineKind::Mflux {
        let options = MfluxOptions {
            command: target
                .command
                .clone()
                .unwrap_or_else(|| "mflux-generate".into()),
            model: target.model.value.clone(),
            base_model: target.base_model.clone(),
            quantize: target.quantize.as_ref().map(|q| q.value),
        };
        // mflux writes each image here; bench reads it back and removes it.
        let out = std::env::temp_dir().join(format!("bench-mflux-{}", std::process::id()));
        return Ok(Box::new(MfluxEngine::open(&target.model, options, &out)?));
    }
    if target.engine.value == EngineKind::Exo {
        let bench = matches!(
            target.exo_endpoint.as_ref().map(|e| e.value),
            Some(ExoEndpointKind::Bench | ExoEndpointKind::BenchStream)
        );
        let options = exo_options(target, nodes);
        return Ok(Box::new(ExoImages::open(&target.model, &options, bench)?));
    }
    let (resolved, dtype) = resolve(target, synth_cache)?;
    let options = LoadOptions {
        device: device(target),
        dtype,
    };
    Ok(Box::new(CandleFlux::load(
        &target.model,
        &resolved,
        &options,
    )?))
}

/// Open once every GPU the suite's in-process targets compute on, so that a missing driver or
/// device stops the run before anything is measured rather than failing target after target.
/// Returns, for the first target that cannot have its device, "target `name`: why".
pub fn check_devices(targets: &[Target]) -> Result<(), String> {
    let mut checked = Vec::new();
    for target in targets {
        let choice = device(target);
        if target.engine.value != EngineKind::Candle
            || choice == DeviceChoice::Cpu
            || checked.contains(&choice)
        {
            continue;
        }
        bench_workloads::llm::open_device(choice)
            .map_err(|e| format!("target `{}`: {e}", target.name.value))?;
        checked.push(choice);
    }
    Ok(())
}

fn device(target: &Target) -> DeviceChoice {
    match target.device.value {
        DeviceKind::Cpu => DeviceChoice::Cpu,
        DeviceKind::Metal => DeviceChoice::Metal,
        DeviceKind::Cuda => DeviceChoice::Cuda,
    }
}

/// Resolve the target's model (synthesizing it on first use) and load it; `nodes` is the
/// cluster size of the cases to run (exo).
pub fn open(
    target: &Target,
    nodes: Option<u32>,
    synth_cache: &Path,
) -> Result<Box<dyn LlmEngine>, bench_workloads::Error> {
    match target.engine.value {
        EngineKind::Candle => {
            let (resolved, dtype) = resolve(target, synth_cache)?;
            let engine = CandleLlm::load(
                &target.model,
                &resolved,
                &LoadOptions {
                    device: device(target),
                    dtype,
                },
            )?;
            Ok(Box::new(engine))
        }
        EngineKind::MlxLm if target.url.is_none() => {
            let (resolved, _) = resolve(target, synth_cache)?;
            let options = MlxLmOptions {
                api: api(target),
                python: target.python.clone().unwrap_or_else(|| "python3".into()),
                startup_timeout: startup_timeout(target),
                timeout: Duration::from_secs(u64::from(target.timeout_s.0)),
                benchmark: target.mlx_lm_benchmark.as_ref().is_some_and(|f| f.value),
            };
            Ok(Box::new(MlxLmEngine::start(
                &target.model,
                &resolved,
                &options,
            )?))
        }
        // An mlx-lm server already running at `url` is measured like any OpenAI-compatible one.
        EngineKind::Openai | EngineKind::MlxLm => {
            let (resolved, _) = resolve(target, synth_cache)?;
            let api_key = match &target.api_key_env {
                Some(var) => Some(std::env::var(&var.value).map_err(|_| {
                    bench_workloads::Error::Request(format!(
                        "the API key variable `{}` is not set",
                        var.value
                    ))
                })?),
                None => None,
            };
            let options = OpenAiOptions {
                api: api(target),
                url: target
                    .url
                    .as_ref()
                    .map(|u| u.value.clone())
                    .unwrap_or_default(),
                served_model: target
                    .served_model
                    .clone()
                    .unwrap_or_else(|| target.model.value.clone()),
                api_key,
                timeout: Duration::from_secs(u64::from(target.timeout_s.0)),
            };
            Ok(Box::new(OpenAiEngine::open(
                &target.model,
                &resolved,
                options,
            )?))
        }
        EngineKind::Exo => {
            let (resolved, _) = resolve(target, synth_cache)?;
            let options = exo_options(target, nodes);
            Ok(Box::new(ExoEngine::open(
                &target.model,
                &resolved,
                options,
            )?))
        }
        other => Err(bench_workloads::Error::Request(format!(
            "engine `{other}` is not available in this version of bench"
        ))),
    }
}
