//! Torn tails in every file a run appends to, at once, as a kill mid-write leaves them:
//! `measurements.jsonl`, `loads.jsonl` and `power.jsonl` each end in half a line. `--resume`
//! cuts each back to its last whole line, runs what those lines held, and completes the run.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

mod common;
use common::spawned::whole_lines;
use common::stream_server::slow_server;
use common::{bench, only_run_dir, read_json, run_suite};

/// Drop the last line of `path` and leave its first `keep` bytes behind instead; returns the
/// line dropped.
fn tear_last_line(path: &Path, keep: usize) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    let body = text.trim_end_matches('\n');
    let cut = body.rfind('\n').map_or(0, |i| i + 1);
    let last = &body[cut..];
    std::fs::write(path, format!("{}{}", &body[..cut], &last[..keep])).unwrap();
    serde_json::from_str(last).unwrap()
}

#[test]
fn torn_tails_in_measurements_loads_and_power_are_cut_and_the_run_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, _) = slow_server(Duration::from_millis(2));
    let (metrics, _) = common::exporter::rapl_exporter(usize::MAX, |t| 10.0 * t);
    let suite = tmp.path().join("torn.toml");
    // The load case first, so the last measurement is a single request's and the last
    // pattern summary that of the load case's last repetition.
    std::fs::write(
        &suite,
        format!(
            r#"[suite]
name = "torn"
repetitions = 2
warmup = 0

[power]
sampler = "prometheus"
url = "{metrics}"
metrics = ["node_rapl_package_joules_total"]
interval_ms = 20
idle_baseline_s = 0

[[target]]
name = "server"
engine = "openai"
model = "synth:tiny"
served_model = "tiny"
url = "{url}"
timeout_s = 60

[[workload]]
name = "busy"
kind = "llm"
prompt_tokens = 16
gen_tokens = 4
concurrency = 2
requests = 6

[[workload]]
name = "one"
kind = "llm"
prompt_tokens = 16
gen_tokens = 4
"#
        ),
    )
    .unwrap();
    let out = run_suite(tmp.path(), &suite, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = only_run_dir(&tmp.path().join("results"));

    // A kill mid-write of all three files: each ends in half a line, and the manifest still
    // says `running`.
    let measurement = tear_last_line(&dir.join("measurements.jsonl"), 30);
    let pattern = tear_last_line(&dir.join("loads.jsonl"), 30);
    let samples_before = whole_lines(&dir.join("power.jsonl")).len();
    tear_last_line(&dir.join("power.jsonl"), 10);
    assert_eq!(
        (
            measurement["case"].as_str(),
            measurement["repetition"].as_u64()
        ),
        (Some("server/one/p16-g4-c1"), Some(1))
    );
    assert_eq!(
        (pattern["case"].as_str(), pattern["repetition"].as_u64()),
        (Some("server/busy/p16-g4-c2"), Some(1))
    );
    let path = dir.join("manifest.json");
    let mut manifest = read_json(&path);
    manifest["status"] = "running".into();
    std::fs::write(&path, serde_json::to_string_pretty(&manifest).unwrap()).unwrap();

    let out = bench()
        .args(["run", "--resume"])
        .arg(&dir)
        .arg("--model-cache")
        .arg(tmp.path().join("models"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("2 runs to do"),
        "one request, one pattern: {stderr}"
    );
    assert_eq!(read_json(&path)["status"], "complete");

    // Every file is whole lines again, and holds exactly the planned measurements.
    let records = whole_lines(&dir.join("measurements.jsonl"));
    let singles: Vec<u64> = records
        .iter()
        .filter(|r| r["case"] == "server/one/p16-g4-c1")
        .map(|r| r["repetition"].as_u64().unwrap())
        .collect();
    assert_eq!(singles, [0, 1], "the cut request ran again, once");
    let loads = whole_lines(&dir.join("loads.jsonl"));
    let reps: BTreeSet<u64> = loads
        .iter()
        .map(|l| l["repetition"].as_u64().unwrap())
        .collect();
    assert_eq!((loads.len(), reps), (2, BTreeSet::from([0, 1])));
    for l in &loads {
        let requests = records
            .iter()
            .filter(|r| r["load"]["run_t_s"] == l["t_start_s"])
            .count();
        assert_eq!((l["ok"].as_u64(), requests), (Some(6), 6), "{l}");
    }
    let samples = whole_lines(&dir.join("power.jsonl"));
    assert!(
        samples.len() >= samples_before,
        "the resumed session added samples after the cut one"
    );
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(summary.contains("server/busy/p16-g4-c2"), "{summary}");
}
