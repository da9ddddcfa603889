//! What can go wrong with a power source.

use thiserror::Error;

/// A power source that cannot start, stopped working, or produced output it cannot read.
#[derive(Debug, Error)]
pub enum PowerError {
    /// The source cannot run on this machine (no tool, no driver, no permission): why.
    #[error("{source_name} is unavailable: {reason}")]
    Unavailable {
        /// The sampler.
        source_name: &'static str,
        /// Why, with what would fix it.
        reason: String,
    },
    /// The source ran and then failed (its process exited, its endpoint stopped answering).
    #[error("{source_name} failed: {reason}")]
    Failed {
        /// The sampler.
        source_name: &'static str,
        /// What happened.
        reason: String,
    },
    /// Output that is not what the format allows, at a byte offset or line of the input.
    #[error("{format}: {position}: {message}")]
    Malformed {
        /// The format being read (`powermetrics-plist`, `macmon`, ...).
        format: &'static str,
        /// Where: `byte 1234` or `line 56`.
        position: Position,
        /// What was wrong and what was expected.
        message: String,
    },
}

/// A place in an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// 0-based byte offset.
    Byte(u64),
    /// 1-based line number.
    Line(usize),
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Position::Byte(b) => write!(f, "byte {b}"),
            Position::Line(l) => write!(f, "line {l}"),
        }
    }
}

/// What an import read: the samples before any damage, and the damage, if any.
#[derive(Debug, Default)]
pub struct Imported {
    /// Every sample read in full, in order.
    pub samples: Vec<crate::power::Sample>,
    /// Where and why reading stopped early, if it did.
    pub error: Option<PowerError>,
}
