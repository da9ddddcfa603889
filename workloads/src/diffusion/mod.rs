//! Image generation: FLUX in-process on candle ([`flux`]), from a folder laid out as
//! black-forest-labs publishes it ([`folder`]) or synthesized with the same shapes
//! ([`synth`]).

pub mod folder;
pub mod synth;
mod tracer;
