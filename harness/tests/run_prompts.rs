//! Prompts a workload brings, end to end through `bench run` against a scripted server: a
//! JSONL file in order (and its warmups from the end), a ShareGPT file, a file drawn from
//! at random with a seed under a load pattern, lengths drawn from a distribution, and what
//! the manifest records of each; a malformed or missing file is a located error before
//! anything runs.

use std::path::Path;

mod common;
use common::chat_server::{chat_server, Usage};
use common::{bench, only_run_dir, read_json, read_jsonl, run_suite};

const JSONL: &str = r#"{"prompt": "First question about rivers", "max_tokens": 2}
{"prompt": "Second question about lakes"}

{"prompt": "Third question about seas", "max_tokens": 3, "id": "x"}
{"prompt": "Fourth question about oceans"}
"#;

fn suite(dir: &Path, url: &str, workload: &str) -> std::path::PathBuf {
    let path = dir.join("suite.toml");
    std::fs::write(
        &path,
        format!(
            r#"[suite]
name = "prompts"
repetitions = 3
warmup = 1

[power]
sampler = "none"

[[target]]
name = "server"
engine = "openai"
model = "synth:tiny"
served_model = "tiny"
url = "{url}"
timeout_s = 10

[[workload]]
name = "w"
kind = "llm"
{workload}
"#
        ),
    )
    .unwrap();
    path
}

fn run_ok(tmp: &Path, suite: &Path) -> std::path::PathBuf {
    let out = run_suite(tmp, suite, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    only_run_dir(&tmp.join("results"))
}

#[test]
fn a_jsonl_file_is_sent_in_order_with_its_max_tokens_and_recorded_in_the_manifest() {
    let (url, seen) = chat_server(Usage::None);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("data")).unwrap();
    std::fs::write(tmp.path().join("data/prompts.jsonl"), JSONL).unwrap();
    let suite = suite(
        tmp.path(),
        &url,
        "prompts = \"data/prompts.jsonl\"\ngen_tokens = 4",
    );
    let dir = run_ok(tmp.path(), &suite);

    let seen = seen.lock().unwrap();
    let sent: Vec<(&str, u64)> = seen
        .iter()
        .map(|s| (s.prompt.as_str(), s.max_tokens))
        .collect();
    assert_eq!(
        sent,
        [
            ("Fourth question about oceans", 4),
            ("First question about rivers", 2),
            ("Second question about lakes", 4),
            ("Third question about seas", 3),
        ],
        "the warmup takes the file's last prompt, the repetitions its first ones in order"
    );

    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 3);
    for (r, (line, max_tokens)) in records.iter().zip([(1, 2), (2, 4), (4, 3)]) {
        assert_eq!(r["case"], "server/w/pfile-g4-c1");
        assert_eq!(r["prompt"]["line"], line, "{r}");
        assert_eq!(r["prompt"]["max_tokens"], max_tokens);
        assert_eq!(r["output_tokens"], max_tokens);
        assert!(r["prompt_tokens"].as_u64().unwrap() > 0);
    }

    let manifest = read_json(&dir.join("manifest.json"));
    let set = &manifest["prompt_sets"]["w"];
    assert_eq!(set["source"]["source"], "file");
    assert_eq!(set["source"]["path"], "data/prompts.jsonl");
    assert_eq!(set["source"]["order"], "in-order");
    assert_eq!(set["file"]["format"], "jsonl");
    assert_eq!(set["file"]["prompts"], 4);
    assert_eq!(set["file"]["sha256"].as_str().unwrap().len(), 64);
    assert!(set["file"]["path"]
        .as_str()
        .unwrap()
        .ends_with("data/prompts.jsonl"));
    assert_eq!(set["file"]["chars"]["min"], 25);
    let tokens = &set["prompt_tokens"]["server"];
    assert!(tokens["counted_by"]
        .as_str()
        .unwrap()
        .contains("synth:tiny"));
    for key in ["min", "median", "mean", "p90", "max"] {
        assert!(tokens[key].as_f64().unwrap() > 0.0, "{key}: {tokens}");
    }
}

#[test]
fn a_sharegpt_file_sends_each_entrys_first_user_turn() {
    let (url, seen) = chat_server(Usage::None);
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("share.json"),
        r#"[
 {"id": "1", "conversations": [{"from": "human", "value": "Hello from ShareGPT"}, {"from": "gpt", "value": "Hi"}]},
 {"id": "2", "conversations": [{"from": "gpt", "value": "no user turn"}]},
 {"id": "3", "conversations": [{"from": "human", "value": "Another one"}]}
]"#,
    )
    .unwrap();
    let suite = suite(
        tmp.path(),
        &url,
        "prompts = \"share.json\"\ngen_tokens = 2\nrepetitions = 2\nwarmup = 0",
    );
    let dir = run_ok(tmp.path(), &suite);
    let prompts: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.prompt.clone())
        .collect();
    assert_eq!(prompts, ["Hello from ShareGPT", "Another one"]);
    let manifest = read_json(&dir.join("manifest.json"));
    assert_eq!(manifest["prompt_sets"]["w"]["file"]["format"], "sharegpt");
    assert_eq!(
        manifest["prompt_sets"]["w"]["file"]["skipped_lines"],
        serde_json::json!([3])
    );
}

