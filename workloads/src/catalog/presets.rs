//! The synthesized models by name, LLM and FLUX alike: the one place that knows both kinds,
//! so neither the LLM synthesizer nor the FLUX one reaches into the other.

use crate::synth::{self, Preset, SynthError};

/// Every preset name, LLM and FLUX, comma-separated.
pub fn all_preset_names() -> String {
    let flux: Vec<&str> = crate::diffusion::synth::flux_presets()
        .iter()
        .map(|p| p.name)
        .collect();
    format!("{}, {}", synth::preset_names(), flux.join(", "))
}

/// The LLM preset called `name` (case-insensitive); an unknown name is an error that lists
/// every preset, FLUX ones included.
pub fn llm_preset(name: &str) -> Result<&'static Preset, SynthError> {
    synth::preset(name).ok_or_else(|| SynthError::UnknownPreset {
        name: name.to_string(),
        allowed: all_preset_names(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_preset_lists_both_kinds() {
        assert!(llm_preset("Qwen3-0.6B").is_ok());
        let e = llm_preset("qwen9").unwrap_err().to_string();
        assert!(e.contains("qwen3-0.6b") && e.contains("flux-dev"), "{e}");
    }
}
