//! Conversations (`turns`), end to end through `bench run` against a scripted server: each
//! turn resends the earlier messages and the answers the server really returned, then the
//! next prompt of the file; every turn is a record of its own with the server's prompt and
//! cached-token counts; the per-turn summary reaches the terminal, `conversations.csv` and the
//! report. A conversation cut short by a failed turn is run again whole by `--resume`, and
//! only the complete one is summarized. The candle engine holds a conversation too, prefilling
//! the whole history each turn.

use std::path::Path;

mod common;
use common::chat_server::{chat_server, chat_server_failing, Usage};
use common::{bench, only_run_dir, read_jsonl, run_suite};

const PROMPTS: &str = r#"{"prompt": "P0"}
{"prompt": "P1"}
{"prompt": "P2"}
{"prompt": "P3"}
{"prompt": "P4"}
{"prompt": "P5"}
"#;

fn suite(dir: &Path, target: &str, workload: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("prompts.jsonl"), PROMPTS).unwrap();
    let path = dir.join("suite.toml");
    std::fs::write(
        &path,
        format!(
            r#"[suite]
name = "chat"
repetitions = 2
warmup = 0

[power]
sampler = "none"

[[target]]
name = "server"
model = "synth:tiny"
{target}

[[workload]]
name = "chat"
kind = "llm"
turns = 3
gen_tokens = 2
{workload}
"#
        ),
    )
    .unwrap();
    path
}

fn server(url: &str, api: &str) -> String {
    format!("engine = \"openai\"\nserved_model = \"tiny\"\nurl = \"{url}\"\ntimeout_s = 10\napi = \"{api}\"")
}

