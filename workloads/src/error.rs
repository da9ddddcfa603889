//! Errors of the workloads crate.

use std::path::PathBuf;

/// Why a model could not be found, loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The model reference resolves to nothing usable.
    #[error("model `{spec}`: {reason}")]
    ModelNotFound {
        /// The reference as given.
        spec: String,
        /// What was tried and what is allowed.
        reason: String,
    },
    /// A file of the model folder is missing, unreadable or malformed.
    #[error("{}: {reason}", path.display())]
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The weights do not fit the architecture in config.json.
    #[error("{}: the weights do not match config.json: {reason}", dir.display())]
    WeightsMismatch {
        /// The model folder.
        dir: PathBuf,
        /// The tensor and shapes involved.
        reason: String,
    },
    /// The requested device is not compiled in or not present.
    #[error("device {device}: {reason}")]
    Device {
        /// The device asked for.
        device: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The GPU ran out of memory: what the work needed and what the device had.
    #[error("out of GPU memory on {device}: {needed}{}", free_of_total(*.free, *.total))]
    OutOfDeviceMemory {
        /// The device (`cuda:0`).
        device: String,
        /// What the work needed, in words with sizes (weights, KV cache, attention scores).
        needed: String,
        /// Bytes free on the device when the error was reported, where it can tell.
        free: Option<u64>,
        /// The device's memory, bytes, where it can tell.
        total: Option<u64>,
    },
    /// Talking to a server failed: it could not be reached, did not answer in time, answered
    /// with an error status, or its reply was not what its API says.
    #[error("{message}")]
    Transport {
        /// What was asked: the URL, after its method where the message names one.
        url: String,
        /// What went wrong, in words that name the URL.
        message: String,
    },
    /// A program bench runs (a server, an engine's own tool) could not start, failed, or said
    /// something bench cannot read.
    #[error("{message}")]
    Process {
        /// The program, as bench runs it.
        program: String,
        /// What went wrong, in words that name the program.
        message: String,
    },
    /// A setting asks for what the engine cannot do (a size, a batch, lengths), or a setting
    /// or variable it needs is missing or malformed.
    #[error("{0}")]
    Config(String),
    /// The engine, or what the work needs of it, is not in this build of bench or not on this
    /// machine (an engine compiled out, a Python without mlx-lm, a placement the cluster does
    /// not offer).
    #[error("{0}")]
    NotAvailable(String),
    /// The engine failed on work it had accepted: its tokenizer, a reply without the text the
    /// work needs, an image that cannot be encoded, a cluster that never got ready.
    #[error("{0}")]
    Engine(String),
    /// A failure inside the compute library while running.
    #[error("while running the model: {0}")]
    Compute(#[from] candle_core::Error),
    /// The work stopped because bench was interrupted (see [`crate::cancel`]): nothing was
    /// measured, and the run finishes it when resumed.
    #[error("interrupted")]
    Interrupted,
    /// Synthesizing a model failed.
    #[error(transparent)]
    Synth(#[from] crate::synth::SynthError),
}

impl Error {
    /// [`Error::Transport`]: asking `url` failed, as `message` says.
    pub fn transport(url: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Transport {
            url: url.into(),
            message: message.into(),
        }
    }

    /// [`Error::Process`]: running `program` failed, as `message` says.
    pub fn process(program: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Process {
            program: program.into(),
            message: message.into(),
        }
    }
}

/// "; 3.2 GB free of 79.6 GB" where the device told.
fn free_of_total(free: Option<u64>, total: Option<u64>) -> String {
    let gb = |b: u64| b as f64 / 1e9;
    match (free, total) {
        (Some(f), Some(t)) => format!("; {:.1} GB free of {:.1} GB", gb(f), gb(t)),
        _ => String::new(),
    }
}
