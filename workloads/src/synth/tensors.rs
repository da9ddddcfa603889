//! What a synthesized checkpoint is made of: each tensor's name, shape and how its values are
//! generated. A leaf: the presets list their tensors with it, the writer fills them.

/// Standard deviation of the random (non-norm, non-bias) weights (`initializer_range`).
pub const INIT_STD: f64 = 0.02;

/// How a tensor is filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Init {
    /// Normal(0, [`INIT_STD`]) samples from a generator seeded by (seed, tensor name, chunk).
    Normal,
    /// All ones (RMS-norm weights).
    Ones,
    /// All zeros (biases).
    Zeros,
}

/// One tensor of the checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    /// Hugging Face parameter name, e.g. `model.layers.0.self_attn.q_proj.weight`.
    pub name: String,
    /// Shape in PyTorch order (`[out_features, in_features]` for linear weights).
    pub shape: Vec<usize>,
    /// How its values are generated.
    pub init: Init,
}

impl TensorSpec {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}
