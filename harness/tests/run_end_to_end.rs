//! `bench run` end to end on the tiny preset: the stored run is complete and its numbers
//! are consistent; a killed run resumes without duplicates or gaps; bad places to store a
//! run are reported before anything runs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{bench, only_run_dir, read_jsonl as lines, repetition_keys};

fn tiny_suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/tiny.toml")
}

/// `bench run --resume DIR`, which must succeed.
fn resume(models: &Path, dir: &Path) {
    let out = bench()
        .args(["run", "--quiet", "--model-cache"])
        .arg(models)
        .arg("--resume")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn tiny_suite_runs_and_its_measurements_are_consistent() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let out = bench()
        .args(["run", "--json", "--quiet", "--results"])
        .arg(&results)
        .arg("--model-cache")
        .arg(tmp.path().join("models"))
        .arg(tiny_suite())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "complete");
    assert_eq!(json["cases"].as_array().unwrap().len(), 2);

    let dir = only_run_dir(&results);
    let records = lines(&dir.join("measurements.jsonl"));
    assert_eq!(
        records.len(),
        6,
        "2 cases x 3 repetitions, warmups not stored"
    );
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
        let prompt = r["params"]["prompt_tokens"].as_f64().unwrap();
        let gen = r["params"]["gen_tokens"].as_u64().unwrap();
        assert_eq!(r["prompt_tokens"].as_f64().unwrap(), prompt);
        assert_eq!(r["output_tokens"].as_u64().unwrap(), gen);
        let m = &r["metrics"];
        let ttft = m["ttft_s"].as_f64().unwrap();
        let prefill = m["prefill_tps"].as_f64().unwrap();
        assert!(
            (prefill * ttft - prompt).abs() < 1e-6 * prompt,
            "prefill_tps x ttft = prompt tokens: {r}"
        );
        let itl: Vec<f64> = r["itl_s"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(
            itl.len() as u64,
            gen - 1,
            "one gap between each pair of tokens"
        );
        assert!(itl.iter().all(|g| *g >= 0.0));
        let e2e = m["e2e_s"].as_f64().unwrap();
        assert!(
            (ttft + itl.iter().sum::<f64>() - e2e).abs() < 1e-3,
            "ttft + gaps = e2e: {r}"
        );
        let decode = m["decode_tps"].as_f64().unwrap();
        assert!((decode * itl.iter().sum::<f64>() - (gen - 1) as f64).abs() < 1e-6 * gen as f64);
        assert!(m["tokenize_s"].as_f64().unwrap() >= 0.0);
        assert_eq!(r["token_count_source"], "engine");
    }

    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "complete");
    assert!(manifest["suite"]["source"]
        .as_str()
        .unwrap()
        .contains("synth:tiny"));
    assert_eq!(manifest["plan"]["cases"].as_array().unwrap().len(), 2);
    assert!(manifest["environment"]["logical_cores"].as_u64().unwrap() >= 1);
    // The chip as detected and its hardware-table match (`no_row` on a machine the table
    // does not list): the facts `bench hw` prints.
    assert!(manifest["hardware"]["facts"]["chip"].is_string());
    assert!(manifest["hardware"]["matches"][0]["outcome"].is_string());
    let engine = &manifest["engines"]["cpu"];
    assert_eq!(engine["engine"], "candle");
    assert_eq!(
        engine["kernels"][0],
        serde_json::json!([
            "prefill attention",
            "scores in memory, causal mask then softmax"
        ])
    );
    assert!(engine["model"]["digest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_eq!(engine["model"]["source"]["kind"], "synth");
    assert_eq!(manifest["power"]["used"], "none");

    let csv = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(csv.starts_with("case,target,workload"));
    assert!(
        csv.contains("cpu/short/p64-g8-c1,cpu,short,64,8,1,,,,,,,ttft_s,s,3,"),
        "{csv}"
    );
}

#[test]
fn a_killed_run_resumes_with_no_duplicate_and_no_gap() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("long.toml");
    std::fs::write(
        &suite,
        std::fs::read_to_string(tiny_suite())
            .unwrap()
            .replace("repetitions = 3", "repetitions = 30")
            .replace("gen_tokens = [8]", "gen_tokens = [48]"),
    )
    .unwrap();
    let results = tmp.path().join("results");
    let models = tmp.path().join("models");
    let mut child = bench()
        .args(["run", "--quiet", "--results"])
        .arg(&results)
        .arg("--model-cache")
        .arg(&models)
        .arg(&suite)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once a few measurements are stored, mid-way through the plan.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let stored = std::fs::read_dir(&results)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("measurements.jsonl")).ok())
            .map_or(0, |t| t.lines().count());
        if stored >= 5 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no measurements appeared");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let dir = only_run_dir(&results);
    let before = lines(&dir.join("measurements.jsonl")).len();
    assert!((5..60).contains(&before), "killed mid-way: {before} lines");

    resume(&models, &dir);
    let records = lines(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 60, "2 cases x 30 repetitions");
    assert_eq!(repetition_keys(&records).len(), 60);
    assert!(records.iter().all(|r| r["status"] == "ok"));
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "complete");
    assert_eq!(manifest["resumed_at"].as_array().unwrap().len(), 1);
}

