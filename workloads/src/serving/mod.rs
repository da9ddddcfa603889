//! Engines that measure a model served over HTTP: the OpenAI-compatible streaming protocol
//! ([`sse`] for the event stream).

pub mod chunk;
pub mod count;
pub mod exo;
pub mod mlx_benchmark;
pub mod mlx_lm;
pub mod openai;
pub mod pattern_driver;
pub mod sse;
pub mod stream;
pub mod tokenize;
