//! Every parser of outside input under a fuzzer: suite and gate TOML, powermetrics plist streams
//! and text logs, macmon JSON lines, Prometheus expositions, Server-Sent Events, OpenAI stream
//! chunks, exo's `/state`, `/instance/previews` and bench answers, mflux's output, and prompt
//! files (JSON Lines and ShareGPT).
//!
//! Each parser gets its seed corpus (the real captures and fixtures of the repository and the
//! small cases of `tests/fixtures/fuzz/<parser>/`) as is, cut at many offsets, then mutated and
//! generated inputs drawn by proptest (see [`engine`]). Every input must finish without a panic
//! and within a bound, and every error must say where it is (line, byte or key, as the parser's
//! error type allows). `docs/testing.md` tells how to run them longer.
//!
//! The workloads crate's parsers are fuzzed here too: their fixtures live in this crate's
//! `tests/fixtures`, and one engine serves both.

mod corpus;
mod engine;

mod exo;
mod gguf;
mod hardware;
mod macmon;
mod mflux;
mod powermetrics;
mod prometheus;
mod prompt_file;
mod serving;
mod toml_files;