#[test]
fn a_torn_last_line_is_dropped_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let models = tmp.path().join("models");
    let status = bench()
        .args(["run", "--quiet", "--results"])
        .arg(&results)
        .arg("--model-cache")
        .arg(&models)
        .arg(tiny_suite())
        .status()
        .unwrap();
    assert!(status.success());
    let dir = only_run_dir(&results);
    let path = dir.join("measurements.jsonl");
    // Drop the last record and leave half of it behind, as a kill mid-write would.
    let text = std::fs::read_to_string(&path).unwrap();
    let body = text.trim_end_matches('\n');
    let cut = body.rfind('\n').unwrap() + 1;
    std::fs::write(&path, format!("{}{}", &body[..cut], &body[cut..cut + 20])).unwrap();

    resume(&models, &dir);
    assert_eq!(lines(&path).len(), 6);
}

#[test]
fn an_unwritable_results_folder_is_reported_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-dir");
    std::fs::write(&file, "").unwrap();
    let models = tmp.path().join("models");
    let out = bench()
        .args(["run", "--results"])
        .arg(file.join("results"))
        .arg("--model-cache")
        .arg(&models)
        .arg(tiny_suite())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot store results under") && err.contains("not-a-dir"),
        "{err}"
    );
    assert!(!models.exists(), "nothing ran, no model was synthesized");
}

#[test]
fn validate_and_schema_commands() {
    let out = bench().arg("validate").arg(tiny_suite()).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("ok (2 cases, 6 measured runs, 8 with warmups)"));

    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[suite]\nname = \"x\"\nrepetitons = 3\n").unwrap();
    let out = bench().arg("validate").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:3:1: key `suite.repetitons`: unknown field `repetitons`"),
        "{err}"
    );

    let out = bench().arg("schema").output().unwrap();
    let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["title"], "Suite");
}

#[test]
fn shell_completions_and_the_manual_page_come_from_the_command_definitions() {
    for (shell, marker) in [
        ("bash", "_bench()"),
        ("zsh", "#compdef bench"),
        ("fish", "complete -c bench"),
    ] {
        let out = bench().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        // Subcommands and their options are completed.
        assert!(
            script.contains("calibrate") && script.contains("--resume"),
            "{shell}"
        );
    }
    let out = bench().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));

    let out = bench().arg("man").output().unwrap();
    assert!(out.status.success());
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.contains(".TH bench 1") && page.contains("SUBCOMMANDS"),
        "{page}"
    );

    // With --out: the top page and one per subcommand, nested ones included.
    let tmp = tempfile::tempdir().unwrap();
    let folder = tmp.path().join("man1");
    let out = bench()
        .args(["man", "--out"])
        .arg(&folder)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (file, title) in [
        ("bench.1", ".TH bench 1"),
        ("bench-run.1", ".TH bench-run 1"),
        ("bench-completions.1", ".TH bench-completions 1"),
        ("bench-model-synth.1", ".TH bench-model-synth 1"),
    ] {
        let page = std::fs::read_to_string(folder.join(file)).unwrap();
        assert!(page.contains(title), "{file}: {page}");
    }
}

/// `depth`: each depth is its own case, its records say the depth they ran at, and the
/// measured prompt and decode are the same lengths at every depth.
#[test]
fn a_depth_sweep_runs_each_depth_as_its_own_case() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("depth.toml");
    std::fs::write(
        &suite,
        r#"[suite]
name = "depth"
repetitions = 2
warmup = 0

[power]
sampler = "none"

[[target]]
name = "cpu"
engine = "candle"
model = "synth:tiny"

[[workload]]
name = "w"
kind = "llm"
prompt_tokens = 16
gen_tokens = 4
depth = [0, 48]
"#,
    )
    .unwrap();
    let out = common::run_suite(tmp.path(), &suite, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = only_run_dir(&tmp.path().join("results"));
    let records = lines(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(
            (r["prompt_tokens"].as_u64(), r["output_tokens"].as_u64()),
            (Some(16), Some(4))
        );
        let deep = r["case"].as_str().unwrap().contains("-d48-");
        assert_eq!(
            r["params"]["depth"].as_u64().unwrap_or(0),
            if deep { 48 } else { 0 },
            "{r}"
        );
    }
}
