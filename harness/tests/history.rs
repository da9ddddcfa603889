//! `bench history` end to end: run folders written by the real run store (and one by a real
//! `bench run`), listed, indexed again, searched for a planted shift, with bad questions and
//! a damaged folder answered clearly.

use std::path::{Path, PathBuf};
use std::process::Output;

use bench::environment::Environment;
use bench::history::History;
use bench::plan::{Case, LlmParams, Plan, TextWork, Work};
use bench::store::{
    BenchBuild, Manifest, Metrics, PowerRecord, Record, RunStatus, RunStore, Status, SuiteRecord,
    TextMetrics, STORE_FORMAT,
};
use bench_workloads::rng::SplitMix64;
use serde_json::Value;

mod common;
use common::{bench, only_run_dir};

const CASE: &str = "cpu/ttft/p8-g2-c1";

fn case() -> Case {
    Case {
        id: CASE.into(),
        target: "cpu".into(),
        workload: "ttft".into(),
        work: Work::Text(TextWork {
            params: LlmParams {
                prompt_tokens: 8,
                gen_tokens: 2,
                concurrency: 1,
                rate_rps: None,
                depth: 0,
                turns: 0,
            },
            load: None,
            slo: None,
            search: None,
            prompts: None,
        }),
        warmup: 0,
        repetitions: 3,
        nodes: None,
    }
}

/// A complete run started at minute `minute` whose case has one measurement per value of
/// `ttft` (with `decode_tps` = 100 / ttft).
fn write_run(root: &Path, minute: u32, ttft: &[f64]) -> PathBuf {
    let c = case();
    let manifest = Manifest {
        pauses: Vec::new(),
        prompt_sets: Default::default(),
        format: STORE_FORMAT,
        run_id: format!("20260101T00{minute:02}00Z-hist"),
        status: RunStatus::Running,
        started_at: format!("2026-01-01T00:{minute:02}:00.000Z"),
        finished_at: None,
        resumed_at: Vec::new(),
        bench: BenchBuild {
            version: "0.1.0".into(),
            git_revision: format!("abc{minute:03}"),
            features: Vec::new(),
        },
        suite: SuiteRecord {
            path: "suites/hist.toml".into(),
            source: String::new(),
            parsed: serde_json::json!({ "suite": { "name": "hist" } }),
        },
        plan: Plan {
            cases: vec![c.clone()],
        },
        environment: Environment {
            hostname: "box".into(),
            os: "Linux".into(),
            kernel: "6".into(),
            arch: "x86_64".into(),
            cpu_model: "Some CPU".into(),
            physical_cores: Some(2),
            logical_cores: 2,
            memory_bytes: 8 << 30,
            gpus: Vec::new(),
            fingerprint: "0123456789abcdef".into(),
        },
        hardware: None,
        engines: Default::default(),
        power: PowerRecord::default(),
    };
    let mut store = RunStore::create(root, manifest).unwrap();
    for (rep, &t) in ttft.iter().enumerate() {
        let record = Record {
            status: Status::Ok,
            error: None,
            metrics: Metrics::of_text(TextMetrics {
                ttft_s: Some(t),
                decode_tps: Some(100.0 / t),
                ..TextMetrics::default()
            }),
            ..Record::failed(&c, rep as u32, String::new(), 0.0, String::new())
        };
        store.append(&record).unwrap();
    }
    store
        .update_manifest(|m| {
            m.status = RunStatus::Complete;
            m.finished_at = Some(m.started_at.clone());
        })
        .unwrap();
    store.dir().to_path_buf()
}

/// `n` runs at `level` s (three measurements each, ±1 % seeded noise), from minute `first`.
fn write_runs(root: &Path, first: u32, n: u32, level: f64, rng: &mut SplitMix64) {
    for minute in first..first + n {
        let values: Vec<f64> = (0..3)
            .map(|_| level * (1.0 + 0.02 * (rng.unit_open() - 0.5)))
            .collect();
        write_run(root, minute, &values);
    }
}

fn history(root: &Path, args: &[&str]) -> Output {
    bench()
        .arg("history")
        .arg("--results")
        .arg(root)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap()
}

#[test]
fn runs_are_listed_newest_first_in_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for minute in [3, 1, 2] {
        write_run(root, minute, &[1.0, 1.1, 1.2]);
    }
    let table = stdout(&history(root, &[]));
    let at = |id: &str| table.find(id).unwrap_or_else(|| panic!("{id}: {table}"));
    assert!(at("20260101T000300Z-hist") < at("20260101T000200Z-hist"));
    assert!(at("20260101T000200Z-hist") < at("20260101T000100Z-hist"));
    for cell in ["complete", "hist", "abc003", "box / Some CPU", "01234567"] {
        assert!(table.contains(cell), "{cell}: {table}");
    }
    assert!(root.join("history.sqlite").is_file());

    let runs = json(&history(root, &["--format", "json"]));
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["run_id"], "20260101T000300Z-hist");
    assert_eq!(runs[0]["cases"], 1);
    assert_eq!(runs[0]["fingerprint"], "0123456789abcdef");

    let csv = stdout(&history(root, &["--format", "csv"]));
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().starts_with("run_id,dir,started_at,"));
    assert_eq!(lines.count(), 3);

    let metrics = stdout(&history(root, &["--case", CASE]));
    assert!(
        metrics.contains("ttft_s") && metrics.contains("decode_tps"),
        "{metrics}"
    );
}

