//! Token counts and token times through `bench run` against scripted OpenAI-compatible servers
//! on 127.0.0.1, one per way a real server streams: no usage with a length finish
//! (llama-cpp-python), usage that disagrees with the other counts, chunks that carry a token
//! but no text before the first visible text, chunks of several tokens, and a server that
//! leaves bench only the tokenizer's estimate. Counts are checked exactly, times against the
//! script.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;
use common::{numbers, only_run_dir, read_jsonl, run_suite, HttpRequest};

/// What the server sends for a request of `max_tokens`: `data:` payloads, each due that many
/// milliseconds after the request arrived.
type Script = Arc<dyn Fn(u64) -> Vec<(u64, String)> + Send + Sync>;

/// Tokens asked for by every suite here.
const GEN: u64 = 6;
/// Milliseconds to the first token and between tokens, in the scripts.
const TTFT_MS: u64 = 100;
const GAP_MS: u64 = 40;
/// How late the client may see a scripted time (a busy machine delays threads): below one
/// gap, so that a time taken at the wrong chunk is caught.
const SLACK_S: f64 = 0.035;

fn serve(script: Script) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let script = script.clone();
            std::thread::spawn(move || {
                let _ = answer(stream, &script);
            });
        }
    });
    url
}

fn answer(mut stream: TcpStream, script: &Script) -> std::io::Result<()> {
    let http = HttpRequest::read(&stream)?;
    let start = Instant::now();
    if !http.path.ends_with("/completions") {
        // `GET /v1/models` (bench's check that a server is there) and the `/tokenize` probe.
        return stream.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    }
    let max_tokens = http.json()["max_tokens"].as_u64().unwrap_or(1);
    stream.write_all(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
    )?;
    for (due_ms, data) in script(max_tokens) {
        if let Some(wait) = Duration::from_millis(due_ms).checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        write!(stream, "data: {data}\n\n")?;
        stream.flush()?;
    }
    stream.write_all(b"data: [DONE]\n\n")
}

/// `/v1/completions` chunks as llama-cpp-python 0.3.36 sends them.
fn text(t: &str) -> String {
    format!(r#"{{"choices":[{{"text":"{t}","index":0,"logprobs":null,"finish_reason":null}}]}}"#)
}
fn text_finish(reason: &str) -> String {
    format!(r#"{{"choices":[{{"text":"","index":0,"logprobs":null,"finish_reason":"{reason}"}}]}}"#)
}
/// `/v1/chat/completions` chunks as llama-cpp-python 0.3.36 sends them.
fn role() -> String {
    r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"logprobs":null,"finish_reason":null}]}"#
        .into()
}
fn content(t: &str) -> String {
    format!(
        r#"{{"choices":[{{"index":0,"delta":{{"content":"{t}"}},"logprobs":null,"finish_reason":null}}]}}"#
    )
}
fn delta_finish(reason: &str) -> String {
    format!(
        r#"{{"choices":[{{"index":0,"delta":{{}},"logprobs":null,"finish_reason":"{reason}"}}]}}"#
    )
}
fn usage(completion_tokens: u64) -> String {
    format!(
        r#"{{"choices":[],"usage":{{"prompt_tokens":8,"completion_tokens":{completion_tokens}}}}}"#
    )
}
/// Due time of the `i`-th token chunk.
fn due(i: u64) -> u64 {
    TTFT_MS + GAP_MS * i
}

