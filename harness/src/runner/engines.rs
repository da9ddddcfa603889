//! Building the engine a target names.

use std::path::Path;

use bench_workloads::engine::LlmEngine;
use bench_workloads::llm::{CandleLlm, DeviceChoice, LoadOptions};
use bench_workloads::model;
use bench_workloads::synth::WeightDType;

use crate::suite::{DType, DeviceKind, EngineKind, Target};

/// Resolve the target's model (synthesizing it on first use) and load it.
pub fn open(
    target: &Target,
    synth_cache: &Path,
) -> Result<Box<dyn LlmEngine>, bench_workloads::Error> {
    match target.engine.value {
        EngineKind::Candle => {
            let dtype = match target.effective_dtype() {
                DType::F32 => WeightDType::F32,
                DType::F16 => WeightDType::F16,
                DType::Bf16 => WeightDType::BF16,
            };
            let resolved = model::resolve(&target.model, dtype, target.seed, synth_cache)?;
            let device = match target.device.value {
                DeviceKind::Cpu => DeviceChoice::Cpu,
                DeviceKind::Metal => DeviceChoice::Metal,
                DeviceKind::Cuda => DeviceChoice::Cuda,
            };
            let engine = CandleLlm::load(&target.model, &resolved, &LoadOptions { device, dtype })?;
            Ok(Box::new(engine))
        }
        other => Err(bench_workloads::Error::Request(format!(
            "engine `{other}` is not available in this version of bench"
        ))),
    }
}
