//! What can stop `bench power serve` from starting or serving.

use std::path::PathBuf;

use thiserror::Error;

/// Why the power server cannot start or went on no longer.
#[derive(Debug, Error)]
pub enum ServeError {
    /// `--bind` is not an address to listen on.
    #[error("cannot use `{addr}` as an address to serve on: {reason}")]
    Address {
        /// The address as given.
        addr: String,
        /// What was wrong with it.
        reason: String,
    },
    /// Listening on a non-loopback address without a token would let anyone on the network
    /// read this machine's power draw (a side channel on what it runs).
    #[error(
        "refusing to serve on {addr} without a token: other machines can reach it, so requests \
         must carry `Authorization: Bearer <token>`. Put a token in a file only you can read \
         (`openssl rand -hex 32 > ~/.bench-power-token && chmod 600 ~/.bench-power-token`) and \
         pass --token-file ~/.bench-power-token, or set BENCH_POWER_TOKEN; or bind 127.0.0.1"
    )]
    TokenRequired {
        /// The address asked for.
        addr: String,
    },
    /// The token file could not be read.
    #[error("cannot read the token file {}: {source}", path.display())]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The token is empty (an empty file, or only blanks).
    #[error("the token {origin} is empty: put a long random string in it")]
    EmptyToken {
        /// Where it came from (`file /x/y`, `BENCH_POWER_TOKEN`).
        origin: String,
    },
    /// Binding or accepting failed.
    #[error("cannot serve on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
}
