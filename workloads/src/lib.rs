//! What bench runs: the [`engine`] contract and measurement types, the in-process candle
//! LLM engine ([`llm`]), model folder resolution ([`model`]), and the model synthesizer
//! ([`synth`]) that writes real HF-layout folders with seeded random weights.

pub mod engine;
mod error;
pub mod llm;
pub mod model;
pub mod synth;

pub use error::Error;