#[test]
fn a_file_in_random_order_under_load_repeats_with_its_seed() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (url, seen) = chat_server(Usage::None);
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("p.jsonl"), JSONL).unwrap();
        let suite = suite(
            tmp.path(),
            &url,
            "prompts = \"p.jsonl\"\nprompt_order = \"random\"\nseed = 11\ngen_tokens = 2\nconcurrency = 2\nrequests = 8\nrepetitions = 1\nwarmup = 0",
        );
        let dir = run_ok(tmp.path(), &suite);
        let mut records = read_jsonl(&dir.join("measurements.jsonl"));
        assert_eq!(records.len(), 8);
        records.sort_by_key(|r| r["load"]["index"].as_u64().unwrap());
        let items: Vec<u64> = records
            .iter()
            .map(|r| r["prompt"]["item"].as_u64().unwrap())
            .collect();
        // Each record names the prompt the server got for it.
        let lines: Vec<&str> = JSONL.lines().collect();
        let mut expected: Vec<String> = records
            .iter()
            .map(|r| {
                let line = lines[r["prompt"]["line"].as_u64().unwrap() as usize - 1];
                serde_json::from_str::<serde_json::Value>(line).unwrap()["prompt"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        let mut got: Vec<String> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.prompt.clone())
            .collect();
        expected.sort();
        got.sort();
        assert_eq!(expected, got);
        runs.push(items);
    }
    assert_eq!(runs[0], runs[1], "the same seed draws the same prompts");
    assert_ne!(runs[0], [0, 1, 2, 3, 0, 1, 2, 3], "not the file's order");
}

#[test]
fn lengths_drawn_from_a_distribution_are_built_to_exactly() {
    let (url, seen) = chat_server(Usage::None);
    let tmp = tempfile::tempdir().unwrap();
    let suite = suite(
        tmp.path(),
        &url,
        "prompt_tokens = { dist = \"lognormal\", mean = 40, sd = 20 }\nseed = 3\ngen_tokens = 2\nrepetitions = 6",
    );
    let dir = run_ok(tmp.path(), &suite);
    assert_eq!(
        seen.lock().unwrap().len(),
        7,
        "a warmup and six repetitions"
    );
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    let mut lengths = Vec::new();
    for r in &records {
        assert_eq!(r["case"], "server/w/plognormal-m40-sd20-g2-c1");
        let drawn = r["prompt"]["tokens"].as_u64().unwrap();
        assert_eq!(r["prompt_tokens"], drawn, "no usage: bench's exact length");
        lengths.push(drawn);
    }
    lengths.dedup();
    assert!(lengths.len() > 1, "lengths vary: {lengths:?}");
    let manifest = read_json(&dir.join("manifest.json"));
    let set = &manifest["prompt_sets"]["w"];
    assert_eq!(set["source"]["lengths"]["dist"], "lognormal");
    assert_eq!(set["source"]["seed"], 3);
    assert_eq!(set["drawn_tokens"]["count"], 6);
}

#[test]
fn a_line_without_a_prompt_or_a_missing_file_is_a_located_error_and_nothing_runs() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("bad.jsonl"),
        "{\"prompt\": \"fine\"}\n\n{\"question\": \"where is the prompt?\"}\n",
    )
    .unwrap();
    let suite = suite(
        tmp.path(),
        "http://127.0.0.1:9",
        "prompts = \"bad.jsonl\"\ngen_tokens = 2",
    );
    let validate = bench().arg("validate").arg(&suite).output().unwrap();
    assert_eq!(validate.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&validate.stderr);
    let at = format!("{}:3: ", tmp.path().join("bad.jsonl").display());
    assert!(stderr.contains(&at), "{stderr}");
    assert!(stderr.contains("no \"prompt\""), "{stderr}");
    assert!(
        stderr.contains("{\"prompt\": \"<text>\", \"max_tokens\": <positive integer, optional>}"),
        "what is allowed: {stderr}"
    );
    let run = run_suite(tmp.path(), &suite, &[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains(&at));
    assert!(!tmp.path().join("results").exists(), "nothing ran");

    std::fs::write(
        &suite,
        std::fs::read_to_string(&suite)
            .unwrap()
            .replace("bad.jsonl", "gone.jsonl"),
    )
    .unwrap();
    let missing = bench().arg("validate").arg(&suite).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("gone.jsonl: cannot read the prompt file"),
        "{stderr}"
    );

    // Without gen_tokens, every prompt needs its own max_tokens.
    std::fs::write(tmp.path().join("p.jsonl"), JSONL).unwrap();
    std::fs::write(
        &suite,
        std::fs::read_to_string(&suite)
            .unwrap()
            .replace("gone.jsonl", "p.jsonl")
            .replace("gen_tokens = 2", ""),
    )
    .unwrap();
    let out = bench().arg("validate").arg(&suite).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("p.jsonl:2: this prompt gives no \"max_tokens\""),
        "{stderr}"
    );
}
