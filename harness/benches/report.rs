//! What `bench report` costs: reading, summarizing and rendering a run with 10⁶ inter-token
//! latency samples (target: under 2 s), and a report of 20 runs with every comparison
//! (target: under 5 s). Runs are synthetic but stored and read back as real run folders.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion};

use bench::environment::Environment;
use bench::plan::{Case, LlmParams, Plan, TextWork, Work};
use bench::report::Report;
use bench::stats::bootstrap::BootstrapConfig;
use bench::store::{
    read_power, BenchBuild, Manifest, Metrics, PowerRecord, Record, RunStatus, Status, StoredRun,
    SuiteRecord, TextMetrics, STORE_FORMAT,
};

/// A run folder with `cases` cases of `repetitions` requests, each with `tokens` output tokens.
fn write_run(dir: &Path, id: &str, cases: u32, repetitions: u32, tokens: usize, speed: f64) {
    std::fs::create_dir_all(dir).unwrap();
    let plan = Plan {
        cases: (0..cases)
            .map(|i| Case {
                id: format!("cpu/ttft/p{}-g{tokens}-c1", 128 << i),
                target: "cpu".into(),
                workload: "ttft".into(),
                work: Work::Text(TextWork {
                    params: LlmParams {
                        prompt_tokens: 128 << i,
                        gen_tokens: tokens as u32,
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
                repetitions,
                nodes: None,
            })
            .collect(),
    };
    let manifest = Manifest {
        pauses: Vec::new(),
        prompt_sets: Default::default(),
        format: STORE_FORMAT,
        run_id: id.into(),
        status: RunStatus::Complete,
        started_at: "2026-11-26T00:00:00.000Z".into(),
        finished_at: None,
        resumed_at: Vec::new(),
        bench: BenchBuild::current(),
        suite: SuiteRecord {
            path: "synthetic.toml".into(),
            source: String::new(),
            parsed: serde_json::json!({"suite": {"name": "synthetic"}}),
        },
        plan: plan.clone(),
        environment: Environment::probe(),
        hardware: None,
        engines: Default::default(),
        power: PowerRecord::default(),
    };
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let mut lines = Vec::new();
    let mut x: u64 = 1;
    for case in &plan.cases {
        for rep in 0..repetitions {
            let mut r = Record::failed(case, rep, String::new(), 0.0, String::new());
            r.status = Status::Ok;
            r.error = None;
            r.itl_s = (0..tokens)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    speed * (0.02 + (x >> 40) as f64 / (1u64 << 24) as f64 * 0.01)
                })
                .collect();
            r.metrics = Metrics::of_text(TextMetrics {
                ttft_s: Some(speed * 0.1 * f64::from(case.stored_params().prompt_tokens) / 128.0),
                decode_tps: Some(1.0 / (speed * 0.025)),
                prefill_tps: Some(1280.0 / speed),
                e2e_s: Some(speed * (0.1 + tokens as f64 * 0.025)),
                ..TextMetrics::default()
            });
            serde_json::to_writer(&mut lines, &r).unwrap();
            lines.push(b'\n');
        }
    }
    std::fs::write(dir.join("measurements.jsonl"), lines).unwrap();
}

fn report(dirs: &[PathBuf], out: &Path) {
    let runs = dirs
        .iter()
        .map(|d| (StoredRun::read(d).unwrap(), read_power(d).unwrap()))
        .collect();
    let report = Report::build(runs, &BootstrapConfig::default());
    report.write_html(out).unwrap();
}

fn benches(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    // 4 cases × 10 repetitions × 25,000 tokens = 10⁶ inter-token gaps.
    let big = tmp.path().join("big");
    write_run(&big, "big", 4, 10, 25_000, 1.0);
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.bench_function("one run, 1e6 itl samples", |b| {
        b.iter(|| report(std::slice::from_ref(&big), &tmp.path().join("site-big")))
    });
    // 20 runs of 8 cases × 10 repetitions: 20 run pages and 19 comparisons.
    let runs: Vec<PathBuf> = (0..20)
        .map(|i| {
            let dir = tmp.path().join(format!("run{i:02}"));
            write_run(
                &dir,
                &format!("run{i:02}"),
                8,
                10,
                64,
                1.0 + f64::from(i) * 0.01,
            );
            dir
        })
        .collect();
    group.bench_function("20 runs compared", |b| {
        b.iter(|| report(&runs, &tmp.path().join("site-20")))
    });
    group.finish();
}

criterion_group!(report_benches, benches);
criterion_main!(report_benches);