fn suite(dir: &Path, url: &str, api: &str) -> PathBuf {
    let text = format!(
        r#"[suite]
name = "counts"
repetitions = 2
warmup = 1

[power]
sampler = "none"

[[target]]
name = "server"
engine = "openai"
api = "{api}"
model = "synth:tiny"
served_model = "tiny"
url = "{url}"
timeout_s = 5

[[workload]]
name = "w"
kind = "llm"
prompt_tokens = 8
gen_tokens = {GEN}
"#
    );
    let path = dir.join("counts.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Run the suite against `script`; the stored records (all `ok`), bench's stderr and stdout,
/// and the run folder.
fn run(tmp: &Path, api: &str, script: Script) -> (Vec<Value>, String, String, PathBuf) {
    let url = serve(script);
    let out = run_suite(tmp, &suite(tmp, &url, api), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let dir = only_run_dir(&tmp.join("results"));
    let records = read_jsonl(&dir.join("measurements.jsonl"));
    assert_eq!(records.len(), 2, "{records:?}");
    for r in &records {
        assert_eq!(r["status"], "ok", "{r}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (records, stderr, stdout, dir)
}

/// `value` lies within the slack after the scripted `ms`.
fn at(what: &str, value: &Value, ms: u64) -> Result<(), String> {
    let (v, s) = (value.as_f64().unwrap_or(-1.0), ms as f64 / 1e3);
    if v >= s && v < s + SLACK_S {
        Ok(())
    } else {
        Err(format!("{what} {v} s for {ms} ms"))
    }
}

/// The record's token arrivals: `ttft_s`, then each gap of `itl_s` added on.
fn arrivals(r: &Value) -> Vec<f64> {
    let mut t = r["metrics"]["ttft_s"].as_f64().unwrap();
    let mut all = vec![t];
    for gap in numbers(&r["itl_s"]) {
        t += gap;
        all.push(t);
    }
    all
}

/// Every arrival of `r` is at its scripted time (`due_ms`, in order), within the slack; there
/// are exactly as many arrivals as scripted chunks.
fn arrivals_are(r: &Value, due_ms: &[u64]) -> Result<(), String> {
    let seen = arrivals(r);
    assert_eq!(seen.len(), due_ms.len(), "one arrival per chunk: {r}");
    for (t, ms) in seen.iter().zip(due_ms) {
        at("an arrival at", &Value::from(*t), *ms)?;
    }
    Ok(())
}

/// Run the suite until the times of an attempt match the script: counts are checked (by
/// `check`'s asserts) on every attempt, but a machine busy with other work can hold a thread
/// back for longer than the slack, which is not bench's error, so the best of three attempts
/// counts for the times. Returns the last attempt's stderr, stdout and run folder.
fn run_checked(
    api: &str,
    script: Script,
    check: impl Fn(&Value) -> Result<(), String>,
) -> (String, String, PathBuf, tempfile::TempDir) {
    let mut late = Vec::new();
    for _ in 0..3 {
        let tmp = tempfile::tempdir().unwrap();
        let (records, stderr, stdout, dir) = run(tmp.path(), api, script.clone());
        match records.iter().try_for_each(&check) {
            Ok(()) => return (stderr, stdout, dir, tmp),
            Err(e) => late.push(e),
        }
    }
    panic!("times off the script in every attempt: {late:?}");
}

/// `decode_tps` is (output tokens − 1) over the first to the last arrival.
fn decode_is_the_count_over_the_arrivals(r: &Value) {
    let seen = arrivals(r);
    let n = r["output_tokens"].as_f64().unwrap();
    let expected = (n - 1.0) / (seen[seen.len() - 1] - seen[0]);
    let decode = r["metrics"]["decode_tps"].as_f64().unwrap();
    assert!(
        (decode - expected).abs() < 1e-6 * expected,
        "{decode} vs {expected}: {r}"
    );
}

#[test]
fn no_usage_and_a_length_finish_count_max_tokens_one_arrival_per_chunk() {
    // The issue's server: each token's text tokenizes to several tokens, no usage is sent, and
    // the stream ends on `length`. The count is max_tokens; no gap is invented.
    let script: Script = Arc::new(|n| {
        let mut s: Vec<(u64, String)> = (0..n).map(|i| (due(i), text("<|fill_77|>"))).collect();
        s.push((due(n - 1), text_finish("length")));
        s
    });
    let (stderr, ..) = run_checked("completions", script, |r| {
        assert_eq!(r["token_count_source"], "finish-reason", "{r}");
        assert_eq!(r["output_tokens"], GEN, "{r}");
        assert!(r.get("output_tokens_estimated").is_none(), "{r}");
        assert_eq!(r["server"]["content_chunks"], GEN, "{r}");
        assert_eq!(r["server"]["finish_reason"], "length", "{r}");
        let m = &r["metrics"];
        assert_eq!(m["chunks_per_token"], 1.0, "{r}");
        assert_eq!(m["ttft_s"], m["ttfvt_s"], "{r}");
        decode_is_the_count_over_the_arrivals(r);
        // One arrival per chunk, each at its scripted time: no zero gap.
        arrivals_are(r, &(0..GEN).map(due).collect::<Vec<_>>())
    });
    assert!(!stderr.contains("disagree"), "{stderr}");
    assert!(!stderr.contains("estimate"), "{stderr}");
}

#[test]
fn usage_that_disagrees_is_used_kept_beside_the_other_counts_and_warned_once() {
    // Six chunks and a length finish at max_tokens = 6, but usage says 5.
    let script: Script = Arc::new(|n| {
        let mut s: Vec<(u64, String)> = vec![(0, role())];
        s.extend((0..n).map(|i| (due(i), content(" tok"))));
        s.push((due(n - 1), delta_finish("length")));
        s.push((due(n - 1), usage(n - 1)));
        s
    });
    let (stderr, ..) = run_checked("chat", script, |r| {
        assert_eq!(r["token_count_source"], "server-usage", "{r}");
        assert_eq!(r["output_tokens"], GEN - 1, "{r}");
        let server = &r["server"];
        assert_eq!(server["usage_completion_tokens"], GEN - 1, "{r}");
        assert_eq!(server["content_chunks"], GEN, "{r}");
        assert_eq!(
            server["count_mismatch"],
            serde_json::json!([
                "usage says 5 tokens, finish_reason \"length\" says max_tokens = 6",
                "6 chunks carried tokens, more than the 5 counted by server-usage",
            ]),
            "{r}"
        );
        decode_is_the_count_over_the_arrivals(r);
        // The times are the chunks' own: one arrival each, whatever the count.
        arrivals_are(r, &(0..GEN).map(due).collect::<Vec<_>>())
    });
    // Three requests (the warmup too) disagree; the run says so once, with the figures.
    assert_eq!(
        stderr.matches("token counts disagree").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("usage says 5 tokens"), "{stderr}");
}

#[test]
fn chunks_with_a_token_but_no_text_start_ttft_and_the_visible_text_is_kept_beside_it() {
    // llama-cpp-python's chat stream: the role chunk, then two tokens whose text is empty
    // (control tokens, or parts of a character sent apart), then visible text.
    let script: Script = Arc::new(|n| {
        let mut s: Vec<(u64, String)> = vec![(TTFT_MS / 2, role())];
        s.extend((0..n).map(|i| (due(i), content(if i < 2 { "" } else { "x" }))));
        s.push((due(n - 1), delta_finish("length")));
        s
    });
    run_checked("chat", script, |r| {
        assert_eq!(r["token_count_source"], "finish-reason", "{r}");
        assert_eq!(r["output_tokens"], GEN, "{r}");
        assert_eq!(r["server"]["content_chunks"], GEN, "{r}");
        assert_eq!(r["server"]["empty_content_chunks"], 2, "{r}");
        // The role chunk is no token; the first empty one is, and the text comes two later.
        let m = &r["metrics"];
        at("ttft", &m["ttft_s"], TTFT_MS)?;
        at("ttfvt", &m["ttfvt_s"], due(2))?;
        arrivals_are(r, &(0..GEN).map(due).collect::<Vec<_>>())
    });
}

#[test]
fn chunks_of_several_tokens_are_one_arrival_each_and_rates_use_the_count() {
    // Usage 6 in three chunks of two tokens, two gaps apart: two gaps, not five of which three
    // are zero; decode = (6 − 1) / (t_last − t_first): the count over the span, not the
    // arrivals.
    let script: Script = Arc::new(|n| {
        let chunks = n / 2;
        let mut s: Vec<(u64, String)> = vec![(0, role())];
        s.extend((0..chunks).map(|i| (due(2 * i), content("ab"))));
        s.push((due(2 * (chunks - 1)), delta_finish("length")));
        s.push((due(2 * (chunks - 1)), usage(n)));
        s
    });
    let (stderr, ..) = run_checked("chat", script, |r| {
        assert_eq!(r["token_count_source"], "server-usage", "{r}");
        assert_eq!(r["output_tokens"], GEN, "{r}");
        assert_eq!(r["server"]["content_chunks"], GEN / 2, "{r}");
        let m = &r["metrics"];
        assert_eq!(m["chunks_per_token"], 0.5, "{r}");
        decode_is_the_count_over_the_arrivals(r);
        // tpot spreads the time after the first token over the tokens after it.
        let (e2e, ttft) = (m["e2e_s"].as_f64().unwrap(), m["ttft_s"].as_f64().unwrap());
        let tpot = m["tpot_s"].as_f64().unwrap();
        assert!((tpot - (e2e - ttft) / (GEN - 1) as f64).abs() < 1e-9, "{r}");
        arrivals_are(r, &[due(0), due(2), due(4)])
    });
    assert!(!stderr.contains("disagree"), "{stderr}");
}

#[test]
fn the_tokenizers_count_is_the_last_resort_and_flagged_as_an_estimate() {
    // No usage, and the server stopped by itself: nothing but the text is left to count.
    let script: Script = Arc::new(|_| {
        let mut s: Vec<(u64, String)> = (0..3).map(|i| (due(i), text(" the"))).collect();
        s.push((due(2), text_finish("stop")));
        s
    });
    let (stderr, stdout, dir, _tmp) = run_checked("completions", script, |r| {
        assert_eq!(r["token_count_source"], "tokenizer", "{r}");
        assert_eq!(r["output_tokens_estimated"], true, "{r}");
        assert_eq!(
            r["output_tokens"], 3,
            "\" the\" is one token of the tiny model: {r}"
        );
        Ok(())
    });
    assert_eq!(
        stderr.matches("the tokenizer's estimate").count(),
        1,
        "{stderr}"
    );
    assert!(
        stdout.contains("estimated token counts server/w"),
        "{stdout}"
    );
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    let mut csv = csv::Reader::from_reader(summary.as_bytes());
    let column = csv
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "estimated_token_counts")
        .expect("an estimated_token_counts column");
    assert!(
        csv.records().all(|r| &r.unwrap()[column] == "2"),
        "{summary}"
    );
}

/// A reasoning model's stream in each format servers use: the first token of any kind is
/// `ttft_s`, the first answer token `ttfat_s`, and the tokens split into reasoning and answer.
/// Scripted: 3 reasoning tokens, then `GEN - 3` answer tokens, one per chunk, then usage.
#[test]
fn reasoning_streams_time_the_first_token_and_the_first_answer_apart() {
    const THINK: u64 = 3;
    /// A format: its name, the `i`-th reasoning chunk, whether its usage has the reasoning share.
    type Format = (&'static str, fn(u64) -> String, bool);
    let formats: [Format; 3] = [
        // llama.cpp's server and SGLang.
        (
            "reasoning_content",
            |i| {
                format!(
                    r#"{{"choices":[{{"index":0,"delta":{{"reasoning_content":"step{i} "}},"finish_reason":null}}]}}"#
                )
            },
            false,
        ),
        // vLLM 0.23 and later, with the reasoning share in its usage.
        (
            "reasoning",
            |i| {
                format!(
                    r#"{{"choices":[{{"index":0,"delta":{{"reasoning":"step{i} ","content":null}},"finish_reason":null}}]}}"#
                )
            },
            true,
        ),
        // Servers that leave the thinking in the content (mlx-lm): the tags are tokens too.
        (
            "think tags",
            |i| match i {
                0 => content("<think>"),
                i if i + 1 == THINK => content("</think>"),
                i => content(&format!("step{i} ")),
            },
            false,
        ),
    ];
    for (name, reasoning_chunk, usage_detail) in formats {
        let script: Script = Arc::new(move |max_tokens| {
            let mut chunks: Vec<(u64, String)> = (0..max_tokens)
                .map(|i| {
                    let data = if i < THINK {
                        reasoning_chunk(i)
                    } else {
                        content(&format!("w{i}"))
                    };
                    (due(i), data)
                })
                .collect();
            chunks.push((due(max_tokens - 1), delta_finish("length")));
            let usage = if usage_detail {
                format!(
                    r#"{{"choices":[],"usage":{{"prompt_tokens":8,"completion_tokens":{max_tokens},"completion_tokens_details":{{"reasoning_tokens":{THINK}}}}}}}"#
                )
            } else {
                usage(max_tokens)
            };
            chunks.push((due(max_tokens - 1), usage));
            chunks
        });
        let (_, _, dir, _tmp) = run_checked("chat", script, |r| {
            let m = &r["metrics"];
            assert_eq!(r["output_tokens"], GEN, "{name}: {r}");
            // Every token counts for the first token and the gaps, reasoning or not.
            at(&format!("{name}: ttft_s"), &m["ttft_s"], due(0))?;
            at(&format!("{name}: ttfat_s"), &m["ttfat_s"], due(THINK))?;
            if name == "think tags" {
                // The opening tag has no text of its own: visible text starts a token later.
                at(&format!("{name}: ttfvt_s"), &m["ttfvt_s"], due(1))?;
            } else {
                at(&format!("{name}: ttfvt_s"), &m["ttfvt_s"], due(0))?;
            }
            assert_eq!(numbers(&r["itl_s"]).len() as u64, GEN - 1, "{name}: {r}");
            // The tags are reasoning tokens too.
            let expected = THINK;
            assert_eq!(m["reasoning_tokens"], expected as f64, "{name}: {r}");
            assert_eq!(m["answer_tokens"], (GEN - expected) as f64, "{name}: {r}");
            Ok(())
        });
        let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
        assert!(summary.contains("ttfat_s"), "{name}: {summary}");
    }
}
