//! What a model costs, counted from its shapes: parameters (total and active per token, MoE
//! aware), FLOPs of a prefill, bytes read per decoded token, and FLUX's FLOPs per step.
//!
//! These are the denominators that turn measured times into rates a reader can hold against
//! the device's peak (see `bench calibrate`): a prefill that takes `t` seconds ran at
//! `prefill_flops / t`, a decode step at `decode_bytes / t`.
//!
//! Conventions, used everywhere in this module:
//! - A parameter is one stored weight. A tied LM head shares the embedding table, so
//!   tied embeddings count once ([`LlmShape::parameters`]).
//! - Active parameters are those one token touches: every shared weight, the router, and
//!   `num_experts_per_tok` of the experts. The embedding table counts whole (as model cards
//!   count "activated" parameters), although a token reads one row of it.
//! - A multiply-add is 2 FLOPs. Norms, activations, softmax, rotary embeddings and the
//!   embedding lookup are not counted: they are O(hidden) per token against O(hidden²).
//! - The LM head counts for every token: 2 × hidden × vocab FLOPs each (see [`PrefillFlops`]
//!   for the engines that compute logits for the last prompt position only).

mod flux;
mod gguf;
mod shape;
mod work;

pub use flux::{flux_image_tokens, flux_step_flops};
pub use gguf::{gguf_weights, GgufWeights, TypeShare};
pub use shape::{Experts, LlmShape};
pub use work::{
    decode_bytes, kv_cache_bytes_per_token, DecodeBytes, Masking, PrefillFlops, WeightFormat,
};

#[cfg(test)]
mod tests;
