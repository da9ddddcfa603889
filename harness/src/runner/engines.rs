//! Opening the engine a target names, from its [`EngineSetup`] (its keys read once).

use std::path::Path;

use bench_workloads::diffusion::flux::CandleFlux;
use bench_workloads::diffusion::mflux::MfluxEngine;
use bench_workloads::diffusion::DiffusionEngine;
use bench_workloads::engine::LlmEngine;
use bench_workloads::llm::{CandleLlm, DeviceChoice, LoadOptions};
use bench_workloads::model;
use bench_workloads::serving::exo::images::ExoImages;
use bench_workloads::serving::exo::{ExoEngine, ExoOptions};
use bench_workloads::serving::mlx_lm::MlxLmEngine;
use bench_workloads::serving::openai::OpenAiEngine;

use crate::suite::{EngineOptions, EngineSetup, Target};

/// The target's model folder (synthesized on first use, in the target's dtype).
fn resolve(
    setup: &EngineSetup,
    synth_cache: &Path,
) -> Result<model::ResolvedModel, bench_workloads::Error> {
    bench_workloads::catalog::resolve(&setup.model, setup.dtype, setup.seed, synth_cache)
}

/// The exo options of a group of cases on `nodes` (default 1).
fn on_nodes(options: &ExoOptions, nodes: Option<u32>) -> ExoOptions {
    ExoOptions {
        nodes: nodes.unwrap_or(1) as usize,
        ..options.clone()
    }
}

/// Loading candle's FLUX or LLM on `device`, in the setup's dtype.
fn load_options(setup: &EngineSetup, device: DeviceChoice) -> LoadOptions {
    LoadOptions {
        device,
        dtype: setup.dtype,
    }
}

/// The engine cannot run this kind of work in this version of bench.
fn unavailable(engine: &str) -> bench_workloads::Error {
    bench_workloads::Error::NotAvailable(format!(
        "engine `{engine}` is not available in this version of bench"
    ))
}

/// The image engine of `setup`: candle's FLUX (its model resolved, synthesized on first use),
/// mflux, or an exo cluster (on `nodes`).
pub fn open_images(
    setup: &EngineSetup,
    nodes: Option<u32>,
    synth_cache: &Path,
) -> Result<Box<dyn DiffusionEngine>, bench_workloads::Error> {
    match &setup.engine {
        EngineOptions::Mflux(options) => {
            // mflux writes each image here; bench reads it back and removes it.
            let out = std::env::temp_dir().join(format!("bench-mflux-{}", std::process::id()));
            Ok(Box::new(MfluxEngine::open(
                &setup.model,
                options.clone(),
                &out,
            )?))
        }
        EngineOptions::Exo {
            options,
            bench_endpoint,
        } => Ok(Box::new(ExoImages::open(
            &setup.model,
            &on_nodes(options, nodes),
            *bench_endpoint,
        )?)),
        EngineOptions::Candle { device } => {
            let resolved = resolve(setup, synth_cache)?;
            Ok(Box::new(CandleFlux::load(
                &setup.model,
                &resolved,
                &load_options(setup, *device),
            )?))
        }
        // The suite's checks keep diffusion workloads off these engines.
        EngineOptions::MlxLm { .. } => Err(unavailable("mlx-lm")),
        EngineOptions::Server { .. } => Err(unavailable("openai")),
        EngineOptions::Unavailable(kind) => Err(unavailable(kind.as_str())),
    }
}

/// Open once every GPU the suite's in-process targets compute on, so that a missing driver or
/// device stops the run before anything is measured rather than failing target after target.
/// Returns, for the first target that cannot have its device, "target `name`: why".
pub fn check_devices(targets: &[Target]) -> Result<(), String> {
    let mut checked = Vec::new();
    for target in targets {
        let EngineOptions::Candle { device } = target.engine_setup().engine else {
            continue;
        };
        if device == DeviceChoice::Cpu || checked.contains(&device) {
            continue;
        }
        bench_workloads::llm::open_device(device)
            .map_err(|e| format!("target `{}`: {e}", target.name.value))?;
        checked.push(device);
    }
    Ok(())
}

/// Resolve the setup's model (synthesizing it on first use) and load it; `nodes` is the
/// cluster size of the cases to run (exo).
pub fn open(
    setup: &EngineSetup,
    nodes: Option<u32>,
    synth_cache: &Path,
) -> Result<Box<dyn LlmEngine>, bench_workloads::Error> {
    match &setup.engine {
        EngineOptions::Candle { device } => {
            let resolved = resolve(setup, synth_cache)?;
            let engine = CandleLlm::load(&setup.model, &resolved, &load_options(setup, *device))?;
            Ok(Box::new(engine))
        }
        EngineOptions::MlxLm { options, .. } => {
            let resolved = resolve(setup, synth_cache)?;
            Ok(Box::new(MlxLmEngine::start(
                &setup.model,
                &resolved,
                options,
            )?))
        }
        EngineOptions::Server {
            options,
            api_key_env,
            ..
        } => {
            let resolved = resolve(setup, synth_cache)?;
            let api_key = match api_key_env {
                Some(var) => Some(std::env::var(var).map_err(|_| {
                    bench_workloads::Error::Config(format!(
                        "the API key variable `{var}` is not set"
                    ))
                })?),
                None => None,
            };
            let options = bench_workloads::serving::openai::OpenAiOptions {
                api_key,
                ..options.clone()
            };
            Ok(Box::new(OpenAiEngine::open(
                &setup.model,
                &resolved,
                options,
            )?))
        }
        EngineOptions::Exo { options, .. } => {
            let resolved = resolve(setup, synth_cache)?;
            Ok(Box::new(ExoEngine::open(
                &setup.model,
                &resolved,
                on_nodes(options, nodes),
            )?))
        }
        EngineOptions::Mflux(_) => Err(unavailable("mflux")),
        EngineOptions::Unavailable(kind) => Err(unavailable(kind.as_str())),
    }
}