#[test]
fn each_turn_resends_the_history_the_server_answered_and_is_summarized_per_turn() {
    let (url, seen) = chat_server(Usage::CachedPerMessage);
    let tmp = tempfile::tempdir().unwrap();
    let suite = suite(
        tmp.path(),
        &server(&url, "chat"),
        "prompts = \"prompts.jsonl\"",
    );
    let out = run_suite(tmp.path(), &suite, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = only_run_dir(&tmp.path().join("results"));

    // Two conversations of three turns, the file's prompts in order.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 6);
    for (i, s) in seen.iter().enumerate() {
        let turn = i % 3;
        let messages = s.messages.as_array().unwrap();
        assert_eq!(messages.len(), 2 * turn + 1, "request {i}");
        assert_eq!(s.prompt, format!("P{i}"));
        for back in 0..turn {
            let earlier = &seen[i - turn + back];
            assert_eq!(messages[2 * back]["role"], "user");
            assert_eq!(messages[2 * back]["content"], earlier.prompt.as_str());
            assert_eq!(messages[2 * back + 1]["role"], "assistant");
            assert_eq!(
                messages[2 * back + 1]["content"],
                earlier.answer.as_str(),
                "request {i} resends the answer of request {}",
                i - turn + back
            );
        }
    }

    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 6);
    for (i, r) in records.iter().enumerate() {
        let turn = (i % 3) as u64;
        assert_eq!(r["case"], "server/chat/pfile-g2-t3-c1");
        assert_eq!(r["status"], "ok");
        assert_eq!(r["repetition"], (i / 3) as u64);
        assert_eq!(r["conversation"]["turn"], turn + 1);
        assert_eq!(r["params"]["turns"], 3);
        // The server's counts: the whole conversation, and what it took from its cache.
        assert_eq!(r["prompt_tokens"], 1000 + 200 * turn);
        assert_eq!(r["metrics"]["cached_prompt_tokens"], (200 * turn) as f64);
        assert_eq!(r["prompt"]["item"], i as u64);
    }
    let first = &records[0]["conversation"]["started_at"];
    assert!(records[..3]
        .iter()
        .all(|r| &r["conversation"]["started_at"] == first));
    assert_ne!(&records[3]["conversation"]["started_at"], first);

    let csv = std::fs::read_to_string(dir.join("conversations.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[0].starts_with("case,target,workload,turn,conversations,ttft_p50_s"));
    assert!(
        rows[3].starts_with("server/chat/pfile-g2-t3-c1,server,chat,3,2,"),
        "{csv}"
    );
    assert!(rows[3].ends_with(",1400,400"), "{csv}");
    assert!(
        stdout.contains(
            "conversation: server/chat/pfile-g2-t3-c1: 3 turns, 2 complete conversations"
        ),
        "{stdout}"
    );

    let report = bench()
        .args(["report", "--out"])
        .arg(tmp.path().join("report"))
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let html = std::fs::read_dir(tmp.path().join("report"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect::<String>();
    assert!(
        html.contains("Conversations"),
        "the report has the per-turn table"
    );
    assert!(
        html.contains("Time to first token by conversation turn"),
        "and its chart"
    );
}

#[test]
fn completions_get_the_conversation_as_one_text_of_built_messages() {
    let (url, seen) = chat_server(Usage::None);
    let tmp = tempfile::tempdir().unwrap();
    let suite = suite(
        tmp.path(),
        &server(&url, "completions"),
        "prompt_tokens = 8",
    );
    let out = run_suite(tmp.path(), &suite, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 6);
    for conversation in seen.chunks(3) {
        let [one, two, three] = conversation else {
            panic!()
        };
        let history = format!("{}{}\n\n", one.prompt, one.answer);
        assert!(two.prompt.starts_with(&history), "{:?}", two.prompt);
        let new = &two.prompt[history.len()..];
        assert!(
            !new.is_empty() && new != one.prompt,
            "each turn's message is its own"
        );
        let history = format!("{}{}\n\n", two.prompt, two.answer);
        assert!(three.prompt.starts_with(&history), "{:?}", three.prompt);
    }
    let dir = only_run_dir(&tmp.path().join("results"));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    let tokens: Vec<u64> = records
        .iter()
        .map(|r| r["prompt_tokens"].as_u64().unwrap())
        .collect();
    assert!(
        tokens[0] < tokens[1] && tokens[1] < tokens[2],
        "the prompt grows: {tokens:?}"
    );
}

#[test]
fn a_conversation_cut_short_is_run_again_whole_and_only_the_complete_one_counts() {
    // The second turn of the first conversation fails.
    let (url, seen) = chat_server_failing(Usage::CachedPerMessage, &[1]);
    let tmp = tempfile::tempdir().unwrap();
    let suite = suite(
        tmp.path(),
        &server(&url, "chat"),
        "prompts = \"prompts.jsonl\"",
    );
    let out = run_suite(tmp.path(), &suite, &[]);
    assert!(
        !out.status.success(),
        "a failed turn leaves the run incomplete"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("turn 2"), "{stderr}");
    let dir = only_run_dir(&tmp.path().join("results"));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    // Turn 1 ok, turn 2 failed (no turn 3), then the second conversation whole.
    assert_eq!(records.len(), 5);
    assert_eq!(records[1]["status"], "error");

    let out = bench()
        .args(["run", "--quiet", "--model-cache"])
        .arg(tmp.path().join("models"))
        .arg("--resume")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(
        records.len(),
        8,
        "the first conversation again, all three turns"
    );
    let rerun = &records[5..];
    assert!(rerun
        .iter()
        .all(|r| r["repetition"] == 0 && r["status"] == "ok"));
    // The rerun sends the first conversation's prompts again, its history from its own answers.
    let seen = seen.lock().unwrap();
    assert_eq!(seen[5].prompt, "P0");
    assert_eq!(seen[6].messages[1]["content"], seen[5].answer.as_str());

    let csv = std::fs::read_to_string(dir.join("conversations.csv")).unwrap();
    let turn_one: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(
        turn_one[4], "2",
        "two complete conversations; the cut one is left out: {csv}"
    );
}

#[test]
fn the_candle_engine_holds_a_conversation_prefilling_the_history_each_turn() {
    let tmp = tempfile::tempdir().unwrap();
    let suite = suite(
        tmp.path(),
        "engine = \"candle\"\ndevice = \"cpu\"",
        "prompt_tokens = 8",
    );
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
        let tokens: Vec<u64> = conversation
            .iter()
            .map(|r| r["prompt_tokens"].as_u64().unwrap())
            .collect();
        // Each turn: the history (earlier messages of 8 tokens and 2-token answers) and 8 new.
        assert!(
            tokens[0] == 8 && tokens[1] > 8 + 2 && tokens[2] > tokens[1],
            "{tokens:?}"
        );
    }
}
