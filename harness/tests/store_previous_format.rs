//! Run folders written by an earlier bench (store format 1, as `bench run` wrote it before
//! records grouped their metrics by kind and shared one header with load runs) still read:
//! every stored line reads back to the same JSON, nothing lost or renamed, and each run's
//! per-case summaries come out as they did then.
//!
//! The folders under `tests/fixtures/store/format-1/` are real runs on the CPU with power from
//! a fake exporter: text (`text-power`), images (`images-power`), and load patterns, a
//! conversation and a failed request against a scripted server (`load-power`). Each has its
//! summaries beside it (`<name>.summaries.json`); `BENCH_BLESS_STORE=1` writes them anew.

use std::path::{Path, PathBuf};

use bench::store::StoredRun;
use bench::summary::{self, CaseSummary};
use serde_json::{json, Value};

/// The run folders of the fixture.
const RUNS: [&str; 3] = ["text-power", "images-power", "load-power"];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store/format-1")
}

/// Every line of a JSONL file of the run folder (none when it has no such file).
fn lines(dir: &Path, file: &str) -> Vec<Value> {
    let path = dir.join(file);
    if !path.exists() {
        return Vec::new();
    }
    std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Each item as JSON, beside the line it was read from.
fn same_json<T: serde::Serialize>(name: &str, file: &str, read: &[T], stored: &[Value]) {
    assert_eq!(read.len(), stored.len(), "{name}/{file}");
    for (i, (item, line)) in read.iter().zip(stored).enumerate() {
        let back = serde_json::to_value(item).unwrap();
        assert_eq!(&back, line, "{name}/{file}:{}", i + 1);
    }
}

#[test]
fn every_line_of_an_earlier_run_reads_back_to_the_same_json() {
    for name in RUNS {
        let dir = fixtures().join(name);
        let run = StoredRun::read(&dir).unwrap();
        assert!(!run.records.is_empty(), "{name}");
        same_json(
            name,
            "measurements.jsonl",
            &run.records,
            &lines(&dir, "measurements.jsonl"),
        );
        same_json(name, "loads.jsonl", &run.loads, &lines(&dir, "loads.jsonl"));
        same_json(
            name,
            "tool_runs.jsonl",
            &run.tool_runs,
            &lines(&dir, "tool_runs.jsonl"),
        );
    }
}

#[test]
fn the_published_runs_read_back_to_the_same_json() {
    let published = Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/published");
    let mut read = 0;
    for set in std::fs::read_dir(&published).unwrap() {
        let set = set.unwrap().path();
        if !set.is_dir() {
            continue;
        }
        for dir in std::fs::read_dir(&set).unwrap() {
            let dir = dir.unwrap().path();
            if !dir.join("manifest.json").is_file() {
                continue;
            }
            let name = dir.display().to_string();
            let run = StoredRun::read(&dir).unwrap();
            let stored = lines(&dir, "measurements.jsonl");
            same_json(&name, "measurements.jsonl", &run.records, &stored);
            same_json(
                &name,
                "loads.jsonl",
                &run.loads,
                &lines(&dir, "loads.jsonl"),
            );
            read += 1;
        }
    }
    assert!(read > 0, "no run folder under {}", published.display());
}

#[test]
fn the_fixture_holds_every_kind_of_record() {
    let run = |name: &str| StoredRun::read(&fixtures().join(name)).unwrap();
    let (text, images, load) = (run("text-power"), run("images-power"), run("load-power"));
    let json = |r: &bench::store::Record| serde_json::to_value(r).unwrap();
    let has = |records: &[bench::store::Record], metric: &str| {
        records
            .iter()
            .any(|r| json(r)["metrics"][metric].is_number())
    };
    assert!(has(&text.records, "decode_tps") && has(&text.records, "j_per_output_token"));
    assert!(has(&images.records, "denoise_s") && has(&images.records, "j_per_image"));
    assert!(has(&load.records, "schedule_lag_s") && has(&load.records, "cached_prompt_tokens"));
    assert!(load
        .records
        .iter()
        .any(|r| json(r)["conversation"].is_object()));
    assert!(load.records.iter().any(|r| json(r)["status"] == "error"));
    assert!(load.loads.iter().any(|l| l.energy.is_some()));
}

/// What a case's summary says, as JSON: its counts and each metric's statistics.
fn digest(summaries: &[CaseSummary]) -> Value {
    Value::Array(
        summaries
            .iter()
            .map(|s| {
                json!({
                    "case": s.case.id,
                    "ok": s.ok,
                    "errors": s.errors,
                    "errors_by_kind": s.errors_by_kind,
                    "patterns": s.patterns,
                    "flagged": s.flagged,
                    "estimated_token_counts": s.estimated_token_counts,
                    "metrics": s.metrics.iter().map(|m| json!({
                        "name": m.name,
                        "summary": m.summary,
                        "values": m.repetitions.values,
                        "numbers": m.repetitions.numbers,
                    })).collect::<Vec<_>>(),
                    "turns": s.turns.len(),
                })
            })
            .collect(),
    )
}

/// The same JSON, numbers equal to 1e-12 (relative): a number written as text reads back to
/// within a unit of its last place.
fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn an_earlier_run_summarizes_as_it_did() {
    for name in RUNS {
        let run = StoredRun::read(&fixtures().join(name)).unwrap();
        let got = digest(&summary::of_run(&run));
        let path = fixtures().join(format!("{name}.summaries.json"));
        if std::env::var_os("BENCH_BLESS_STORE").is_some() {
            std::fs::write(&path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        }
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert!(close(&got, &expected), "{name}: {got} is not {expected}");
    }
}
