//! A `VarBuilder` backend that builds nothing real: it records the name and shape of every
//! tensor a candle model asks for while it is constructed, so bench can write a checkpoint
//! whose names and shapes are exactly what the model code loads. It hands out a zero scalar
//! broadcast to each shape, so tracing even FLUX.1-dev's 12 B parameters allocates nothing.

use std::sync::{Mutex, PoisonError};

use candle_core::{DType, Device, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;

use crate::synth::{Init, TensorSpec};

/// Records every tensor requested; hands out (broadcast) zeros of the right shape.
#[derive(Default)]
pub struct Tracer {
    seen: Mutex<Vec<TensorSpec>>,
}

impl Tracer {
    /// The tensors asked for, sorted by name, each once.
    pub fn specs(&self) -> Vec<TensorSpec> {
        let mut specs = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        specs.sort_by(|a, b| a.name.cmp(&b.name));
        specs.dedup_by(|a, b| a.name == b.name);
        specs
    }
}

/// How a tensor of this name is filled: norm scales with ones, biases with zeros, every other
/// weight with small normal values.
pub fn init_for(name: &str, rank: usize) -> Init {
    let leaf = name.rsplit('.').next().unwrap_or(name);
    if leaf == "scale" || (rank == 1 && leaf == "weight" && name.contains("norm")) {
        Init::Ones
    } else if leaf == "bias" {
        Init::Zeros
    } else {
        Init::Normal
    }
}

impl SimpleBackend for Tracer {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _hints: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> Result<Tensor> {
        let shape = s.dims().to_vec();
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(TensorSpec {
                name: name.to_string(),
                init: init_for(name, shape.len()),
                shape,
            });
        Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        candle_core::bail!("the tracer cannot give `{name}` without its shape")
    }

    fn contains_tensor(&self, _name: &str) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn norms_are_ones_biases_zeros_and_the_rest_normal() {
        assert_eq!(
            init_for("double_blocks.0.img_attn.norm.query_norm.scale", 1),
            Init::Ones
        );
        assert_eq!(init_for("decoder.up.0.block.0.norm1.weight", 1), Init::Ones);
        assert_eq!(init_for("encoder.final_layer_norm.weight", 1), Init::Ones);
        assert_eq!(init_for("decoder.up.0.block.0.norm1.bias", 1), Init::Zeros);
        assert_eq!(init_for("img_in.weight", 2), Init::Normal);
        assert_eq!(init_for("decoder.conv_in.weight", 4), Init::Normal);
    }
}
