//! `bench run` through the `openai` engine against the real `mlx_lm.server` on 127.0.0.1,
//! serving a model bench synthesized (tiny preset: MLX's CPU matrix multiply is slow on Linux).
//!
//! Needs a Python with mlx-lm: `.ci/run` installs one and sets `BENCH_MLX_LM_PYTHON`; without
//! it the test says so and checks nothing.

use std::process::{Command, Stdio};
use std::time::Duration;

mod common;
use common::server::{free_port, Server};
use common::{bench, only_run_dir, read_json, read_jsonl, run_suite};

#[test]
fn the_real_mlx_lm_server_is_measured_through_the_openai_engine() {
    let Ok(python) = std::env::var("BENCH_MLX_LM_PYTHON") else {
        eprintln!("skipped: set BENCH_MLX_LM_PYTHON to a Python with mlx-lm (.ci/run does)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("tiny");
    let synth = bench()
        .args([
            "model", "synth", "--preset", "tiny", "--dtype", "f32", "--out",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(
        synth.status.success(),
        "{}",
        String::from_utf8_lossy(&synth.stderr)
    );

    let port = free_port();
    let log = tmp.path().join("server.log");
    let mut server = Server(
        Command::new(&python)
            .args(["-m", "mlx_lm.server", "--model"])
            .arg(&model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    server.wait_until_listening("mlx_lm.server", port, &log, Duration::from_secs(180));

    let suite = tmp.path().join("mlx.toml");
    std::fs::write(
        &suite,
        format!(
            r#"[suite]
name = "mlx-lm"
repetitions = 3
warmup = 1

[power]
sampler = "none"

[[target]]
name = "mlx"
engine = "openai"
url = "http://127.0.0.1:{port}"
model = "{model}"
timeout_s = 60

[[target]]
name = "raw"
engine = "openai"
api = "completions"
url = "http://127.0.0.1:{port}"
model = "{model}"
timeout_s = 60

[[workload]]
name = "w"
kind = "llm"
prompt_tokens = [16, 64]
gen_tokens = 8
"#,
            model = model.display()
        ),
    )
    .unwrap();
    let out = run_suite(tmp.path(), &suite, &[]);
    assert!(
        out.status.success(),
        "{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let dir = only_run_dir(&tmp.path().join("results"));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 12);
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
        // mlx_lm.server reports usage when asked (stream_options.include_usage). It ignores
        // `ignore_eos`, but decoding is greedy from seeded weights and a fixed prompt, so the
        // run is deterministic: this model never emits end-of-sequence within 8 tokens.
        assert_eq!(r["token_count_source"], "server-usage", "{r}");
        assert_eq!(r["output_tokens"], 8, "{r}");
        let requested = r["params"]["prompt_tokens"].as_u64().unwrap();
        let served = r["prompt_tokens"].as_u64().unwrap();
        if r["target"] == "raw" {
            // /v1/completions: the server sees exactly the tokens bench built.
            assert_eq!(served, requested, "{r}");
        } else {
            assert!(served > requested, "the chat template adds tokens: {r}");
        }
        let m = &r["metrics"];
        assert!(m["ttft_s"].as_f64().unwrap() > 0.0);
        assert!(m["decode_tps"].as_f64().unwrap() > 0.0);
        assert_eq!(r["itl_s"].as_array().unwrap().len(), 7);
        // mlx_lm.server sends one token per chunk and ends on the length limit.
        assert_eq!(r["server"]["content_chunks"], 8, "{r}");
        assert_eq!(r["server"]["finish_reason"], "length", "{r}");
        assert_eq!(r["metrics"]["chunks_per_token"], 1.0, "{r}");
    }
}

#[test]
fn the_mlx_lm_engine_starts_and_stops_its_own_server() {
    let Ok(python) = std::env::var("BENCH_MLX_LM_PYTHON") else {
        eprintln!("skipped: set BENCH_MLX_LM_PYTHON to a Python with mlx-lm (.ci/run does)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("managed.toml");
    std::fs::write(
        &suite,
        format!(
            r#"[suite]
name = "mlx-lm-managed"
repetitions = 2
warmup = 1

[power]
sampler = "none"

[[target]]
name = "mlx"
engine = "mlx-lm"
model = "synth:tiny"
python = "{python}"
timeout_s = 60
mlx_lm_benchmark = true

[[workload]]
name = "w"
kind = "llm"
prompt_tokens = 32
gen_tokens = 8

[[workload]]
name = "busy"
kind = "llm"
prompt_tokens = 16
gen_tokens = 4
concurrency = 2
requests = 4
warmup_requests = 1
"#
        ),
    )
    .unwrap();
    let out = run_suite(tmp.path(), &suite, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let dir = only_run_dir(&tmp.path().join("results"));
    let manifest = read_json(&dir.join("manifest.json"));
    let engine = &manifest["engines"]["mlx"];
    assert_eq!(engine["engine"], "mlx-lm", "{engine}");
    let versions = engine["versions"].to_string();
    assert!(
        versions.contains("0.32") || versions.contains("mlx-lm"),
        "{versions}"
    );
    let url = engine["device"].as_str().unwrap().to_string();
    let records = std::fs::read_to_string(dir.join("measurements.jsonl")).unwrap();
    assert_eq!(
        records.lines().count(),
        2 + 2 * 4,
        "2 single requests, 2 patterns of 4"
    );
    assert!(
        records.lines().all(|l| l.contains("\"status\":\"ok\"")),
        "{records}"
    );
    // Two requests at once through the real server, every one stored with its place.
    let loads = read_jsonl(&dir.join("loads.jsonl"));
    assert_eq!(loads.len(), 2);
    for l in &loads {
        assert_eq!(
            (l["sent"].as_u64(), l["ok"].as_u64()),
            (Some(4), Some(4)),
            "{l}"
        );
        assert_eq!(l["warmup_sent"], 1);
    }
    // mlx_lm.benchmark ran on the single-request case (two trials: the repetitions), and
    // the end-of-run table compares it with bench.
    let tools = read_jsonl(&dir.join("tool_runs.jsonl"));
    assert_eq!(tools.len(), 1, "{tools:?}");
    assert_eq!(tools[0]["case"], "mlx/w/p32-g8-c1");
    assert_eq!(tools[0]["status"], "ok", "{}", tools[0]);
    let trials = tools[0]["result"]["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 2);
    assert!(trials
        .iter()
        .all(|t| t["prompt_tps"].as_f64().unwrap() > 0.0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("mlx_lm.benchmark"), "{stdout}");
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(summary.contains(",tool_generation_tps,"), "{summary}");
    // No orphan: the server bench started is gone once bench has exited.
    let port: u16 = url
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "mlx_lm.server still listens on {port} after bench exited"
    );
}

#[test]
fn a_python_without_mlx_lm_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("nopython.toml");
    std::fs::write(
        &suite,
        "[suite]\nname = \"x\"\nrepetitions = 1\nwarmup = 0\n[power]\nsampler = \"none\"\n[[target]]\nname = \"mlx\"\nengine = \"mlx-lm\"\nmodel = \"synth:tiny\"\npython = \"/nonexistent/python\"\n[[workload]]\nname = \"w\"\nkind = \"llm\"\nprompt_tokens = 8\ngen_tokens = 2\n",
    )
    .unwrap();
    let out = run_suite(tmp.path(), &suite, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot run `/nonexistent/python`"),
        "{stderr}"
    );
}

/// A prompt file (its own `max_tokens` per line) and lengths drawn from a distribution,
/// through the real server with `api = "completions"`: the server counts exactly the drawn
/// lengths bench built.
#[test]
fn a_prompt_file_and_drawn_lengths_run_against_the_real_mlx_lm_server() {
    let Ok(python) = std::env::var("BENCH_MLX_LM_PYTHON") else {
        eprintln!("skipped: set BENCH_MLX_LM_PYTHON to a Python with mlx-lm (.ci/run does)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("prompts.jsonl"),
        "{\"prompt\": \"The river runs to the sea\", \"max_tokens\": 3}\n{\"prompt\": \"Mountains hold the snow all year\"}\n",
    )
    .unwrap();
    let suite = tmp.path().join("prompts.toml");
    std::fs::write(
        &suite,
        format!(
            r#"[suite]
name = "mlx-lm-prompts"
repetitions = 3
warmup = 0

[power]
sampler = "none"

[[target]]
name = "mlx"
engine = "mlx-lm"
api = "completions"
model = "synth:tiny"
python = "{python}"
timeout_s = 60

[[workload]]
name = "file"
kind = "llm"
prompts = "prompts.jsonl"
gen_tokens = 5

[[workload]]
name = "drawn"
kind = "llm"
prompt_tokens = {{ dist = "uniform", min = 8, max = 48 }}
gen_tokens = 4
seed = 5
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
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 6);
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["token_count_source"], "server-usage", "{r}");
        if r["workload"] == "file" {
            let asked = r["prompt"]["max_tokens"].as_u64().unwrap();
            assert_eq!(asked, if r["prompt"]["line"] == 1 { 3 } else { 5 }, "{r}");
            assert_eq!(r["output_tokens"], asked, "{r}");
        } else {
            assert_eq!(
                r["prompt_tokens"], r["prompt"]["tokens"],
                "exact lengths: {r}"
            );
        }
    }
    let manifest = read_json(&dir.join("manifest.json"));
    assert_eq!(manifest["prompt_sets"]["file"]["file"]["prompts"], 2);
    assert!(
        manifest["prompt_sets"]["file"]["prompt_tokens"]["mlx"]["max"]
            .as_u64()
            .unwrap()
            > 0
    );
}

/// Conversations against the real server (chat endpoint, its chat template): every turn is
/// answered, the prompt the server counts grows turn by turn with the history bench resends,
/// and what the server says of its cache is kept: the resent history comes from its cache.
#[test]
fn conversations_run_against_the_real_mlx_lm_server() {
    let Ok(python) = std::env::var("BENCH_MLX_LM_PYTHON") else {
        eprintln!("skipped: set BENCH_MLX_LM_PYTHON to a Python with mlx-lm (.ci/run does)");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let suite = tmp.path().join("chat.toml");
    std::fs::write(
        &suite,
        format!(
            r#"[suite]
name = "mlx-lm-chat"
repetitions = 2
warmup = 0

[power]
sampler = "none"

[[target]]
name = "mlx"
engine = "mlx-lm"
model = "synth:tiny"
python = "{python}"
timeout_s = 60

[[workload]]
name = "chat"
kind = "llm"
turns = 3
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
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 6);
    for conversation in records.chunks(3) {
        let mut before = 0;
        for (turn, r) in conversation.iter().enumerate() {
            assert_eq!(r["status"], "ok", "{r}");
            assert_eq!(r["conversation"]["turn"], turn as u64 + 1, "{r}");
            assert_eq!(r["token_count_source"], "server-usage", "{r}");
            let prompt = r["prompt_tokens"].as_u64().unwrap();
            // The history: the earlier messages of 16 tokens and answers of 4, templated.
            assert!(prompt >= before + 16 + 4 * (turn as u64 > 0) as u64, "{r}");
            before = prompt;
            if let Some(cached) = r["metrics"]["cached_prompt_tokens"].as_f64() {
                assert!(cached <= prompt as f64, "{r}");
                // The history resent is what the server generated, so its prompt cache serves
                // it (mlx-lm reports the reuse).
                if turn > 0 {
                    assert!(cached > 0.0, "the history is served from the cache: {r}");
                }
            }
        }
    }
    let csv = std::fs::read_to_string(dir.join("conversations.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
}
