//! Helpers the end-to-end tests share: run the `bench` binary, find the run it stored, read its
//! files.
#![allow(dead_code)] // each test file uses some of them

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The `bench` binary under test.
pub fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bench"))
}

/// `bench run SUITE`, storing under `tmp/results` with synthesized models cached in
/// `tmp/models`; `env` sets (`Some`) or removes (`None`) variables for the run.
pub fn run_suite(tmp: &Path, suite: &Path, env: &[(&str, Option<&str>)]) -> Output {
    let mut command = bench();
    command
        .args(["run", "--results"])
        .arg(tmp.join("results"))
        .arg("--model-cache")
        .arg(tmp.join("models"))
        .arg(suite);
    for (key, value) in env {
        match value {
            Some(v) => command.env(key, v),
            None => command.env_remove(key),
        };
    }
    command.output().unwrap()
}

/// The one run folder under `results`.
pub fn only_run_dir(results: &Path) -> PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(results)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// Every line of a JSONL file.
pub fn read_jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A JSON file.
pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