#[test]
fn a_planted_shift_is_marked_at_the_run_where_it_began() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut rng = SplitMix64(11);
    write_runs(root, 1, 5, 1.0, &mut rng);
    write_runs(root, 6, 5, 1.25, &mut rng);
    let series = json(&history(
        root,
        &["--case", CASE, "--metric", "ttft_s", "--format", "json"],
    ));
    assert_eq!(series["points"].as_array().unwrap().len(), 10);
    assert_eq!(series["points"][0]["run_id"], "20260101T000100Z-hist");
    let changes = series["change_points"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{series:#}");
    assert_eq!(changes[0]["run_id"], "20260101T000600Z-hist");
    assert_eq!(changes[0]["index"], 5);
    assert!(changes[0]["p_value"].as_f64().unwrap() < 0.05);
    let pct = changes[0]["change_pct"].as_f64().unwrap();
    assert!((20.0..30.0).contains(&pct), "{pct}");

    let table = stdout(&history(root, &["--case", CASE, "--metric", "ttft_s"]));
    let lines: Vec<&str> = table.lines().collect();
    let mark = lines
        .iter()
        .position(|l| l.contains("▲ shift began here"))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        lines[mark - 1].starts_with("20260101T000600Z-hist"),
        "{table}"
    );
    assert!(lines[mark].contains("(+2"), "{table}");
    assert!(table.contains("E-Divisive"), "{table}");
    assert_eq!(table.matches('▲').count(), 1, "{table}");

    // The shift is in decode_tps too, the other way.
    let decode = json(&history(
        root,
        &["--case", CASE, "--metric", "decode_tps", "--format", "json"],
    ));
    assert_eq!(decode["change_points"][0]["index"], 5);
    assert!(decode["change_points"][0]["change_pct"].as_f64().unwrap() < 0.0);

    let csv = stdout(&history(
        root,
        &["--case", CASE, "--metric", "ttft_s", "--format", "csv"],
    ));
    let marked: Vec<&str> = csv
        .lines()
        .skip(1)
        .filter(|l| !l.ends_with(",,,"))
        .collect();
    assert_eq!(marked.len(), 1, "{csv}");
    assert!(marked[0].starts_with("20260101T000600Z-hist,"), "{csv}");
}

#[test]
fn reindexing_gives_the_same_index_every_time() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut rng = SplitMix64(3);
    write_runs(root, 1, 4, 1.0, &mut rng);
    let first = stdout(&history(root, &["--format", "json"]));
    let again = history(root, &["--reindex", "--format", "json"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("indexed 4 run"));
    assert_eq!(stdout(&again), first);
    assert_eq!(
        stdout(&history(root, &["--reindex", "--format", "json"])),
        first
    );
    let series = |args: &[&str]| stdout(&history(root, args));
    let args = ["--case", CASE, "--metric", "ttft_s", "--format", "csv"];
    let before = series(&args);
    let mut with_reindex = args.to_vec();
    with_reindex.push("--reindex");
    assert_eq!(series(&with_reindex), before);
}

#[test]
fn an_unknown_metric_or_case_is_a_usage_error_listing_what_exists() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_run(root, 1, &[1.0]);
    let out = history(root, &["--case", CASE, "--metric", "ttft"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no metric `ttft`") && stderr.contains("ttft_s, decode_tps"),
        "{stderr}"
    );

    let out = history(root, &["--case", "cpu/ttft/p8", "--metric", "ttft_s"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(CASE), "{stderr}");

    let out = history(&root.join("nowhere"), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such folder"));
}

#[test]
fn a_damaged_run_folder_is_skipped_with_a_warning_and_the_others_are_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write_run(root, 1, &[1.0]);
    let damaged = write_run(root, 2, &[1.0]);
    std::fs::write(damaged.join("measurements.jsonl"), "{\"case\": 1}\n").unwrap();
    write_run(root, 3, &[1.0]);
    let out = history(root, &["--format", "json"]);
    let runs = json(&out);
    let ids: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["20260101T000300Z-hist", "20260101T000100Z-hist"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("20260101T000200Z-hist") && stderr.contains("measurements.jsonl:1"),
        "{stderr}"
    );
    assert!(stderr.contains("1 run folder(s)"), "{stderr}");
}

#[test]
fn bench_run_indexes_its_run_and_a_resumed_run_into_the_folder_above_it() {
    let tmp = tempfile::tempdir().unwrap();
    let results = tmp.path().join("results");
    let models = tmp.path().join("models");
    let suite = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/suites/tiny.toml");
    let out = common::run_suite(tmp.path(), &suite, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = only_run_dir(&results);
    let db = results.join("history.sqlite");
    assert!(db.is_file());
    // Opened as it is (no sync): what the run itself wrote.
    let runs = History::open(&results).unwrap().runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].status.as_str(), runs[0].cases), ("complete", 2));

    // Resumed from elsewhere, the run is indexed beside itself again.
    std::fs::remove_file(&db).unwrap();
    let path = dir.join("measurements.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().take(5).collect();
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    let out = bench()
        .args(["run", "--quiet", "--model-cache"])
        .arg(&models)
        .arg("--resume")
        .arg(&dir)
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.is_file());
    assert!(!tmp.path().join("history.sqlite").exists());
    let history = History::open(&results).unwrap();
    let runs = history.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "complete");
    let series = history.series("cpu/short/p64-g8-c1", "ttft_s").unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].summary.n, 3, "the resumed measurement is counted");
}
