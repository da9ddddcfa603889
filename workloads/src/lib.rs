//! What bench runs: the [`engine`] contract and measurement types, the in-process candle
//! LLM engine ([`llm`]), model folders ([`model`]), the model synthesizer ([`synth`]) that
//! writes real HF-layout folders with seeded random weights, the resolution of a model
//! reference with every synthesized preset, LLM and FLUX ([`catalog`], above the engines), and
//! the serving engines ([`serving`]) that measure models behind an HTTP API, under the load
//! patterns of [`load`], with prompts a workload brings ([`prompts`]). [`cancel`] and [`children`] let an interrupted run stop promptly
//! and leave no process behind.

pub mod calibrate;
pub mod cancel;
pub mod catalog;
pub mod children;
pub mod conversation;
pub mod cost;
pub mod cpu_time;
pub mod diffusion;
pub mod engine;
mod error;
pub mod gguf;
pub mod kernels;
pub mod llm;
pub mod load;
pub mod model;
pub mod own_benchmark;
pub mod prompts;
pub mod rng;
pub mod serving;
pub mod synth;

pub use error::Error;
