//! The models a suite can name: every synthesized preset, LLM and FLUX alike, and the
//! resolution of a model reference (`synth:<preset>`, a local path, a hub id in the local
//! Hugging Face cache) to a folder. It sits above [`crate::model`] (the folder types every
//! engine reads) and the engines' synthesizers ([`crate::synth`], [`crate::diffusion::synth`]),
//! so that no engine reaches up into it.

mod presets;
mod resolve;

pub use presets::{all_preset_names, llm_preset};
pub use resolve::resolve;
